import type { StoredMessageJson } from '../ses/emulator-store';
import type { DkimSignatureCheck } from './dkim-check';
import { html, raw, type SafeHtml } from './html';
import type { ParsedMessage } from './mime-parts';
import type { MessageRecord, MessageRow, TenantCounters, TenantSummary } from './viewer-data';

const STYLE = `
:root{--fg:#1d2330;--muted:#667085;--line:#e4e7ec;--bg:#f8f9fb;--accent:#2952cc}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);margin:0;background:var(--bg)}
header{background:#fff;border-bottom:1px solid var(--line);padding:.8em 2em;display:flex;gap:1.5em;align-items:baseline}
header b{font-size:16px}header a{color:var(--muted);text-decoration:none}header a:hover{color:var(--accent)}
main{padding:1.2em 2em 3em;max-width:90em}h1{font-size:20px;margin:.2em 0 .6em}h2{font-size:16px;margin:1.6em 0 .5em}
a{color:var(--accent)}table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}
th,td{padding:.45em .7em;text-align:left;vertical-align:top;border-bottom:1px solid var(--line)}
th{background:#f2f4f7;font-weight:600;font-size:12px;color:#475467;text-transform:uppercase;letter-spacing:.02em}
td.time{white-space:nowrap}table.headers th{text-transform:none;letter-spacing:0;width:12em}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:var(--muted)}
.badge{display:inline-block;padding:.05em .55em;border-radius:1em;font-size:12px;font-weight:600;background:#eef2f6;color:#344054}
.ok{background:#dcfae6;color:#067647}.warn{background:#fef0c7;color:#93370d}.bad{background:#fee4e2;color:#b42318}
.notice{background:#fffaeb;border:1px solid #fedf89;padding:.6em 1em;border-radius:6px;margin:.8em 0}
form.filter{display:flex;gap:.5em;align-items:center;margin:.5em 0 1em}input,button{font:inherit;padding:.3em .6em}
ol.timeline{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:.4em;align-items:center}
ol.timeline li{background:#fff;border:1px solid var(--line);border-radius:6px;padding:.4em .7em}
ol.timeline li+li::before{content:"→";margin:0 .6em 0 -.2em;color:var(--muted)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3em 1.2em;background:#fff;border:1px solid var(--line);padding:.8em 1em;margin:0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;word-break:break-all}
pre{white-space:pre-wrap;word-break:break-all;background:#fff;border:1px solid var(--line);padding:1em;max-height:32em;overflow:auto;font-size:12px}
iframe.email-body{width:100%;height:20em;border:1px solid var(--line);background:#fff}
nav.pages{margin:.8em 0;display:flex;gap:1em}`;

const STATUS_CLASS: Readonly<Record<string, string>> = {
  SENT: 'ok',
  DELIVERED: 'ok',
  QUEUED: 'warn',
  SENDING: 'warn',
  DEFERRED: 'warn',
  PAUSED: 'warn',
  BOUNCED: 'bad',
  COMPLAINED: 'bad',
  SUPPRESSED: 'bad',
  REJECTED: 'bad',
  DEAD_LETTERED: 'bad',
};

/** Statuses in the order the counters show them; any other status seen follows. */
const STATUS_ORDER = Object.keys(STATUS_CLASS);

const badge = (status: string): SafeHtml =>
  html`<span class="badge ${raw(STATUS_CLASS[status] ?? '')}">${status}</span>`;

const resultBadge = (result: string): SafeHtml =>
  html`<span class="badge ${raw(result === 'pass' ? 'ok' : result === 'none' || result === 'neutral' ? '' : 'bad')}">${result}</span>`;

/** `2024-05-01T10:00:00.123Z` → `2024-05-01 10:00:00Z`; anything else unchanged. */
const time = (iso: string | undefined): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

const messageHref = (id: string) => `/messages/${encodeURIComponent(id)}`;

/** The list's filters beside the tenant, kept in the URL (`?status=`, `?failed=1`, `?recipient=`). */
export interface ListFilters {
  readonly status?: string;
  readonly failed?: boolean;
  readonly recipient?: string;
}

const listHref = (tenant: string | undefined, page: number, filters: ListFilters = {}) => {
  const query = new URLSearchParams();
  if (tenant) query.set('tenant', tenant);
  if (filters.status) query.set('status', filters.status);
  if (filters.failed) query.set('failed', '1');
  if (filters.recipient) query.set('recipient', filters.recipient);
  if (page > 1) query.set('page', String(page));
  const text = query.toString();
  return text ? `/?${text}` : '/';
};

