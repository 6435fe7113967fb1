import type { Correlation, FeedbackEvent } from '../feedback/feedback-event';
import type { Environment } from '../scope';
import type { MessageRecord } from './message-record';
import type { MessageStatus } from './message-status';

export interface ClaimInput {
  readonly messageId: string;
  readonly tenantId: string;
  readonly environment: Environment;
  readonly category: 'transactional' | 'bulk';
  readonly recipients: readonly string[];
  readonly subject: string;
  readonly eventId?: string;
  readonly definitionId?: string;
}

/** A claim's proof of ownership: every later write of that attempt is conditional on the token. */
export interface Lease {
  readonly token: string;
  /** Epoch milliseconds. */
  readonly until: number;
}

export type ClaimResult =
  | {
      readonly claimed: true;
      readonly attempt: number;
      readonly lease: Lease;
      /** The status the claim moved from (`null`: the record was created by this claim). */
      readonly previous: MessageStatus | null;
      /** Whether the send-lane body is already kept beside the record. */
      readonly requestKept: boolean;
    }
  | { readonly claimed: false; readonly status: MessageStatus };

export interface OutcomeDetail {
  readonly code: string;
  readonly reason: string;
  /** When a DEFERRED message is tried again (ISO time). */
  readonly eligibleAt?: string;
  /** The send-lane body was just kept beside the record (`keepRequest`): later claims need not keep it again. */
  readonly requestKept?: boolean;
  /** The record's tenant: required for PAUSED, whose held records are found by tenant on resume. */
  readonly tenantId?: string;
}

export interface SentDetail {
  readonly method: NonNullable<MessageRecord['method']>;
  readonly from: string;
  readonly providerMessageId: string;
  readonly dkim?: MessageRecord['dkim'];
  readonly suppressedRecipients?: readonly string[];
  readonly rejectedRecipients?: MessageRecord['rejectedRecipients'];
}

/** A message record the dispatcher creates per email job (QUEUED) or per rejected job (REJECTED). */
export interface JobRecord {
  readonly messageId: string;
  /**
   * The job's idempotency key, which the message id is derived from. Not stored on the record (the kept request
   * carries it): each stored byte is billed again by every later write of the record.
   */
  readonly jobId: string;
  readonly tenantId: string;
  readonly environment: Environment;
  readonly category: 'transactional' | 'bulk';
  /** The event and definition of an event's job; absent for a composed email. */
  readonly eventId?: string;
  readonly eventType?: string;
  readonly definitionId?: string;
  readonly status: Extract<MessageStatus, 'QUEUED' | 'REJECTED'>;
  readonly recipients: readonly string[];
  readonly subject?: string;
  readonly itemKey?: string;
  readonly reasonCode?: string;
  readonly reason?: string;
  /** The send-lane body of a QUEUED job, kept beside the record for the sweeper. */
  readonly request?: string;
}

/** What a conditional create found: a new record, or the one an earlier delivery (or the sender) left. */
export type JobRecordResult =
  | { readonly created: true }
  | { readonly created: false; readonly status: MessageStatus };

/** What applying a feedback event to a record did. */
export type TimelineOutcome =
  | {
      readonly result: 'applied';
      readonly messageId: string;
      readonly tenantId: string;
      readonly status: MessageStatus;
    }
  | {
      readonly result: 'duplicate';
      readonly messageId: string;
      readonly tenantId: string;
      readonly status: MessageStatus;
    }
  /** The record exists but the provider never had the email (REJECTED or SUPPRESSED by the sender). */
  | {
      readonly result: 'ignored';
      readonly messageId: string;
      readonly tenantId: string;
      readonly status: MessageStatus;
    }
  | { readonly result: 'not-found' };

/** A record the sweeper found past its deadline (from the sparse `byPending` index). */
export interface StuckRecord {
  readonly messageId: string;
  readonly tenantId: string;
  readonly status: MessageStatus;
  readonly category: 'transactional' | 'bulk';
  readonly sweepAt: string;
  /** Set when the provider accepted but the sender could not record SENT. */
  readonly providerMessageId?: string;
  /**
   * When the record's own deadline (a SENDING record's lease, a DEFERRED record's eligibility) plus the grace
   * period passes, if that is later than `sweepAt`: until then the record is not stuck, only looked at early
   * (the claim does not move `sweepAt`, so that it costs no index write).
   */
  readonly notBefore?: Date;
}

/** A place in the sweeper's walk of the `byPending` index: an entry's deadline and its record. */
export interface SweepPosition {
  readonly sweepAt: string;
  readonly messageId: string;
}

/**
 * What one look at the `byPending` index past the sweeper's cursor found. Entries stay in the index after their
 * record leaves the pending statuses (removing them would cost an index write per email), so the walk reads each
 * entry once and the cursor moves past what the run finished.
 */
