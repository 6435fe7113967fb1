import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ValidationIssue } from '../lambdas/domain/notifications/notification-errors';
import type { OutboundMessage } from './publisher-events';
import { type PreparedMessage, prepareMessage, SQS_MAX_MESSAGE_BYTES } from './publisher-parts';
import {
  backoffMs,
  DEFAULT_RETRY_POLICY,
  isRetryableEntry,
  isRetryableError,
  type RetryPolicy,
  sleep,
} from './publisher-retry';

export interface PublisherOptions {
  /** Your SQS client (credentials, region; an `endpoint` for the local twin). The publisher never destroys it. */
  readonly sqs: SQSClient;
  /** The scope's events queue (stack output / SSM parameter `/tenant-mail/<scope>/events-queue-url`). */
  readonly queueUrl: string;
  /** Largest message body; a bill run is split below it. @default 1,048,576 (the SQS limit) */
  readonly maxMessageBytes?: number;
  readonly retry?: Partial<RetryPolicy>;
  /** `SendMessageBatch` calls in flight at once. @default 4 */
  readonly concurrency?: number;
}

/** One queue message of an accepted (or partly accepted) event. */
export interface SentMessage {
  /** The event id (a bill-run part's own id) or the composed email's idempotency key. */
  readonly id: string;
  readonly sqsMessageId: string;
  readonly part?: { readonly index: number; readonly count: number };
}

/** What happened to `messages[index]`: every queue message sent, or why not. */
export type PublishResult =
  | {
      readonly status: 'accepted';
      readonly index: number;
      readonly id: string;
      readonly messages: readonly SentMessage[];
    }
  | {
      readonly status: 'failed';
      readonly index: number;
      readonly id?: string;
      /** `INVALID_EVENT` / `INVALID_EMAIL` (the dispatcher's codes), `MESSAGE_TOO_LARGE`, or the SQS error code. */
      readonly code: string;
      readonly reason: string;
      readonly issues?: readonly ValidationIssue[];
      /** Parts of a split bill run that did reach the queue; publishing the event again is safe. */
      readonly messages: readonly SentMessage[];
    };

/** SendMessageBatch takes at most 10 entries and 1 MiB in all. */
const MAX_BATCH_ENTRIES = 10;

interface Entry extends PreparedMessage {
  readonly owner: number;
}

type EntryOutcome =
  | { readonly ok: true; readonly sqsMessageId: string }
  | { readonly ok: false; readonly code: string; readonly reason: string };

/**
 * Publishes events and composed emails to the events queue. Every message is validated by the dispatcher's own
 * schemas first; valid ones go out in `SendMessageBatch` calls of at most 10 entries and 1 MiB, a bill run too
 * large for one message as numbered parts. Throttling, server faults and entries SQS failed on its side are
 * retried with backoff up to `retry.maxAttempts`. Ids are deterministic, so publishing the same input again
 * (after a crash or a failed result) never sends an email twice: the dispatcher dedupes by event id.
 */
export class Publisher {
  private readonly maxMessageBytes: number;
  private readonly retry: RetryPolicy;
  private readonly concurrency: number;

  constructor(private readonly options: PublisherOptions) {
    this.maxMessageBytes = Math.min(options.maxMessageBytes ?? SQS_MAX_MESSAGE_BYTES, SQS_MAX_MESSAGE_BYTES);
    this.retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.concurrency = Math.max(1, options.concurrency ?? 4);
  }