/** The page frame: navigation, styles; no scripts anywhere. */
export function layout(title: string, body: SafeHtml): string {
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>${title} · tenant-mail local</title>
<style>${raw(STYLE)}</style></head><body>
<header><b>tenant-mail · local viewer</b><a href="/">Messages</a><a href="/events">Status events</a><a href="/api/messages">JSON</a></header>
<main>${body}</main></body></html>`.value;
}

export interface ListPageInput {
  readonly rows: readonly MessageRow[];
  readonly total: number;
  readonly page: number;
  readonly pageCount: number;
  /** More records exist than were read (`maxRecords`). */
  readonly truncated: boolean;
  readonly maxRecords: number;
  readonly tenant?: string;
  readonly filters?: ListFilters;
  readonly tenants: readonly TenantSummary[];
  readonly counters: readonly TenantCounters[];
  /** Tenants with counters not shown (the overview shows the busiest only). */
  readonly countersHidden: number;
  readonly sesError?: string;
}

const countersTable = (counters: readonly TenantCounters[]): SafeHtml => {
  const seen = new Set(counters.flatMap((entry) => Object.keys(entry.statuses)));
  const statuses = [
    ...STATUS_ORDER.filter((status) => seen.has(status)),
    ...[...seen].filter((s) => !STATUS_ORDER.includes(s)).sort(),
  ];
  const rep = (totals: TenantCounters['reputation24h']) =>
    html`${totals.sends} / ${totals.bounces} / ${totals.complaints}`;
  return html`<table class="counters"><thead><tr><th>Tenant</th><th class="num">Emails</th>
${statuses.map((status) => html`<th class="num">${status}</th>`)}
<th>Suppressed</th><th class="num" title="sends / bounces / complaints">Reputation 24 h</th>
<th class="num" title="sends / bounces / complaints">Reputation 7 d</th></tr></thead><tbody>
${counters.map(
  (
    entry,
  ) => html`<tr data-tenant="${entry.tenantId}"><td><a href="${listHref(entry.tenantId, 1)}">${entry.tenantId}</a>
${entry.displayName ? html`<div class="muted">${entry.displayName}</div>` : ''}
${entry.pausedIn.length > 0 ? html`<div><span class="badge warn">paused: ${entry.pausedIn.join(', ')}</span></div>` : ''}</td>
<td class="num">${entry.emails}</td>
${statuses.map((status) => html`<td class="num" data-status="${status}">${entry.statuses[status] ?? 0}</td>`)}
<td class="suppressions">${Object.values(entry.suppressions).reduce((sum, count) => sum + count, 0)}
${Object.entries(entry.suppressions).map(([reason, count]) => html`<div class="muted">${reason}: ${count}</div>`)}</td>
<td class="num reputation-24h">${rep(entry.reputation24h)}</td><td class="num reputation-7d">${rep(entry.reputation7d)}</td></tr>`,
)}</tbody></table>`;
};

const outcomeText = (row: MessageRow, recipient: string): string | undefined =>
  row.outcomes?.find((entry) => entry.recipient === recipient)?.outcome;

/** `/`: counters per tenant, then the messages, newest first, with a tenant filter and paging. */
export function listPage(input: ListPageInput): string {
  const pages =
    input.pageCount > 1
      ? html`<nav class="pages">${input.page > 1 ? html`<a rel="prev" href="${listHref(input.tenant, input.page - 1, input.filters)}">← Newer</a>` : ''}
<span class="muted">page ${input.page} of ${input.pageCount}</span>
${input.page < input.pageCount ? html`<a rel="next" href="${listHref(input.tenant, input.page + 1, input.filters)}">Older →</a>` : ''}</nav>`
      : '';
  const body = html`<h1>${input.tenant ? html`Messages of tenant <q>${input.tenant}</q>` : 'Messages'}</h1>
<form class="filter" method="get" action="/"><label for="tenant">Tenant</label>
<input id="tenant" name="tenant" list="tenant-ids" value="${input.tenant ?? ''}" placeholder="all tenants" autocomplete="off">
<datalist id="tenant-ids">${input.tenants.map((tenant) => html`<option value="${tenant.tenantId}">${tenant.displayName ?? ''}</option>`)}</datalist>
<label for="status">Status</label><select id="status" name="status"><option value="">any</option>
${STATUS_ORDER.map((status) => html`<option value="${status}"${raw(input.filters?.status === status ? ' selected' : '')}>${status}</option>`)}</select>
<label><input type="checkbox" name="failed" value="1"${raw(input.filters?.failed ? ' checked' : '')}> failed only</label>
<label for="recipient">Recipient</label><input id="recipient" name="recipient" value="${input.filters?.recipient ?? ''}" placeholder="any" autocomplete="off">
<button type="submit">Filter</button>${input.tenant || input.filters?.status || input.filters?.failed || input.filters?.recipient ? html`<a href="/">show all</a>` : ''}</form>
${input.sesError ? html`<p class="notice">SES messages not shown: ${input.sesError}.</p>` : ''}
${input.truncated ? html`<p class="notice">Only the ${input.maxRecords} records read are counted and listed; filter by tenant to see one tenant's mail.</p>` : ''}
<h2>Per tenant</h2>
${input.counters.length > 0 ? countersTable(input.counters) : html`<p class="muted">No tenants yet.</p>`}
${input.countersHidden > 0 ? html`<p class="muted">${input.countersHidden} more tenants not shown: filter by tenant.</p>` : ''}
<h2>Emails (${input.total})</h2>
${pages}
<table class="messages"><thead><tr><th>Time</th><th>Status</th><th>Tenant</th><th>Recipients</th><th>Subject</th><th>Method</th></tr></thead><tbody>
${input.rows.map(
  (
    row,
  ) => html`<tr data-message-id="${row.id}"><td class="muted">${time(row.time)}</td><td>${badge(row.status)}</td>
<td><a href="${listHref(row.tenantId, 1)}">${row.tenantId}</a></td>
<td>${row.recipients.map((recipient) => {
    const outcome = outcomeText(row, recipient);
    return html`<div>${recipient}${outcome ? html` <span class="muted">(${outcome})</span>` : ''}</div>`;
  })}</td>
<td class="subject"><a href="${messageHref(row.id)}">${row.subject || '(no subject)'}</a></td><td>${row.method || '—'}</td></tr>`,
)}
${input.rows.length === 0 ? html`<tr><td colspan="6" class="muted">No emails.</td></tr>` : ''}</tbody></table>
${pages}`;
  return layout(input.tenant ? `Messages of ${input.tenant}` : 'Messages', body);
}

export interface MessagePageInput {
  readonly id: string;
  readonly record?: MessageRecord;
  readonly ses?: StoredMessageJson;
  readonly parsed?: ParsedMessage;
  readonly dkim?: readonly DkimSignatureCheck[];
  readonly dkimError?: string;
  readonly sesError?: string;
  /** The message's status events on the scope's bus (status-events-view.ts). */
  readonly statusEvents?: SafeHtml;
}

const recordSection = (record: MessageRecord): SafeHtml => html`<dl class="facts">
<dt>Status</dt><dd class="status">${badge(record.status)}</dd>
${record.reasonCode || record.reason ? html`<dt>Reason</dt><dd class="reason"><code>${record.reasonCode ?? ''}</code> ${record.reason ?? ''}</dd>` : ''}
<dt>Tenant</dt><dd><a href="${listHref(record.tenantId, 1)}">${record.tenantId}</a></dd>
${record.environment ? html`<dt>Environment</dt><dd>${record.environment}</dd>` : ''}
${record.method ? html`<dt>Method</dt><dd>${record.method}</dd>` : ''}
${record.category ? html`<dt>Category</dt><dd>${record.category}</dd>` : ''}
${record.fromAddress ? html`<dt>From</dt><dd>${record.fromAddress}</dd>` : ''}
<dt>Recipients</dt><dd>${record.recipients.join(', ') || '(none recorded)'}</dd>
<dt>Message id</dt><dd><code>${record.messageId}</code></dd>
${record.sesMessageId ? html`<dt>Provider id</dt><dd><code>${record.sesMessageId}</code></dd>` : ''}
${record.attempts !== undefined ? html`<dt>Attempts</dt><dd>${record.attempts}</dd>` : ''}
${record.eligibleAt ? html`<dt>Eligible at</dt><dd>${time(record.eligibleAt)}</dd>` : ''}
<dt>Created</dt><dd>${time(record.createdAt)}</dd>
${
  record.dkim
    ? html`<dt>DKIM (recorded)</dt><dd class="dkim-facts">signed by ${record.dkim.signingDomains.join(', ') || 'no domain'};
alignment ${record.dkim.alignment ?? 'unknown'}, ${record.dkim.aligned ? 'aligned with From' : 'not aligned with From'}</dd>`
    : ''
}
${record.suppressedRecipients.length > 0 ? html`<dt>Suppressed</dt><dd class="suppressed">${record.suppressedRecipients.join(', ')}</dd>` : ''}
${record.rejectedRecipients.length > 0 ? html`<dt>Refused by relay</dt><dd class="rejected">${record.rejectedRecipients.map((entry) => html`<div>${entry.recipient}: ${entry.code ?? ''} ${entry.reply ?? ''}</div>`)}</dd>` : ''}
</dl>
<h2>Timeline</h2>
<ol class="timeline">${record.timeline.map(
  (
    entry,
  ) => html`<li data-status="${entry.status}">${badge(entry.status)} <span class="muted">${time(entry.at)}</span>
${entry.detail ? html`<div class="muted">${entry.detail}</div>` : ''}</li>`,
)}</ol>
${record.timeline.length === 0 ? html`<p class="muted">No timeline recorded.</p>` : ''}
${record.bodyExcerpt ? html`<h2>Body excerpt (unparseable input)</h2><pre>${record.bodyExcerpt}</pre>` : ''}`;

const sesSection = (input: MessagePageInput, ses: StoredMessageJson): SafeHtml => {
  const parsed = input.parsed;
  return html`<h2>Rendered</h2>
${
  parsed?.html !== undefined
    ? html`<iframe class="email-body" title="HTML body" sandbox="" referrerpolicy="no-referrer" srcdoc="${parsed.html}"></iframe>`
    : html`<p class="muted">No HTML part.</p>`
}
<h2>DKIM verification</h2>
${input.dkimError ? html`<p class="notice">DKIM could not be verified: ${input.dkimError}</p>` : ''}
<table class="dkim"><thead><tr><th>Signing domain</th><th>Selector</th><th>Algorithm</th><th>Result</th><th>Aligned with From</th><th>Comment</th></tr></thead><tbody>
${(input.dkim ?? []).map(
  (
    entry,
  ) => html`<tr data-domain="${entry.domain}"><td>${entry.domain}</td><td><code>${entry.selector ?? ''}</code></td><td>${entry.algorithm ?? ''}</td>
<td class="result">${resultBadge(entry.result)}</td><td>${entry.aligned ?? 'no'}</td><td class="muted">${entry.comment ?? ''}</td></tr>`,
)}</tbody></table>
<h2>Through SES</h2>
<dl class="facts">
<dt>SES message id</dt><dd><code>${ses.messageId}</code></dd><dt>Accepted</dt><dd>${time(ses.timestamp)}</dd>
${ses.configurationSetName ? html`<dt>Configuration set</dt><dd>${ses.configurationSetName}</dd>` : ''}
${ses.tenantName ? html`<dt>SES tenant</dt><dd>${ses.tenantName}</dd>` : ''}
<dt>Outcomes</dt><dd>${ses.outcomes.map((entry) => html`<div>${entry.recipient}: ${entry.outcome}</div>`)}</dd>
<dt>Tags</dt><dd>${ses.emailTags.map((tag) => html`<div><code>${tag.Name}</code> = ${tag.Value}</div>`)}</dd></dl>
${parsed?.text !== undefined ? html`<h2>Plain text</h2><pre class="text-body">${parsed.text}</pre>` : ''}
${
  parsed && parsed.parts.length > 0
    ? html`<h2>Parts</h2><table class="parts"><thead><tr><th>Type</th><th>File name</th><th class="num">Bytes</th></tr></thead><tbody>
${parsed.parts.map((part) => html`<tr><td>${part.contentType}</td><td>${part.filename ?? ''}</td><td class="num">${part.size}</td></tr>`)}</tbody></table>`
    : ''
}
${parsed ? html`<h2>Headers</h2><table class="headers"><tbody>${parsed.headers.map((field) => html`<tr><th>${field.name}</th><td>${field.value}</td></tr>`)}</tbody></table>` : ''}
<h2>Raw source</h2><pre class="raw">${ses.raw}</pre>`;
};

/** `/messages/<id>`: the record's facts and timeline, and when SES sent it, the rendered body, DKIM and source. */
export function messagePage(input: MessagePageInput): string {
  const subject = input.record?.subject ?? input.ses?.subject ?? '';
  const body = html`<p><a href="/">← all messages</a></p><h1 class="subject">${subject || '(no subject)'}</h1>
${input.record ? recordSection(input.record) : html`<p class="notice">No record in the messages table: this message was sent to the SES emulator directly.</p>`}
${input.statusEvents ?? ''}
${input.sesError ? html`<p class="notice">SES emulator: ${input.sesError}.</p>` : ''}
${input.ses ? sesSection(input, input.ses) : input.record ? html`<h2>Through SES</h2><p class="muted">The SES emulator has no copy of this message (not sent through SES, or sent before the emulator's data was cleared).</p>` : ''}`;
  return layout(subject || input.id, body);
}

/** A page for an unknown id or a failure, with the text escaped. */
export function errorPage(title: string, message: string): string {
  return layout(title, html`<h1>${title}</h1><p>${message}</p><p><a href="/">← all messages</a></p>`);
}
