import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type BookingPlan, planBooking, slotsAfterShift } from '../domain/rate-limit/booking-plan';
import {
  deferralOf,
  HORIZON_MS,
  type PaceCell,
  type PaceState,
  type Priority,
  paceRules,
  queueIdOf,
  type RateGovernor,
  type RateLimits,
  type Reservation,
  type ReservationRequest,
  type Slot,
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
   * conditional write (the records of one SQS batch are prepared concurrently); those that arrive while that
   * write is under way go together in the next. 0 closes a window with the current turn of the event loop.
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
  /** How far ahead each priority may book (see `HORIZON_MS`). @default HORIZON_MS */
  readonly horizons?: Readonly<Record<Priority, number>>;
}

interface Known {
  /** 0 = no item yet. */
  readonly version: number;
  readonly tats: PaceState;
}

/**
 * Rate governor shared by every concurrent sender: GCRA pacing (see `schedule`) with its state in the counters
 * table, one item per key: `pk = RATE#<key>`, `sk = gcra`, a version number `v` (raised by every write), the
 * theoretical arrival time of each limit in the map `tats`, and `expiresAt` for TTL. A reservation is one
 * `UpdateItem` for every request of the batch at once (see `planBooking`): on an idle limit it is conditioned on
 * the limit being idle, on a backlogged single limit it adds the batch's length to the arrival time (concurrent
 * senders' additions do not conflict), otherwise it is a compare-and-swap on the version this container last
 * saw. A refusal without a queue place writes nothing. Within a container, one batch per key is written at a
 * time and the next starts from the state the last write returned. Senders therefore go at the limit's pace
 * instead of learning it from refusals, and no read-then-write race can overshoot it. Capacity booked for a send
 * that then fails is not given back, which errs on the side of staying under the provider's limit.
 */
export class DynamoRateGovernor implements RateGovernor {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly clock: Clock;
  private readonly conflictRetries: number;
  private readonly horizons: Readonly<Record<Priority, number>>;
  private readonly known = new Map<string, Known>();
  private readonly batches: Coalescer<ReservationRequest, Reservation>;

  constructor(options: DynamoRateGovernorOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.clock = options.clock ?? systemClock;
    this.conflictRetries = options.conflictRetries ?? 6;
    this.horizons = options.horizons ?? HORIZON_MS;
    this.batches = new Coalescer((_, requests) => this.book(requests), options.coalesceMs ?? 10, {
      serial: true,
    });
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
      const plan = planBooking(known.tats, rules, cells, nowMs, this.horizons);
      const answer = (slots: readonly Slot[]) => slots.map((slot) => toReservation(slot, nowMs));
      if (plan.kind === 'unchanged') return answer(plan.slots);
      const written = await this.write(key, known, plan);
      this.known.set(key, written.state);
      if (written.ok) {
        return answer(
          plan.kind === 'shift'
            ? slotsAfterShift(plan, written.state.tats, rules, cells, nowMs, this.horizons)
            : plan.slots,
        );
      }
      if (attempt >= this.conflictRetries) {
        return answer(cells.map(() => ({ granted: false, eligibleAtMs: nowMs + 1_000 })));
      }
    }
  }

  /** Writes the plan under its condition; returns the stored state after it, or (condition failed) before it. */
  private async write(key: string, known: Known, plan: WrittenPlan): Promise<{ ok: boolean; state: Known }> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: `RATE#${key}` }, sk: { S: 'gcra' } },
          ...bookingUpdate(known, plan),
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true, state: storedState(Attributes) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { ok: false, state: storedState(error.Item) };
    }
  }
}

type WrittenPlan = Exclude<BookingPlan, { kind: 'unchanged' }>;

