import { PermanentError, TransientError } from '../errors';
import type { Actor, FromStatus } from './transitions';

/** A write the transition table does not allow; the record is left as it was. */
export class IllegalTransitionError extends PermanentError {
  constructor(
    readonly messageId: string,
    readonly from: FromStatus,
    readonly to: string,
    readonly by: Actor,
  ) {
    super(
      'ILLEGAL_TRANSITION',
      `message ${messageId}: the ${by} may not move a record from ${from ?? '(none)'} to ${to}`,
    );
    this.name = 'IllegalTransitionError';
  }
}

/**
 * The sender's lease is gone (it expired and another attempt claimed the message, or the record moved on).
 * Before the provider call this is retried by SQS (the other attempt owns the message); after it, the email was
 * sent and is recorded by whoever holds the record now.
 */
export class LeaseLostError extends TransientError {
  constructor(
    readonly messageId: string,
    readonly status: string | undefined,
  ) {
    super('LEASE_LOST', `message ${messageId}: the claim's lease was lost (record is ${status ?? 'gone'})`);
    this.name = 'LeaseLostError';
  }
}

/** The messages table failed; the caller retries (SQS redelivery or the ledger's in-place retry). */
export class LedgerUnavailableError extends TransientError {
  constructor(operation: string, cause: unknown) {
    super('MESSAGES_TABLE_UNAVAILABLE', `messages table: ${operation} failed`, { cause });
    this.name = 'LedgerUnavailableError';
  }
}

/**
 * The status-event bus kept refusing (or failing) PutEvents after its retries. `accepted` is the index of the first
 * event still refused (every event before it was published); the stream handler reports its record as the batch
 * item failure.
 */
export class StatusEventsNotPublishedError extends TransientError {
  constructor(
    readonly accepted: number,
    cause?: unknown,
  ) {
    super('STATUS_EVENTS_NOT_PUBLISHED', `status-event bus: ${accepted} events published, the rest refused`, {
      cause,
    });
    this.name = 'StatusEventsNotPublishedError';
  }
}
