import { EVENT_TYPES } from '../lambdas/domain/notifications/event-schema';
import { parseInboundMessage } from '../lambdas/domain/notifications/inbound-message';
import type { ValidationIssue } from '../lambdas/domain/notifications/notification-errors';
import { NotificationValidationError } from '../lambdas/domain/notifications/notification-errors';
import { type OutboundMessage, partEventId } from './publisher-events';

/** Largest SQS message (and SendMessageBatch request) body: 1 MiB since August 2025. */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;

/**
 * Bytes left free in every message for the dispatcher's continuation cursor: a bill run it cannot finish in one
 * invocation goes back on the events queue with `"dispatchcursor":"<definitionId>:<offset>"` added.
 */
export const CONTINUATION_HEADROOM_BYTES = 256;

/** One queue message ready to send: its body, its size and the event id (or idempotency key) it carries. */
export interface PreparedMessage {
  readonly id: string;
  readonly body: string;
  readonly bytes: number;
  readonly part?: { readonly index: number; readonly count: number };
}

export type Prepared =
  | { readonly ok: true; readonly id: string; readonly messages: readonly PreparedMessage[] }
  | {
      readonly ok: false;
      readonly id?: string;
      readonly code: string;
      readonly reason: string;
      readonly issues?: readonly ValidationIssue[];
    };

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8');

/**
 * Validates a message exactly as the dispatcher will (`parseInboundMessage` on the serialized body), and splits a
 * bill run too large for one SQS message into parts under `maxMessageBytes`, numbered `data.part` =
 * `{ index, count }`, each with its own deterministic id (`<id>-part-<index>-of-<count>`).
 */
export function prepareMessage(message: OutboundMessage, maxMessageBytes: number): Prepared {
  const id = message.kind === 'event' ? message.event.id : message.email.idempotencyKey;
  const body = JSON.stringify(message.kind === 'event' ? message.event : message.email);
  try {
    parseInboundMessage(body);
  } catch (error) {
    if (!(error instanceof NotificationValidationError)) throw error;
    return { ok: false, id, code: error.code, reason: error.message, issues: error.issues };
  }
  const limit = maxMessageBytes - CONTINUATION_HEADROOM_BYTES;
  const bytes = byteLength(body);
  if (bytes <= limit) return { ok: true, id, messages: [{ id, body, bytes }] };
  if (message.kind === 'event' && message.event.type === EVENT_TYPES.BillRunCompleted) {
    if (message.event.data.part !== undefined) {
      return tooLarge(
        id,
        `bill-run part of ${bytes} bytes is over the ${limit}-byte limit; leave out data.part`,
      );
    }
    return splitBillRun(message.event, limit);
  }
  return tooLarge(id, `message of ${bytes} bytes is over the ${limit}-byte limit of one SQS message`);
}

function tooLarge(id: string, reason: string): Prepared {
  return { ok: false, id, code: 'MESSAGE_TOO_LARGE', reason };
}

type BillRunEvent = Extract<OutboundMessage, { kind: 'event' }>['event'];

function splitBillRun(event: BillRunEvent, limit: number): Prepared {
  const invoices = event.data.invoices as readonly unknown[];
  // What every part carries besides its invoices, with the longest id and part numbers a part can have: the id
  // unhashed with the most digits (as long as any real part id once JSON-escaped, or longer than a hashed one).
  const most = invoices.length;
  const skeleton = {
    ...event,
    id: `${event.id}-part-${most}-of-${most}`,
    data: { ...event.data, part: { index: most, count: most }, invoices: [] },
  };
  const budget = limit - byteLength(JSON.stringify(skeleton));
  const groups: unknown[][] = [];
  let group: unknown[] = [];
  let used = 0;
  for (const [index, invoice] of invoices.entries()) {
    const cost = byteLength(JSON.stringify(invoice)) + 1; // the separating comma
    if (cost > budget) {
      return tooLarge(event.id, `data.invoices[${index}] alone (${cost} bytes) does not fit in one message`);
    }
    if (used + cost > budget) {
      groups.push(group);
      group = [];
      used = 0;
    }
    group.push(invoice);
    used += cost;
  }
  groups.push(group);
  const count = groups.length;
  const messages = groups.map((part, i): PreparedMessage => {
    const index = i + 1;
    const id = partEventId(event.id, index, count);
    const body = JSON.stringify({
      ...event,
      id,
      data: { ...event.data, part: { index, count }, invoices: part },
    });
    return { id, body, bytes: byteLength(body), part: { index, count } };
  });
  return { ok: true, id: event.id, messages };
}