/** The update and condition expressions of a plan (see `BookingPlan`); every write raises the version. */
function bookingUpdate(known: Known, plan: WrittenPlan) {
  const names: Record<string, string> = { '#v': 'v', '#tats': 'tats', '#expiresAt': 'expiresAt' };
  const values: Record<string, AttributeValue> = { ':one': { N: '1' } };
  const conditions: string[] = [];
  if (plan.kind === 'shift') {
    names['#r'] = plan.ruleId;
    names['#q'] = queueIdOf(plan.ruleId);
    const sets: string[] = [];
    if (plan.arrival) {
      if (plan.arrival.delta !== 0) {
        sets.push('#tats.#r = #tats.#r + :arrivalDelta');
        values[':arrivalDelta'] = { N: String(plan.arrival.delta) };
      }
      values[':from'] = { N: String(plan.arrival.from) };
      if (Number.isFinite(plan.arrival.to)) {
        values[':to'] = { N: String(plan.arrival.to) };
        conditions.push('#tats.#r BETWEEN :from AND :to');
      } else {
        conditions.push('#tats.#r >= :from');
      }
    }
    if (plan.queue && 'offset' in plan.queue) {
      // Every operand of an update reads the item as it was: the arrival time this batch found.
      sets.push('#tats.#q = #tats.#r + :queueOffset');
      values[':queueOffset'] = { N: String(plan.queue.offset) };
    } else if (plan.queue) {
      sets.push('#tats.#q = #tats.#q + :queueDelta');
      values[':queueDelta'] = { N: String(plan.queue.delta) };
      values[':queueFrom'] = { N: String(plan.queue.from) };
      conditions.push('#tats.#q >= :queueFrom');
    }
    if (plan.queueVsArrival === 'behind') {
      conditions.push('(attribute_not_exists(#tats.#q) OR #tats.#q <= #tats.#r)');
    } else if (plan.queueVsArrival === 'ahead') {
      conditions.push('#tats.#q >= #tats.#r');
    } else if (!plan.queue) {
      delete names['#q'];
    }
    // The stored times are at least what this container saw; TTL keeps a day's margin past them.
    const queueMoved = plan.queue ? ('offset' in plan.queue ? plan.queue.offset : plan.queue.delta) : 0;
    const moved = Math.max(plan.arrival?.delta ?? 0, queueMoved);
    values[':expiresAt'] = { N: String(expiryOf(Math.max(0, ...Object.values(known.tats)) + moved)) };
    return {
      UpdateExpression: `SET ${[...sets, '#expiresAt = :expiresAt'].join(', ')} ADD #v :one`,
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }
  const tatMap: Record<string, AttributeValue> = {};
  for (const [id, tat] of Object.entries(plan.state)) tatMap[id] = { N: String(Math.ceil(tat)) };
  values[':tats'] = { M: tatMap };
  values[':expiresAt'] = { N: String(expiryOf(Math.max(0, ...Object.values(plan.state)))) };
  if (plan.kind === 'reset') {
    for (const [index, [ruleId, floor]] of Object.entries(plan.floors).entries()) {
      names[`#r${index}`] = ruleId;
      names[`#q${index}`] = queueIdOf(ruleId);
      values[`:floor${index}`] = { N: String(floor) };
      for (const name of [`#r${index}`, `#q${index}`]) {
        conditions.push(`(attribute_not_exists(#tats.${name}) OR #tats.${name} <= :floor${index})`);
      }
    }
  } else if (known.version === 0) {
    conditions.push('attribute_not_exists(#v)');
  } else {
    conditions.push('#v = :seen');
    values[':seen'] = { N: String(known.version) };
  }
  return {
    UpdateExpression: 'SET #tats = :tats, #expiresAt = :expiresAt ADD #v :one',
    ConditionExpression: conditions.join(' AND '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

function expiryOf(latestMs: number): number {
  return Math.ceil(latestMs / 1_000) + PACE_TTL_MARGIN_SECONDS;
}

function storedState(item: Record<string, AttributeValue> | undefined): Known {
  if (!item) return { version: 0, tats: {} };
  const tats: Record<string, number> = {};
  for (const [id, value] of Object.entries(item.tats?.M ?? {})) tats[id] = Number(value.N);
  return { version: Number(item.v?.N ?? 0), tats };
}

function toReservation(slot: Slot | undefined, nowMs: number): Reservation {
  if (slot?.granted) return { granted: true, sendAtMs: slot.sendAtMs };
  const eligibleAtMs = slot?.eligibleAtMs ?? nowMs + 1_000;
  return { granted: false, eligibleAtMs, ...deferralOf(eligibleAtMs, nowMs) };
}

function limitsSignature(limits: RateLimits): string {
  return Object.entries(limits)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${value}`)
    .join(',');
}
