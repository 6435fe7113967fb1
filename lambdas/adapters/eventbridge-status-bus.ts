import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { StatusEventsNotPublishedError } from '../domain/message/errors';
import type { StatusEvent, StatusEventBus } from '../domain/message/status-events';

/** PutEvents limits: 10 entries per call, 256 KB per call (entry sizes as EventBridge counts them). */
export const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;

export interface EventBridgeStatusBusOptions {
  readonly eventBusName: string;
  /** Rounds that retry the entries EventBridge reported failed (`FailedEntryCount`). @default 3 */
  readonly retryRounds?: number;
  /** Wait before retry round n: `n × baseDelayMs`. @default 100 */
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * The scope's EventBridge bus behind the `StatusEventBus` port. Sends in order, in calls of at most 10 entries
 * and 256 KB; the entries a call reports failed (`FailedEntryCount`: throttling, internal errors), or all of a
 * call that throws, are sent again, alone, up to `retryRounds` times. Then it throws
 * StatusEventsNotPublishedError with the index of the first event still refused, so the caller retries from
 * there (a stream handler reports that record as its batch item failure; later events may then be published
 * twice, with the same `detail.id`).
 */
export class EventBridgeStatusBus implements StatusEventBus {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly client: EventBridgeClient,
    private readonly options: EventBridgeStatusBusOptions,
  ) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async put(events: readonly StatusEvent[]): Promise<void> {
    const entries = events.map((event) => this.entryOf(event));
    let pending = entries.map((_, index) => index);
    let failure: unknown;
    for (let round = 0; ; round += 1) {
      const failed: number[] = [];
      for (const chunk of chunks(pending, entries)) {
        try {
          const { FailedEntryCount = 0, Entries = [] } = await this.client.send(
            new PutEventsCommand({ Entries: chunk.map((index) => entries[index] as PutEventsRequestEntry) }),
          );
          if (FailedEntryCount === 0) continue;
          // Result entries answer the request's entries in order; only the refused ones are sent again.
          chunk.forEach((index, at) => {
            const result = Entries[at];
            if (!result || result.ErrorCode) {
              failed.push(index);
              failure = `${result?.ErrorCode ?? 'missing result'}: ${result?.ErrorMessage ?? ''}`;
            }
          });
        } catch (error) {
          failed.push(...chunk);
          failure = error;
        }
      }
      if (failed.length === 0) return;
      if (round >= (this.options.retryRounds ?? 3))
        throw new StatusEventsNotPublishedError(Math.min(...failed), failure);
      pending = failed;
      await this.sleep((round + 1) * (this.options.baseDelayMs ?? 100));
    }
  }

  private entryOf(event: StatusEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.options.eventBusName,
      Source: event.source,
      DetailType: event.detailType,
      Detail: JSON.stringify(event.detail),
      Time: new Date(event.detail.at),
    };
  }
}

/** The size EventBridge counts for an entry: source, detail-type and detail in UTF-8, 14 bytes for a time. */
export function entrySize(entry: PutEventsRequestEntry): number {
  return (
    (entry.Time ? 14 : 0) +
    Buffer.byteLength(entry.Source ?? '') +
    Buffer.byteLength(entry.DetailType ?? '') +
    Buffer.byteLength(entry.Detail ?? '') +
    (entry.Resources ?? []).reduce((sum, resource) => sum + Buffer.byteLength(resource), 0)
  );
}

/** The indexes of `pending` in calls of at most 10 entries and 256 KB, in order. */
function chunks(pending: readonly number[], entries: readonly PutEventsRequestEntry[]): number[][] {
  const out: number[][] = [];
  let chunk: number[] = [];
  let bytes = 0;
  for (const index of pending) {
    const size = entrySize(entries[index] as PutEventsRequestEntry);
    if (
      chunk.length === PUT_EVENTS_MAX_ENTRIES ||
      (chunk.length > 0 && bytes + size > PUT_EVENTS_MAX_BYTES)
    ) {
      out.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(index);
    bytes += size;
  }
  if (chunk.length > 0) out.push(chunk);
  return out;
}
