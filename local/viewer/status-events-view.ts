import type { RecordedEvent } from '../eventbridge/eventbridge-emulator';
import { html, type SafeHtml } from './html';
import { layout } from './viewer-pages';

/** A status event as the viewer lists it: the bus's event and the rules it matched. */
export interface StatusEventRow {
  readonly time: string;
  readonly id: string;
  readonly detailType: string;
  readonly status: string;
  readonly messageId: string;
  readonly tenantId: string;
  readonly recipient: string;
  readonly reason: string;
  readonly matchedRules: readonly string[];
}

const field = (detail: unknown, name: string): string => {
  const value =
    typeof detail === 'object' && detail !== null ? (detail as Record<string, unknown>)[name] : '';
  if (Array.isArray(value)) return value.join(', ');
  return typeof value === 'string' ? value : '';
};

/**
 * The events of the scope's EventBridge emulator (`GET <url>/_local/events`), newest first, optionally of one
 * message. Returns the reason instead when the emulator cannot be read.
 */
export async function readStatusEvents(
  eventBridgeUrl: string,
  messageId?: string,
): Promise<{ rows: StatusEventRow[]; error?: string }> {
  let recorded: RecordedEvent[];
  try {
    const response = await fetch(`${eventBridgeUrl.replace(/\/$/, '')}/_local/events`);
    if (!response.ok) return { rows: [], error: `HTTP ${response.status}` };
    recorded = ((await response.json()) as { events: RecordedEvent[] }).events;
  } catch (error) {
    return { rows: [], error: (error as Error).message };
  }
  const rows = recorded.map(({ event, matchedRules }) => ({
    time: event.time,
    id: field(event.detail, 'id') || event.id,
    detailType: event['detail-type'],
    status: field(event.detail, 'status'),
    messageId: field(event.detail, 'messageId'),
    tenantId: field(event.detail, 'tenantId'),
    recipient: field(event.detail, 'recipient') || field(event.detail, 'recipients'),
    reason: field(event.detail, 'reason'),
    matchedRules,
  }));
  return { rows: rows.filter((row) => !messageId || row.messageId === messageId).reverse() };
}

const table = (rows: readonly StatusEventRow[], withMessage: boolean): SafeHtml =>
  rows.length === 0
    ? html`<p class="muted">No status events.</p>`
    : html`<table class="status-events"><thead><tr><th>Time</th><th>Status</th>${withMessage ? html`<th>Message</th><th>Tenant</th>` : ''}<th>Event id</th><th>Reason</th><th>Matched rules</th></tr></thead><tbody>
${rows.map(
  (row) =>
    html`<tr><td>${row.time}</td><td>${row.status}</td>${withMessage ? html`<td><a href="/messages/${encodeURIComponent(row.messageId)}">${row.messageId.slice(0, 12)}…</a></td><td>${row.tenantId}</td>` : ''}<td><code>${row.id}</code></td><td>${row.reason}</td><td>${row.matchedRules.join(', ') || '—'}</td></tr>`,
)}</tbody></table>`;

/** The "Status events" section of a message page: what the platform was told, in order. */
export const statusEventsSection = (rows: readonly StatusEventRow[], error?: string): SafeHtml =>
  html`<h2>Status events</h2>${error ? html`<p class="notice">EventBridge emulator: ${error}.</p>` : table([...rows].reverse(), false)}`;

/** `/events`: every status event of the scope's bus, newest first. */
export const statusEventsPage = (rows: readonly StatusEventRow[], error?: string): string =>
  layout(
    'Status events',
    html`<p><a href="/">← all messages</a></p><h1>Status events</h1><p class="muted">Email Status Changed events on the scope's bus (tenant-mail.&lt;scope&gt;), newest first, with the rules each matched.</p>${error ? html`<p class="notice">EventBridge emulator: ${error}.</p>` : table(rows, true)}`,
  );