export interface StuckScan {
  /** Records still pending past their deadline, in index order, at most the limit asked. */
  readonly records: readonly StuckRecord[];
  /** Entries read whose record is no longer pending at that place (sent, final, or moved on): nothing to do. */
  readonly passed: number;
  /**
   * Per shard, every entry this scan covers, in index order: the records above and the entries passed. The
   * cursor may move past a prefix of them (`advanceSweep`), up to the first record the run could not finish.
   */
  readonly walked: ReadonlyMap<string, readonly SweepPosition[]>;
  /** The cursor's version when read: `advanceSweep` writes only if no other run moved the cursor since. */
  readonly cursorVersion: number;
  /** Every shard's walk reached the end of its range (no page cut short by the entry or record limit). */
  readonly caughtUp: boolean;
}

export interface HeldMessage {
  readonly messageId: string;
  readonly category: 'transactional' | 'bulk';
  readonly request?: string;
}

/**
 * The messages table: the one port through which every writer (sender, dispatcher, feedback, release, sweeper)
 * and reader (CLI, viewer) goes. Every status change is a conditional write whose condition comes from
 * `TRANSITIONS`; the sender's writes also need its lease token.
 */
export interface MessageLedger {
  // Sender
  /** Claims the message (SENDING under a new lease), or says which status stops it. */
  claim(input: ClaimInput): Promise<ClaimResult>;
  /** A pre-send outcome: REJECTED, SUPPRESSED, PAUSED, DEFERRED, QUEUED (retry) or DEAD_LETTERED. */
  settle(messageId: string, lease: Lease, status: MessageStatus, detail: OutcomeDetail): Promise<void>;
  /**
   * Records the provider's acceptance: SENT, or — when feedback got there first — the sender's details only
   * (`merged`). @throws LeaseLostError when another attempt holds the record.
   */
  recordSent(messageId: string, lease: Lease, detail: SentDetail): Promise<'recorded' | 'merged'>;
  /** Last resort after `recordSent` kept failing: notes the provider id so the sweeper completes the record. */
  recordAccepted(messageId: string, lease: Lease, providerMessageId: string): Promise<void>;
  /** Records a queue message that cannot even be parsed, under an id derived from its body. */
  recordInvalid(
    messageId: string,
    detail: OutcomeDetail & { readonly tenantId?: string; readonly body: string },
  ): Promise<void>;
  /** Keeps a send-lane body beside its record (for release and sweep); idempotent. */
  keepRequest(messageId: string, body: string): Promise<void>;

  // Dispatcher
  createJobRecords(records: readonly JobRecord[]): Promise<JobRecordResult[]>;
  /** Whether `markPublished` ran for this batch of jobs (`publishedBatchKey`): their lane messages reached SQS. */
  wasPublished(batchKey: string): Promise<boolean>;
  /** Notes that every lane message of a batch of jobs reached SQS (one item per batch, expiring with records). */
  markPublished(batchKey: string): Promise<void>;

  // Feedback
  /** Applies an SES event to its record, whatever the record's status; order-independent and idempotent. */
  applyFeedback(correlation: Correlation, event: FeedbackEvent): Promise<TimelineOutcome>;
  /**
   * Keeps the provider's event (raw JSON, as published) that decided a failure status beside the record
   * (`<messageId>#event`), for `message show`; the latest one wins. Idempotent.
   */
  keepFeedbackEvent(messageId: string, raw: string): Promise<void>;

  // Release
  held(tenantId: string): AsyncIterable<HeldMessage>;
  /** PAUSED → QUEUED; false when the sender (or another release) got there first. */
  markReleased(messageId: string): Promise<boolean>;

  // Sweeper
  /**
   * The pending records past their deadline among the next `entries` entries past the sweeper's cursor (at
   * most `limit` records), without moving the cursor.
   */
  stuck(now: Date, limit: number, entries: number): Promise<StuckScan>;
  /**
   * Moves the sweeper's cursor of each shard in `to` to that position (everything up to it is finished).
   * False, and nothing written, when another run moved the cursor since `scan` read it.
   */
  advanceSweep(scan: StuckScan, to: ReadonlyMap<string, SweepPosition>): Promise<boolean>;
  /** Re-enqueued by the sweeper: QUEUED again with a new deadline; false when the record moved meanwhile. */
  markRequeued(record: StuckRecord, detail: string): Promise<boolean>;
  /** Not re-enqueued (its lane still holds messages): only the deadline moves. */
  postpone(record: StuckRecord, until: Date): Promise<boolean>;
  /** SENDING with a provider id → SENT. */
  completeAccepted(record: StuckRecord): Promise<boolean>;
  /** Stuck with nothing to send again → DEAD_LETTERED with the reason. */
  markUnrecoverable(record: StuckRecord, reason: string): Promise<boolean>;

  // Reads
  get(messageId: string): Promise<MessageRecord | undefined>;
  request(messageId: string): Promise<string | undefined>;
  /** The provider event kept by `keepFeedbackEvent`, if any. */
  feedbackEvent(messageId: string): Promise<string | undefined>;
}
