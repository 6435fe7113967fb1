import { PermanentError, ThrottledError } from '../errors';

/**
 * Sending limits of one relay or SES account. Every limit is optional: an absent limit is not enforced.
 * Message limits count SMTP transactions / SendEmail calls, recipient limits count envelope recipients
 * (Microsoft 365, for example, limits 30 messages a minute and 10,000 recipients a day).
 */
export interface RateLimits {
  readonly messagesPerSecond?: number;
  readonly messagesPerMinute?: number;
  readonly messagesPerDay?: number;
  readonly recipientsPerSecond?: number;
  readonly recipientsPerMinute?: number;
  readonly recipientsPerDay?: number;
}

/** Transactional mail (a password reset, a payment receipt) takes capacity before bulk mail (a bill run). */
export const PRIORITIES = ['transactional', 'bulk'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** Fixed windows the governor counts in, aligned to the Unix epoch (so a day window is a UTC day). */
export const WINDOW_UNITS = { second: 1_000, minute: 60_000, day: 86_400_000 } as const;
export type WindowUnit = keyof typeof WINDOW_UNITS;

/**
 * Share of each limit that bulk mail may use, so that transactional mail always finds the rest free.
 * Default 0.8: with Microsoft 365's 30 messages a minute, a bill run uses at most 24 and leaves 6 for receipts.
 */
export const DEFAULT_BULK_SHARE = 0.8;

/** Seconds a counter item outlives its window before DynamoDB TTL may delete it. */
export const COUNTER_TTL_MARGIN_SECONDS = 3_600;

/** What a sender asks the governor for before one send. */
export interface ReservationRequest {
  /** Whose capacity this is, e.g. `smtp#<tenantId>#<environment>` or `ses#<scope>`. */
  readonly key: string;
  readonly limits: RateLimits;
  /** Messages (SMTP transactions) this send uses; 1 unless the caller batches. */
  readonly messages: number;
  /** Envelope recipients of this send. */
  readonly recipients: number;
  readonly priority: Priority;
}

/** The governor's answer: go ahead, or come back at `eligibleAt` (the caller defers the message; nothing is dropped). */
export type Reservation =
  | { readonly granted: true }
  | {
      readonly granted: false;
      /** Whole seconds until every full window has rolled over (at least 1). */
      readonly retryAfterSeconds: number;
      /** ISO 8601 time from which the reservation can succeed, shown with the DEFERRED status. */
      readonly eligibleAt: string;
    };

/** The port every sender talks to; the DynamoDB adapter shares it across all concurrent Lambdas. */
export interface RateGovernor {
  reserve(request: ReservationRequest): Promise<Reservation>;
}

/** One counted quantity within a window: add `amount` only while the count stays at or below `ceiling`. */
export interface CounterCheck {
  readonly amount: number;
  /** Highest count allowed after adding `amount` for this request's priority. */
  readonly ceiling: number;
}

/** One fixed window a reservation must fit in; one counter item holds both its message and recipient counts. */
export interface WindowPlan {
  readonly unit: WindowUnit;
  readonly windowStart: number;
  readonly windowEnd: number;
  /** Sort key of the counter item, e.g. `minute#1767225600000`. */
  readonly sk: string;
  readonly messages?: CounterCheck;
  readonly recipients?: CounterCheck;
  /** Epoch seconds for the counters table's TTL attribute. */
  readonly expiresAt: number;
}

/** A request that can never fit, e.g. 60 recipients against a limit of 50 a minute: retrying cannot help. */
export class RateLimitUnsatisfiableError extends PermanentError {
  constructor(message: string) {
    super('RATE_LIMIT_UNSATISFIABLE', message);
    this.name = 'RateLimitUnsatisfiableError';
  }
}

/** Thrown by the caller when a reservation is refused; carries when the message becomes eligible again. */
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

const LIMIT_FIELDS: ReadonlyArray<{
  unit: WindowUnit;
  messages: keyof RateLimits;
  recipients: keyof RateLimits;
}> = [
  { unit: 'second', messages: 'messagesPerSecond', recipients: 'recipientsPerSecond' },
  { unit: 'minute', messages: 'messagesPerMinute', recipients: 'recipientsPerMinute' },
  { unit: 'day', messages: 'messagesPerDay', recipients: 'recipientsPerDay' },
];

/**
 * The ceiling a request of `priority` may fill a window to. Transactional mail may use the whole limit; bulk mail
 * only `bulkShare` of it, but never less than one request's worth, so a bill run is slowed and never starved.
 */
export function ceilingFor(limit: number, amount: number, priority: Priority, bulkShare: number): number {
  if (priority === 'transactional') return limit;
  return Math.min(limit, Math.max(Math.floor(limit * bulkShare), amount));
}

function check(
  limit: number | undefined,
  amount: number,
  priority: Priority,
  bulkShare: number,
  label: string,
): CounterCheck | undefined {
  if (limit === undefined || amount === 0) return undefined;
  if (amount > limit) {
    throw new RateLimitUnsatisfiableError(`${amount} ${label} can never fit a limit of ${limit}`);
  }
  return { amount, ceiling: ceilingFor(limit, amount, priority, bulkShare) };
}

/**
 * Turns limits and a request into the windows the request must fit in at `nowMs`. Pure: the store applies the
 * plan atomically. Throws `RateLimitUnsatisfiableError` when the request exceeds a limit on its own.
 */
export function planReservation(
  request: ReservationRequest,
  nowMs: number,
  bulkShare: number = DEFAULT_BULK_SHARE,
): WindowPlan[] {
  if (!(bulkShare > 0 && bulkShare <= 1))
    throw new RangeError(`bulkShare must be in (0, 1], got ${bulkShare}`);
  const plans: WindowPlan[] = [];
  for (const field of LIMIT_FIELDS) {
    const size = WINDOW_UNITS[field.unit];
    const messages = check(
      request.limits[field.messages],
      request.messages,
      request.priority,
      bulkShare,
      `messages a ${field.unit}`,
    );
    const recipients = check(
      request.limits[field.recipients],
      request.recipients,
      request.priority,
      bulkShare,
      `recipients a ${field.unit}`,
    );
    if (!messages && !recipients) continue;
    const windowStart = Math.floor(nowMs / size) * size;
    const windowEnd = windowStart + size;
    plans.push({
      unit: field.unit,
      windowStart,
      windowEnd,
      sk: `${field.unit}#${windowStart}`,
      ...(messages ? { messages } : {}),
      ...(recipients ? { recipients } : {}),
      expiresAt: Math.ceil(windowEnd / 1000) + COUNTER_TTL_MARGIN_SECONDS,
    });
  }
  return plans;
}

/**
 * The refusal for a reservation whose `fullWindows` had no room: eligible once the last of them has ended
 * (the others may still be full until then), at least one second from now.
 */
export function refusal(fullWindows: readonly Pick<WindowPlan, 'windowEnd'>[], nowMs: number): Reservation {
  const eligibleAtMs = Math.max(nowMs + 1_000, ...fullWindows.map((window) => window.windowEnd));
  const retryAfterSeconds = Math.max(1, Math.ceil((eligibleAtMs - nowMs) / 1_000));
  return {
    granted: false,
    retryAfterSeconds,
    eligibleAt: new Date(nowMs + retryAfterSeconds * 1_000).toISOString(),
  };
}

/** True when no limit applies, so the caller can skip the store entirely. */
export function hasAnyLimit(limits: RateLimits): boolean {
  return Object.values(limits).some((value) => value !== undefined);
}
