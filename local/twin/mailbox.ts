import type { Scope } from '../../lambdas/domain/scope';
import type { StoredMessageJson } from '../ses';
import { addressesOf, decodeWords, type HeaderField, headerValues, parseHeaders } from '../ses/mime-message';
import type { ReceivedMessage } from '../smtp/smtp-relay';

/** One email that reached the twin's outside world: an SES emulator or the stand-in tenant relay. */
export interface MailboxMessage {
  /** `ses` (methods `default` and `advanced`, accepted by the scope's SES emulator) or `relay` (`external-smtp`). */
  readonly via: 'ses' | 'relay';
  /** The scope whose SES account accepted it; absent for the relay, which every scope shares. */
  readonly scope?: Scope;
  /** Envelope recipients (SES destinations, SMTP `RCPT TO`): To, Cc and Bcc alike. */
  readonly recipients: readonly string[];
  /** Addresses of the `From` header. */
  readonly from: readonly string[];
  /** Addresses of the `To` header. */
  readonly to: readonly string[];
  /** The `Subject` header, encoded words decoded. */
  readonly subject: string;
  /** Every header field in order, unfolded. */
  readonly headers: readonly HeaderField[];
  /** The whole MIME message as sent, read as UTF-8. */
  readonly raw: string;
  /** SES's message id (`via: 'ses'`). */
  readonly messageId?: string;
  /** When the emulator or relay accepted it (ISO 8601). */
  readonly receivedAt: string;
}

/** Which messages a {@link Mailbox} call is about; every given field must match. */
export interface MailboxQuery {
  /** An envelope recipient (case-insensitive), so Bcc recipients match too. */
  readonly to?: string;
  /** A `From` header address (case-insensitive). */
  readonly from?: string;
  /** The decoded subject: equal to a string, or matching a RegExp. */
  readonly subject?: string | RegExp;
  readonly via?: 'ses' | 'relay';
}

export interface MailboxWaitOptions {
  /** How many matching messages to wait for. @default 1 */
  readonly count?: number;
  /** Give up (rejecting with what did arrive) after this long. @default 60,000 ms */
  readonly timeoutMs?: number;
}

/** What the twin's SES emulators accepted and its relay received, read as a test asserts on it. */
export interface Mailbox {
  /** Every message so far that matches, oldest first. */
  list(query?: MailboxQuery): Promise<MailboxMessage[]>;
  /** Resolves with the matching messages once there are at least `count` of them. */
  waitFor(query?: MailboxQuery, options?: MailboxWaitOptions): Promise<MailboxMessage[]>;
  /** Forgets every message (SES's `DELETE /_local/messages`, which also drops its event records, and the relay's). */
  clear(): Promise<void>;
}

export interface MailboxSources {
  /** Each scope's SES emulator URL; messages are read from its `GET /_local/messages`. */
  readonly ses: Partial<Record<Scope, string>>;
  /** The stand-in relay's received messages (the twin's in-process list). */
  readonly relay?: ReceivedMessage[];
}

const lower = (values: readonly string[]) => values.map((value) => value.toLowerCase());

function fromRaw(raw: Buffer): Pick<MailboxMessage, 'from' | 'to' | 'subject' | 'headers' | 'raw'> {
  const headers = parseHeaders(raw.toString('latin1'));
  return {
    headers,
    from: addressesOf(headerValues(headers, 'From')),
    to: addressesOf(headerValues(headers, 'To')),
    subject: decodeWords(headerValues(headers, 'Subject')[0] ?? ''),
    raw: raw.toString('utf8'),
  };
}

function matches(message: MailboxMessage, query: MailboxQuery): boolean {
  if (query.via && message.via !== query.via) return false;
  if (query.to && !lower(message.recipients).includes(query.to.toLowerCase())) return false;
  if (query.from && !lower(message.from).includes(query.from.toLowerCase())) return false;
  if (typeof query.subject === 'string' && message.subject !== query.subject) return false;
  if (query.subject instanceof RegExp && !query.subject.test(message.subject)) return false;
  return true;
}

async function sesMessages(scope: Scope, url: string): Promise<MailboxMessage[]> {
  const response = await fetch(`${url}/_local/messages`);
  if (!response.ok) throw new Error(`${url}/_local/messages answered HTTP ${response.status}`);
  const { messages } = (await response.json()) as { messages: StoredMessageJson[] };
  return messages.map((message) => ({
    via: 'ses',
    scope,
    recipients: message.destination,
    ...fromRaw(Buffer.from(message.rawBase64, 'base64')),
    messageId: message.messageId,
    receivedAt: message.timestamp,
  }));
}

/**
 * A mailbox over the twin's SES emulators (their HTTP API, so it reads a twin in another process just as well)
 * and its relay's received list.
 */
export function createMailbox(sources: MailboxSources): Mailbox {
  const all = async (): Promise<MailboxMessage[]> => {
    const fromSes = await Promise.all(
      Object.entries(sources.ses).map(([scope, url]) => sesMessages(scope as Scope, url ?? '')),
    );
    const fromRelay = (sources.relay ?? []).map(
      (message): MailboxMessage => ({
        via: 'relay',
        recipients: message.recipients,
        ...fromRaw(message.raw),
        receivedAt: new Date(message.receivedAt).toISOString(),
      }),
    );
    return [...fromSes.flat(), ...fromRelay].sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
  };
  const list = async (query: MailboxQuery = {}) => (await all()).filter((message) => matches(message, query));
  return {
    list,
    async waitFor(query = {}, options = {}) {
      const count = options.count ?? 1;
      const deadline = Date.now() + (options.timeoutMs ?? 60_000);
      for (;;) {
        const found = await list(query);
        if (found.length >= count) return found;
        if (Date.now() > deadline) {
          const seen = (await all()).map(
            (message) => `${message.via} → ${message.recipients.join(', ')}: ${message.subject}`,
          );
          throw new Error(
            `mailbox: ${found.length} of ${count} message(s) matching ${describe(query)} arrived; the mailbox holds:\n${seen.join('\n') || '(nothing)'}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async clear() {
      await Promise.all(
        Object.values(sources.ses).map(async (url) => {
          const response = await fetch(`${url}/_local/messages`, { method: 'DELETE' });
          if (!response.ok) throw new Error(`${url}/_local/messages answered HTTP ${response.status}`);
        }),
      );
      sources.relay?.splice(0);
    },
  };
}

const describe = (query: MailboxQuery) =>
  JSON.stringify({
    ...query,
    subject: query.subject instanceof RegExp ? String(query.subject) : query.subject,
  });
