import { SesApiError } from './api-errors';
import type { EmulatorContext } from './emulator-context';
import type { StoredMessage, StoredMessageJson } from './emulator-store';
import type { ApiRequest, ApiResponse } from './http-router';
import { followVerificationLink, forceVerify, refreshAllIdentities } from './identity-operations';

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

const page = (title: string, body: string): ApiResponse => ({
  contentType: 'text/html; charset=utf-8',
  text: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.4em;text-align:left;vertical-align:top}pre{white-space:pre-wrap;
background:#f6f6f6;padding:1em;max-height:30em;overflow:auto}</style></head><body>${body}</body></html>`,
});

/**
 * `GET /_local/messages`: every accepted message, newest last, with `rawBase64` (the exact bytes, for DKIM
 * checks) and `raw` (those bytes read as UTF-8, for people and text searches; 8-bit bytes that are not
 * UTF-8 show as replacement characters there).
 */
export function listMessages(ctx: EmulatorContext): ApiResponse {
  return { json: { messages: ctx.store.messages.map(messageJson) } };
}

const messageJson = (message: StoredMessage): StoredMessageJson => ({
  ...message,
  raw: message.raw.toString('utf8'),
  rawBase64: message.raw.toString('base64'),
});

/** `DELETE /_local/messages`: forgets stored messages and event records (identities and settings stay). */
export function clearMessages(ctx: EmulatorContext): ApiResponse {
  ctx.store.clearMessages();
  return { json: {} };
}

/**
 * Emulator extension `POST /_local/clock` `{ "advance": "72h" }`: lets time pass (identity deadlines, the
 * 24-hour quota), then re-checks every identity as SES's background checks would. `GET` reads the time.
 */
export async function advanceClock(ctx: EmulatorContext, request: ApiRequest): Promise<ApiResponse> {
  const advance = request.body.advance;
  if (typeof advance !== 'string' && typeof advance !== 'number') {
    throw new SesApiError('BadRequestException', 'Send {"advance": "72h"} (or milliseconds).');
  }
  try {
    ctx.clock.advance(advance);
  } catch (error) {
    throw new SesApiError('BadRequestException', (error as Error).message);
  }
  await refreshAllIdentities(ctx);
  return readClock(ctx);
}

export function readClock(ctx: EmulatorContext): ApiResponse {
  const now = ctx.now();
  return { json: { now: new Date(now).toISOString(), epochMs: now } };
}

/** `GET /_local/events`: the event records built for SNS destinations and whether each was published. */
export function listEvents(ctx: EmulatorContext): ApiResponse {
  return { json: { events: ctx.store.events } };
}

export function verifyLink(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const followed = followVerificationLink(ctx, request.params.Token ?? '');
  if (!followed) {
    return { status: 404, ...page('Unknown link', '<h1>This verification link is not known.</h1>') };
  }
  const { identity } = followed;
  if (followed.expired) {
    return {
      status: 410,
      ...page(
        'Link expired',
        `<h1>This verification link has expired.</h1><p>Links work for 24 hours. <b>${escapeHtml(identity.name)}</b> is now FAILED: delete the identity and create it again for a new link.</p>`,
      ),
    };
  }
  return page(
    'Verified',
    `<h1>Congratulations!</h1><p>You have successfully verified <b>${escapeHtml(identity.name)}</b>; you can now send email from it through the local SES emulator.</p>`,
  );
}

export function verifyIdentity(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const identity = forceVerify(ctx, request.params.EmailIdentity ?? '');
  return { json: { IdentityName: identity.name, VerificationStatus: identity.verificationStatus } };
}

const messageRow = (message: StoredMessage): string => {
  const text = message.raw.subarray(0, 200_000).toString('utf8');
  return `<tr>
<td>${escapeHtml(message.timestamp)}</td><td>${escapeHtml(message.from.join(', '))}</td>
<td>${message.outcomes.map((entry) => `${escapeHtml(entry.recipient)} <i>(${entry.outcome})</i>`).join('<br>')}</td>
<td><details><summary>${escapeHtml(message.subject || '(no subject)')}</summary>
<p>Message ID ${escapeHtml(message.messageId)}${message.configurationSetName ? `, configuration set ${escapeHtml(message.configurationSetName)}` : ''}${message.tenantName ? `, tenant ${escapeHtml(message.tenantName)}` : ''}</p>
<pre>${escapeHtml(message.raw.length > 200_000 ? `${text}\n… (truncated)` : text)}</pre></details></td></tr>`;
};

/** `GET /_local/`: a page for people: identities with their DNS records, then the messages. */
export function overview(ctx: EmulatorContext): ApiResponse {
  const identities = [...ctx.store.identities.values()]
    .map((identity) => {
      const records = identity.dkim
        ? identity.dkim.tokens
            .map((token) => `${token}._domainkey.${identity.name} CNAME ${token}.dkim.amazonses.com`)
            .join('<br>')
        : `<a href="/_local/verify/${escapeHtml(identity.verificationToken ?? '')}">verification link</a>`;
      return `<tr><td>${escapeHtml(identity.name)}</td><td>${identity.type}</td><td>${identity.verificationStatus}</td><td><code>${records}</code></td></tr>`;
    })
    .join('');
  const messages = [...ctx.store.messages].reverse().map(messageRow).join('');
  const { account } = ctx.store;
  return page(
    'Local SES',
    `<h1>Local SES emulator</h1>
<p>Region ${escapeHtml(ctx.region)}, ${account.sandbox ? 'sandbox' : 'production access'}, ${account.maxSendRate}/s,
${account.max24HourSend} per 24 h, sending ${account.sendingEnabled ? 'enabled' : 'paused'}.
JSON: <a href="/_local/messages">messages</a>, <a href="/_local/events">events</a>.</p>
<h2>Identities</h2><table><tr><th>Identity</th><th>Type</th><th>Status</th><th>DNS / link</th></tr>${identities}</table>
<h2>Messages (${ctx.store.messages.length})</h2>
<table><tr><th>Time</th><th>From</th><th>Recipients</th><th>Message</th></tr>${messages}</table>`,
  );
}
