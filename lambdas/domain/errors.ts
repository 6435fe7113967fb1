/**
 * The three ways a unit of work can fail. Every domain error extends one of them, and one place
 * (the sender's outcome mapping) turns them into a message status and an SQS outcome:
 * - `PermanentError`: retrying cannot help; the message is REJECTED with `reason` and not retried.
 * - `TransientError`: may succeed later; the SQS record is returned as a batch item failure (retry, then DLQ).
 * - `ThrottledError`: capacity is exhausted; the message is DEFERRED until `retryAfterSeconds` and never dropped.
 */
export abstract class DomainError extends Error {
  abstract readonly kind: 'permanent' | 'transient' | 'throttled';
  /** Short machine-readable code recorded with the message, e.g. `UNVERIFIED_FROM`. */
  abstract readonly code: string;
}

export class PermanentError extends DomainError {
  readonly kind = 'permanent' as const;
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

export class TransientError extends DomainError {
  readonly kind = 'transient' as const;
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TransientError';
  }
}

export class ThrottledError extends DomainError {
  readonly kind = 'throttled' as const;
  constructor(
    readonly code: string,
    message: string,
    readonly retryAfterSeconds: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ThrottledError';
  }
}
