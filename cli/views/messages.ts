import type { HistoryPage, MessageDetail, ResendResult } from '../../client/messages';
import type { SuppressionEntry } from '../../lambdas/domain/feedback/suppression-rules';
import type { StuckRecord } from '../../lambdas/domain/message/message-ledger';
import { formatTable } from '../output';

export function historyPage(page: HistoryPage): string {
  const rows = page.items.map((r) => ({
    created: r.createdAt,
    id: r.messageId,
    env: r.environment ?? '',
    status: r.status,
    to: (r.recipients ?? []).join(' '),
    event: r.eventType ?? (r.eventId ? '' : 'composed'),
    object: r.itemKey ?? r.eventId ?? '',
    reason: r.reasonCode ?? '',
    subject: (r.subject ?? '').length > 50 ? `${(r.subject ?? '').slice(0, 47)}...` : (r.subject ?? ''),
  }));
  const table = formatTable(rows, [
    'created',
    'id',
    'env',
    'status',
    'to',
    'event',
    'object',
    'reason',
    'subject',
  ]);
  return page.nextPageToken ? `${table}\nmore: --page-token ${page.nextPageToken}` : table;
}

export function messageDetail(detail: MessageDetail): string {
  const { timeline, ...fields } = detail.record;
  const lines = Object.entries(fields).map(
    ([name, value]) => `${`${name}:`.padEnd(22)}${typeof value === 'string' ? value : JSON.stringify(value)}`,
  );
  if (detail.resendOf) lines.push(`${'resendOf:'.padEnd(22)}${detail.resendOf}`);
  lines.push(
    '',
    'timeline:',
    ...timeline.map((line) =>
      `  ${line.at}  ${line.status ?? line.event ?? ''}  ${line.recipient ?? ''} ${line.detail ?? ''}`.trimEnd(),
    ),
  );
  if (detail.cause)
    lines.push(
      '',
      `caused by the ${detail.cause.event} event for ${detail.cause.recipient}: ${JSON.stringify(detail.cause)}`,
    );
  if (detail.event) lines.push('', 'provider event (as published):', JSON.stringify(detail.event, null, 2));
  return lines.join('\n');
}

export const resent = (r: ResendResult) =>
  [
    ...(r.liftedSuppressions.length ? [`lifted the suppression of ${r.liftedSuppressions.join(', ')}`] : []),
    `queued a fresh copy of ${r.originalMessageId} as ${r.messageId} (key ${r.idempotencyKey})`,
    `follow it with: tenant-mail message show ${r.messageId}`,
  ].join('\n');

export const stuckTable = (stuck: readonly StuckRecord[]) =>
  formatTable(stuck, ['messageId', 'tenantId', 'status', 'category', 'sweepAt', 'providerMessageId']);

export function suppressionPage(page: { items: SuppressionEntry[]; cursor?: string }): string {
  const rows = page.items.map((entry) => ({
    address: entry.address,
    reason: entry.reason,
    since: entry.createdAt,
    expires: entry.expiresAt ? new Date(entry.expiresAt * 1000).toISOString() : 'never',
    message: entry.sourceMessageId ?? '',
  }));
  const table = formatTable(rows, ['address', 'reason', 'since', 'expires', 'message']);
  return page.cursor ? `${table}\nmore: --cursor ${page.cursor}` : table;
}
