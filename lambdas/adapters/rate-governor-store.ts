import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  deferralOf,
  type PaceCell,
  type PaceState,
  paceRules,
  type RateGovernor,
  type RateLimits,
  type Reservation,
  type ReservationRequest,
  type Slot,
  schedule,
} from '../domain/rate-limit/rate-limits';
import { Coalescer } from '../shared/coalescer';

/** Source of the current time; injected so tests can move through minutes and days without waiting. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Seconds a pacing item outlives its last scheduled send before DynamoDB TTL may delete it. */
export const PACE_TTL_MARGIN_SECONDS = 86_400;

export interface DynamoRateGovernorOptions {
  readonly client: DynamoDBClient;
  /** The counters table (TABLES.counters: `pk`, `sk`, TTL on `expiresAt`). */
  readonly tableName: string;
  /** @default systemClock */
  readonly clock?: Clock;
  /**
   * Reservations for the same key that arrive within this many milliseconds are scheduled together in one
   * conditional write (the records of one SQS batch are prepared concurrently). 0 writes each on its own.
   * @default 10
   */
  readonly coalesceMs?: number;
  /**
   * Times a write is retried when another sender changed the key's state since this container last saw it
   * (the failed condition returns the current state, so a retry costs no read). After that the requests are
   * told to come back in a second.
   * @default 6
   */
  readonly conflictRetries?: number;
}

interface Known {
  /** 0 = no item yet. */
  readonly version: number;
  readonly tats: PaceState;
}

/**
 * Rate governor shared by every concurrent sender: GCRA pacing (see `schedule`) with its state in the counters
 * table, one item per key: `pk = RATE#<key>`, `sk = gcra`, a version number `v`, the theoretical arrival time of
 * each limit in the map `tats`, and `expiresAt` for TTL. A reservation is one `UpdateItem` conditioned on the
 * version this container last saw (compare-and-swap), made for every request of the batch at once; a refusal
 * writes nothing. Senders therefore go at the limit's pace instead of learning it from refusals, and no
 * read-then-write race can overshoot it. Capacity booked for a send that then fails is not given back, which
 * errs on the side of staying under the provider's limit.
 */
export class DynamoRateGovernor implements RateGovernor {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly clock: Clock;
  private readonly conflictRetries: number;
  private readonly known = new Map<string, Known>();
  private readonly batches: Coalescer<ReservationRequest, Reservation>;

  constructor(options: DynamoRateGovernorOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.clock = options.clock ?? systemClock;
    this.conflictRetries = options.conflictRetries ?? 6;
    this.batches = new Coalescer((_, requests) => this.book(requests), options.coalesceMs ?? 10);
  }

  reserve(request: ReservationRequest): Promise<Reservation> {
    const rules = paceRules(request.limits);
    if (rules.length === 0) return Promise.resolve({ granted: true, sendAtMs: this.clock.now() });
    return this.batches.add(`${request.key}\n${limitsSignature(request.limits)}`, request);
  }

  /** Schedules one window's requests for the same key and limits in a single conditional write. */
  private async book(batch: readonly ReservationRequest[]): Promise<Reservation[]> {
    const [first] = batch;
    if (!first) return [];
    const { key, limits } = first;
    const rules = paceRules(limits);
    const cells: PaceCell[] = batch.map((request) => ({
      messages: request.messages,
      recipients: request.recipients,
      priority: request.priority,
      ...(request.queued ? { queued: true } : {}),
    }));
    for (let attempt = 0; ; attempt++) {
      const known = this.known.get(key) ?? { version: 0, tats: {} };
      const nowMs = this.clock.now();
      const planned = schedule(known.tats, rules, cells, nowMs);
      const answer = (slots: readonly Slot[]) => slots.map((slot) => toReservation(slot, nowMs));
      if (sameState(known.tats, planned.state)) return answer(planned.slots);
      const current = await this.swap(key, known, planned.state);
      if (current === 'written') return answer(planned.slots);
      this.known.set(key, current);
      if (attempt >= this.conflictRetries) {
        return answer(cells.map(() => ({ granted: false, eligibleAtMs: nowMs + 1_000 })));
      }
    }
  }

  /** Writes `tats` if the item is still at `known.version`; otherwise returns what is stored now. */
  private async swap(key: string, known: Known, tats: PaceState): Promise<'written' | Known> {
    const version = known.version + 1;
    const latest = Math.max(0, ...Object.values(tats));
    const tatMap: Record<string, AttributeValue> = {};
    for (const [id, tat] of Object.entries(tats)) tatMap[id] = { N: String(Math.ceil(tat)) };
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: `RATE#${key}` }, sk: { S: 'gcra' } },
          UpdateExpression: 'SET #v = :v, #tats = :tats, #expiresAt = :expiresAt',
          ConditionExpression: known.version === 0 ? 'attribute_not_exists(#v)' : '#v = :seen',
          ExpressionAttributeNames: { '#v': 'v', '#tats': 'tats', '#expiresAt': 'expiresAt' },
          ExpressionAttributeValues: {
            ':v': { N: String(version) },
            ':tats': { M: tatMap },
            ':expiresAt': { N: String(Math.ceil(latest / 1_000) + PACE_TTL_MARGIN_SECONDS) },
            ...(known.version === 0 ? {} : { ':seen': { N: String(known.version) } }),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      this.known.set(key, { version, tats });
      return 'written';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return storedState(error.Item);
    }
  }
}

function storedState(item: Record<string, AttributeValue> | undefined): Known {
  if (!item) return { version: 0, tats: {} };
  const tats: Record<string, number> = {};
  for (const [id, value] of Object.entries(item.tats?.M ?? {})) tats[id] = Number(value.N);
  return { version: Number(item.v?.N ?? 0), tats };
}

function toReservation(slot: Slot | undefined, nowMs: number): Reservation {
  if (slot?.granted) return { granted: true, sendAtMs: slot.sendAtMs };
  return { granted: false, ...deferralOf(slot?.eligibleAtMs ?? nowMs + 1_000, nowMs) };
}

function limitsSignature(limits: RateLimits): string {
  return Object.entries(limits)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${value}`)
    .join(',');
}

function sameState(a: PaceState, b: PaceState): boolean {
  const keys = Object.keys(b);
  return keys.length === Object.keys(a).length && keys.every((key) => a[key] === b[key]);
}
