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
 * and 256 KB; entries a call reports failed (throttling, internal errors) are sent again, with the later ones of
 * the call, up to `retryRounds` times (a call that throws counts as a failed round too). Then it throws
 * StatusEventsNotPublishedError with how many events, from the first, were accepted, so the caller retries
 * exactly the rest (a stream handler reports the first unpublished record as its batch item failure).
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
    let accepted = 0;
    let round = 0;
    while (accepted < entries.length) {
      const chunk = nextChunk(entries, accepted);
      let ok = 0;
      let failure: unknown;
      try {
        const { FailedEntryCount = 0, Entries = [] } = await this.client.send(
          new PutEventsCommand({ Entries: chunk }),
        );
        // Entries answer in request order; keep order by accepting only up to the first failed one.
        const firstFailed = FailedEntryCount > 0 ? Entries.findIndex((entry) => entry.ErrorCode) : -1;
        ok = firstFailed === -1 ? chunk.length : firstFailed;
        if (ok < chunk.length) failure = Entries[ok]?.ErrorMessage ?? Entries[ok]?.ErrorCode;
      } catch (error) {
        failure = error;
      }
      accepted += ok;
      if (ok < chunk.length) {
        round += 1;
        if (round > (this.options.retryRounds ?? 3))
          throw new StatusEventsNotPublishedError(accepted, failure);
        await this.sleep(round * (this.options.baseDelayMs ?? 100));
      }
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

function nextChunk(entries: readonly PutEventsRequestEntry[], from: number): PutEventsRequestEntry[] {
  const chunk: PutEventsRequestEntry[] = [];
  let bytes = 0;
  for (let i = from; i < entries.length && chunk.length < PUT_EVENTS_MAX_ENTRIES; i += 1) {
    const entry = entries[i] as PutEventsRequestEntry;
    const size = entrySize(entry);
    if (chunk.length > 0 && bytes + size > PUT_EVENTS_MAX_BYTES) break;
    chunk.push(entry);
    bytes += size;
  }
  return chunk;
}