  /** Publishes `messages`; resolves with one result per message, in order. Never rejects for a bad message. */
  async publish(messages: readonly OutboundMessage[]): Promise<PublishResult[]> {
    const results: (PublishResult | undefined)[] = [];
    const entries: Entry[] = [];
    for (const [index, message] of messages.entries()) {
      const prepared = prepare(message, this.maxMessageBytes);
      if (!prepared.ok) {
        const { ok: _ok, ...failure } = prepared;
        results[index] = { status: 'failed', index, ...failure, messages: [] };
        continue;
      }
      entries.push(...prepared.messages.map((m) => ({ ...m, owner: index })));
    }
    const outcomes = new Map<Entry, EntryOutcome>();
    const batches = packBatches(entries);
    let next = 0;
    const worker = async () => {
      for (let batch = batches[next++]; batch; batch = batches[next++]) {
        for (const [entry, outcome] of await this.sendBatch(batch)) outcomes.set(entry, outcome);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, batches.length) }, worker));
    return messages.map((message, index) => results[index] ?? summarize(message, index, entries, outcomes));
  }

  private async sendBatch(batch: readonly Entry[]): Promise<Map<Entry, EntryOutcome>> {
    const outcomes = new Map<Entry, EntryOutcome>();
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const last = attempt >= this.retry.maxAttempts;
      const retry: Entry[] = [];
      try {
        const response = await this.options.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: this.options.queueUrl,
            Entries: pending.map((entry, i) => ({ Id: String(i), MessageBody: entry.body })),
          }),
        );
        const answered = new Set<Entry>();
        for (const ok of response.Successful ?? []) {
          const entry = pending[Number(ok.Id)];
          if (!entry) continue;
          answered.add(entry);
          outcomes.set(entry, { ok: true, sqsMessageId: ok.MessageId ?? '' });
        }
        for (const failed of response.Failed ?? []) {
          const entry = pending[Number(failed.Id)];
          if (!entry) continue;
          answered.add(entry);
          const code = failed.Code ?? 'SendFailed';
          const reason = `${code}: ${failed.Message ?? 'SQS did not accept the message'}`;
          if (isRetryableEntry(failed) && !last) retry.push(entry);
          else
            outcomes.set(entry, {
              ok: false,
              code,
              reason: gaveUp(reason, attempt, isRetryableEntry(failed)),
            });
        }
        for (const entry of pending) {
          if (answered.has(entry)) continue;
          if (!last) retry.push(entry);
          else outcomes.set(entry, { ok: false, code: 'NoResult', reason: 'SQS returned no result for it' });
        }
      } catch (error) {
        const code = (error as { name?: string }).name ?? 'Error';
        const reason = `${code}: ${(error as Error).message}`;
        if (isRetryableError(error) && !last) retry.push(...pending);
        else
          for (const entry of pending)
            outcomes.set(entry, {
              ok: false,
              code,
              reason: gaveUp(reason, attempt, isRetryableError(error)),
            });
      }
      pending = retry;
      if (pending.length > 0) await sleep(backoffMs(this.retry, attempt));
    }
    return outcomes;
  }
}

export function createPublisher(options: PublisherOptions): Publisher {
  return new Publisher(options);
}

const gaveUp = (reason: string, attempts: number, retryable: boolean) =>
  retryable ? `${reason} (gave up after ${attempts} attempts)` : reason;

function prepare(message: OutboundMessage, maxMessageBytes: number): ReturnType<typeof prepareMessage> {
  try {
    return prepareMessage(message, maxMessageBytes);
  } catch (error) {
    // Not JSON-serialisable (a cycle, a BigInt): the dispatcher could never read it either.
    return { ok: false, code: 'INVALID_MESSAGE', reason: (error as Error).message };
  }
}

/** Groups entries in order into batches of at most 10 entries and 1 MiB of bodies. */
function packBatches(entries: readonly Entry[]): Entry[][] {
  const batches: Entry[][] = [];
  let batch: Entry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    if (batch.length === MAX_BATCH_ENTRIES || bytes + entry.bytes > SQS_MAX_MESSAGE_BYTES) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(entry);
    bytes += entry.bytes;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

function summarize(
  message: OutboundMessage,
  index: number,
  entries: readonly Entry[],
  outcomes: ReadonlyMap<Entry, EntryOutcome>,
): PublishResult {
  const id = message.kind === 'event' ? message.event.id : message.email.idempotencyKey;
  const sent: SentMessage[] = [];
  let failure: { entry: Entry; code: string; reason: string } | undefined;
  for (const entry of entries) {
    if (entry.owner !== index) continue;
    const outcome = outcomes.get(entry) ?? { ok: false, code: 'NotSent', reason: 'not sent' };
    if (outcome.ok)
      sent.push({
        id: entry.id,
        sqsMessageId: outcome.sqsMessageId,
        ...(entry.part ? { part: entry.part } : {}),
      });
    else failure ??= { entry, ...outcome };
  }
  if (!failure) return { status: 'accepted', index, id, messages: sent };
  const which = failure.entry.part
    ? `part ${failure.entry.part.index} of ${failure.entry.part.count} (${failure.entry.id}): `
    : '';
  return {
    status: 'failed',
    index,
    id,
    code: failure.code,
    reason: `${which}${failure.reason}`,
    messages: sent,
  };
}
