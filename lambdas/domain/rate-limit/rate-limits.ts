import { PermanentError, ThrottledError } from '../errors';

/**
 * Sending limits of one relay or SES account. Every limit is optional: an absent limit is not enforced.
 * Message limits count SMTP transactions / SendEmail calls, recipient limits count envelope recipients
 * (Microsoft 365, for example, limits 30 messages a minute and 10,000 recipients a day; SES counts every
 * recipient of a SendEmail call against the account's maximum send rate).
 */
export interface RateLimits {
  readonly messagesPerSecond?: number;
  readonly messagesPerMinute?: number;
  readonly messagesPerDay?: number;
  readonly recipientsPerSecond?: number;
  readonly recipientsPerMinute?: number;
  readonly recipientsPerDay?: number;
}

/** Transactional mail (a password reset, a payment receipt) is scheduled before bulk mail (a bill run). */
export const PRIORITIES = ['transactional', 'bulk'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const PERIODS_MS = { second: 1_000, minute: 60_000, day: 86_400_000 } as const;
export type Period = keyof typeof PERIODS_MS;

/**
 * How far ahead a send may be scheduled, by priority: a granted send waits at most this long for its slot,
 * a send whose slot is further away is refused with the moment it would fit. Bulk mail books only a short
 * stretch ahead, so a payment receipt never queues behind more than that of a bill run (plus one interval);
 * a bulk send refused with its place at most `BULK_WAIT_IN_PLACE_MS` away waits for it in the sender and asks
 * again, so the short stretch costs neither throughput nor deferrals through the queue.
 */
export const HORIZON_MS: Readonly<Record<Priority, number>> = { transactional: 5_000, bulk: 250 };

/**
 * A bulk send refused for capacity waits in the sender and asks again when it is eligible this soon; later
 * than that it is deferred through the queue (whole seconds, a queue message and two record writes). Two
 * seconds covers a lane's batches in flight at 14/s (two senders of 10: 1.4 s of places), so a bill run drains
 * without deferrals at the rate SES gives a new production account.
 */
export const BULK_WAIT_IN_PLACE_MS = 2_000;

/**
 * When a bulk send waiting in place asks again: its eligible time rounded up to a whole multiple of the bulk
 * horizon. The emails of one batch are refused with places one interval apart (71 ms at 14/s); asking at each
 * of those moments would cost one governor write per email, while asking on a shared grid lets the coalescer
 * book every email whose place came within the horizon in one write. The wait is at most one horizon longer,
 * and a place that has come within the horizon stays bookable (it is only booked later, not lost).
 */
export function askAgainAt(eligibleAtMs: number): number {
  return Math.ceil(eligibleAtMs / HORIZON_MS.bulk) * HORIZON_MS.bulk;
}

/**
 * One limit as the generic cell rate algorithm (GCRA) sees it: a cell (one message, or one recipient) is due
 * every `intervalMs`, and up to `toleranceMs` early. The state is one number per rule, its theoretical arrival
 * time (TAT). Per-second and per-minute limits get no tolerance (strict spacing: never more than N in ANY
 * span of the period, not just in clock-aligned windows). A daily limit allows half of it as an immediate
 * burst and paces the rest, which also keeps every 24-hour span at or under N.
 */
export interface PaceRule {
  /** `<period>.<counts>`, e.g. `minute.messages`: the attribute of the rule's TAT in the stored state. */
  readonly id: string;
  readonly counts: 'messages' | 'recipients';
  readonly limit: number;
  readonly periodMs: number;
  readonly intervalMs: number;
  readonly toleranceMs: number;
}

const LIMIT_FIELDS: ReadonlyArray<{ period: Period; counts: PaceRule['counts']; field: keyof RateLimits }> = [
  { period: 'second', counts: 'messages', field: 'messagesPerSecond' },
  { period: 'second', counts: 'recipients', field: 'recipientsPerSecond' },
  { period: 'minute', counts: 'messages', field: 'messagesPerMinute' },
  { period: 'minute', counts: 'recipients', field: 'recipientsPerMinute' },
  { period: 'day', counts: 'messages', field: 'messagesPerDay' },
  { period: 'day', counts: 'recipients', field: 'recipientsPerDay' },
];

/**
 * A send reaches the provider a little after its slot (the SMTP transaction or the API call, the network), and not
 * always equally late: the first send over a new connection pays TCP, STARTTLS and AUTH first. Two sends booked
 * exactly a period apart can then land less than a period apart, one over the limit in the provider's rolling
 * window (the relay benchmark saw 31 in 60 s at 30 a minute, docs/benchmarks.md section 9). A per-minute limit is
 * therefore spaced over its period plus this allowance: at 30 a minute, sends go 2,067 ms apart (96.8 % of the
 * limit) and a send may land up to 2 s later than the one 30 sends before it. Per-second limits get none (SES is
 * paced at a share of its rate instead, `SesAccountQuota`); a daily limit's seconds of allowance would not show.
 */
export const LANDING_ALLOWANCE_MS: Readonly<Record<Period, number>> = { second: 0, minute: 2_000, day: 0 };

/**
 * The GCRA rules for a set of limits. With burst b (cells allowed at once) and interval I, any span of the
 * period T admits at most b + T/I cells, so I = T / (N - b + 1) keeps every span at or under N; a per-minute rule
 * uses T + {@link LANDING_ALLOWANCE_MS} so that it still holds where the sends land.
 */
export function paceRules(limits: RateLimits): PaceRule[] {
  const rules: PaceRule[] = [];
  for (const { period, counts, field } of LIMIT_FIELDS) {
    const limit = limits[field];
    if (limit === undefined) continue;
    if (!(limit > 0)) throw new RangeError(`${field} must be positive, got ${limit}`);
    const periodMs = PERIODS_MS[period];
    const burst = period === 'day' ? Math.max(1, Math.floor(limit / 2)) : 1;
    const allowanceMs = LANDING_ALLOWANCE_MS[period];
    const spacingMs = (periodMs + allowanceMs) / (limit - burst + 1);
    // Rounded up to whole milliseconds where there is an allowance, so that bookings added to a stored time keep
    // it exact (see `planBooking`).
    const intervalMs = allowanceMs > 0 ? Math.ceil(spacingMs) : spacingMs;
    rules.push({
      id: `${period}.${counts}`,
      counts,
      limit,
      periodMs,
      intervalMs,
      toleranceMs: (burst - 1) * intervalMs,
    });
  }
  return rules;
}

/** True when no limit applies, so the caller can skip the store entirely. */
export function hasAnyLimit(limits: RateLimits): boolean {
  return Object.values(limits).some((value) => value !== undefined);
}

/** One send asking for a slot: its message and recipient counts and its priority. */
export interface PaceCell {
  readonly messages: number;
  readonly recipients: number;
  readonly priority: Priority;
  /** The email was deferred for capacity before: it holds its place in the queue (see `schedule`). */
  readonly queued?: boolean;
}

/** Theoretical arrival time (epoch ms) per rule id, and the queue time per `<id>~`; absent = idle. */
export type PaceState = Readonly<Record<string, number>>;

/** A send's slot: go at `sendAtMs` (now or a little later), or come back at `eligibleAtMs` (nothing booked). */
export type Slot =
  | { readonly granted: true; readonly sendAtMs: number }
  | { readonly granted: false; readonly eligibleAtMs: number };

/** A request that can never fit, e.g. 60 recipients against a limit of 50 a minute: retrying cannot help. */
export class RateLimitUnsatisfiableError extends PermanentError {
  constructor(message: string) {
    super('RATE_LIMIT_UNSATISFIABLE', message);
    this.name = 'RateLimitUnsatisfiableError';
  }
}

/** Thrown by the caller when a slot is refused; carries when the message becomes eligible again. */
export class RateLimitedError extends ThrottledError {
  constructor(
    readonly key: string,
    retryAfterSeconds: number,
    readonly eligibleAt: string,
  ) {
    super(
      'RATE_LIMITED',
      `Rate limit reached for ${key}; eligible again at ${eligibleAt}`,
      retryAfterSeconds,
    );
    this.name = 'RateLimitedError';
  }
}

/** Refuses a cell that exceeds a limit on its own (relays refuse such a transaction whatever the pacing). */
export function assertSatisfiable(rules: readonly PaceRule[], cell: PaceCell): void {
  for (const rule of rules) {
    const amount = cell[rule.counts];
    if (amount > rule.limit) {
      const [period] = rule.id.split('.');
      throw new RateLimitUnsatisfiableError(
        `${amount} ${rule.counts} can never fit a limit of ${rule.limit} a ${period}`,
      );
    }
  }
}

/** Suffix of a rule's queue time in the stored state (see `schedule`). */
const QUEUE = '~';

/** The state attribute of a rule's queue time (see `schedule`). */
export const queueIdOf = (ruleId: string): string => `${ruleId}${QUEUE}`;

/**
 * Schedules `cells` (transactional first, then in the given order) against `state` at `nowMs`. Pure: the store
 * writes the returned state in one conditional write. A cell of cost n conforms to a rule at
 * t ≥ TAT + (n − 1)·I − τ; its send time is the latest such t over every rule (and now), and then each rule's
 * TAT becomes max(TAT, t) + n·I. Only booked sends move the TATs, so the limit holds whatever else happens.
 *
 * A cell whose send time is further than its priority's horizon is refused with the time it would fit. For a
 * backlog that comes back spread out and in order instead of all at once, the state also keeps a queue time per
 * rule (`<id>~`): a bulk email seen for the first time lines up behind it — refused, it takes the next place
 * and comes back when that place is near; a bulk email returning from such a deferral (`queued`) and every
 * transactional email book against the TATs alone, ahead of the queue; refused again with its slot out of
 * reach, bulk mail takes the next place behind the queue (see `goesBehindQueue`).
 * Returns the slots in the order of `cells`, and `due`: each cell's send time in its line, granted or not.
 */
export function schedule(
  state: PaceState,
  rules: readonly PaceRule[],
  cells: readonly PaceCell[],
  nowMs: number,
  horizons: Readonly<Record<Priority, number>> = HORIZON_MS,
): { state: PaceState; slots: Slot[]; due: number[] } {
  const booked: Record<string, number> = {};
  const queue: Record<string, number> = {};
  for (const [id, at] of Object.entries(state)) {
    if (id.endsWith(QUEUE)) queue[id.slice(0, -QUEUE.length)] = at;
    else booked[id] = at;
  }
  // Refused cells that do not join the queue still spread the ones behind them within this batch.
  const scratch: Record<string, number> = { ...booked };
  const slots: Slot[] = new Array(cells.length);
  const due: number[] = new Array(cells.length);
  const order = cells
    .map((cell, index) => ({ cell, index }))
    .sort((a, b) => PRIORITIES.indexOf(a.cell.priority) - PRIORITIES.indexOf(b.cell.priority));
  for (const { cell, index } of order) {
    const horizon = horizonFor(cell.priority, rules, horizons);
    const joinsQueue = cell.priority === 'bulk' && !cell.queued;
    const line = joinsQueue ? latest(queue, scratch) : scratch;
    const sendAt = conformanceTime(line, rules, cell, nowMs);
    due[index] = sendAt;
    if (sendAt - nowMs <= horizon) {
      const bookedAt = conformanceTime(booked, rules, cell, nowMs);
      advance(booked, rules, cell, bookedAt);
      advance(scratch, rules, cell, Math.max(sendAt, bookedAt));
      if (joinsQueue) advance(queue, rules, cell, Math.max(sendAt, bookedAt));
      slots[index] = { granted: true, sendAtMs: bookedAt };
    } else {
      // A refusal comes back a horizon before its place: a first one's in the queue, and so does a bulk email
      // refused again with its slot out of reach, behind the queue (see `goesBehindQueue`). Other mail refused
      // again comes back at its slot, ahead of the queue.
      const requeued = goesBehindQueue(cell, sendAt, nowMs);
      const place = requeued ? takeQueuePlace(queue, scratch, rules, cell, nowMs) : sendAt;
      advance(joinsQueue ? queue : scratch, rules, cell, sendAt);
      const eligibleAtMs = cell.queued && !requeued ? sendAt : place - horizon;
      slots[index] = { granted: false, eligibleAtMs };
    }
  }
  const next: Record<string, number> = { ...booked };
  for (const [id, at] of Object.entries(queue)) {
    if (at > nowMs && at > (booked[id] ?? 0)) next[queueIdOf(id)] = at;
  }
  return { state: next, slots, due };
}

/**
 * Whether a refused cell back from a deferral takes a place behind the queue: bulk mail whose slot is further
 * away than the sender waits in place (`BULK_WAIT_IN_PLACE_MS`), so others took the slots it came back for (it
 * came back late, or the schedule slipped). Put back at its slot instead, it would be deferred in whole seconds,
 * come back late again, claim a slot that later places were given for, take the place of the next email back,
 * which would take the next one's, and every email after the schedule first slipped would be deferred twice.
 * Behind the queue it takes a place no one else holds, and concurrent refusals get distinct places. A slot the
 * sender can wait for in place was its own (it came back early): it comes back at that slot.
 */
export function goesBehindQueue(cell: PaceCell, slotAtMs: number, nowMs: number): boolean {
  return cell.priority === 'bulk' && cell.queued === true && slotAtMs - nowMs > BULK_WAIT_IN_PLACE_MS;
}

/** The next place behind the queue (or where the line stands, with no queue ahead of it), taken. */
function takeQueuePlace(
  queue: Record<string, number>,
  scratch: Readonly<Record<string, number>>,
  rules: readonly PaceRule[],
  cell: PaceCell,
  nowMs: number,
): number {
  const place = conformanceTime(latest(queue, scratch), rules, cell, nowMs);
  advance(queue, rules, cell, place);
  return place;
}

function latest(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
): Record<string, number> {
  const merged: Record<string, number> = { ...b };
  for (const [id, at] of Object.entries(a)) merged[id] = Math.max(at, merged[id] ?? 0);
  return merged;
}

/**
 * How far ahead a cell of `priority` may be booked: its horizon, but at least one interval of a per-second or
 * per-minute limit (30 a minute spaces sends 2,067 ms apart; bulk mail must still be able to book the next one).
 */
export function horizonFor(
  priority: Priority,
  rules: readonly PaceRule[],
  horizons: Readonly<Record<Priority, number>> = HORIZON_MS,
): number {
  const spacing = rules.filter((rule) => rule.periodMs <= PERIODS_MS.minute).map((rule) => rule.intervalMs);
  return Math.max(horizons[priority], ...spacing);
}

function conformanceTime(
  tats: Readonly<Record<string, number>>,
  rules: readonly PaceRule[],
  cell: PaceCell,
  nowMs: number,
): number {
  let at = nowMs;
  for (const rule of rules) {
    const amount = cell[rule.counts];
    if (amount === 0) continue;
    const tat = tats[rule.id] ?? 0;
    at = Math.max(at, tat + (amount - 1) * rule.intervalMs - rule.toleranceMs);
  }
  return Math.ceil(at);
}

function advance(tats: Record<string, number>, rules: readonly PaceRule[], cell: PaceCell, at: number): void {
  for (const rule of rules) {
    const amount = cell[rule.counts];
    if (amount === 0) continue;
    tats[rule.id] = Math.max(tats[rule.id] ?? 0, at) + amount * rule.intervalMs;
  }
}

/** Whole seconds (at least 1) from `nowMs` until `eligibleAtMs`, and the ISO time, for a deferral. */
export function deferralOf(
  eligibleAtMs: number,
  nowMs: number,
): { retryAfterSeconds: number; eligibleAt: string } {
  const retryAfterSeconds = Math.max(1, Math.ceil((eligibleAtMs - nowMs) / 1_000));
  return { retryAfterSeconds, eligibleAt: new Date(nowMs + retryAfterSeconds * 1_000).toISOString() };
}

/** What a sender asks the governor for before one send. */
export interface ReservationRequest {
  /** Whose capacity this is, e.g. `smtp#<tenantId>#<environment>` or `ses`. */
  readonly key: string;
  readonly limits: RateLimits;
  readonly messages: number;
  readonly recipients: number;
  readonly priority: Priority;
  /** Returning from a deferral for capacity: books ahead of first-time bulk mail. */
  readonly queued?: boolean;
}

/**
 * The governor's answer: send at `sendAt` (the caller waits until then; usually now), or come back at
 * `eligibleAtMs`: the caller waits for it in place (bulk, see `BULK_WAIT_IN_PLACE_MS`) or defers the message
 * with `retryAfterSeconds` (the same moment in whole seconds, at least 1); nothing is dropped.
 */
export type Reservation =
  | { readonly granted: true; readonly sendAtMs: number }
  | {
      readonly granted: false;
      readonly eligibleAtMs: number;
      readonly retryAfterSeconds: number;
      readonly eligibleAt: string;
    };

/** The port every sender talks to; the DynamoDB adapter shares its state across all concurrent Lambdas. */
export interface RateGovernor {
  reserve(request: ReservationRequest): Promise<Reservation>;
}
