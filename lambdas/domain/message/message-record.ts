import type { Environment, SendingMethod } from '../scope';
import type { DkimFacts, RejectedRecipient } from '../sending/ports';
import type { MessageStatus } from './message-status';

/** One line of a record's status timeline, as an operator reads it. */
export interface TimelineLine {
  readonly status?: MessageStatus;
  readonly at: string;
  readonly detail?: string;
  /** Feedback lines: the SES event type and the recipient it is about. */
  readonly event?: string;
  readonly recipient?: string;
}

/**
 * One email in the messages table: the idempotency ledger entry (`messageId` = hash of tenant and idempotency
 * key), its status and timeline. Only the ledger adapter writes it; everyone else reads this shape.
 */
export interface MessageRecord {
  readonly messageId: string;
  readonly tenantId: string;
  readonly environment?: Environment;
  readonly category?: 'transactional' | 'bulk';
  readonly status: MessageStatus;
  readonly recipients?: readonly string[];
  readonly subject?: string;
  readonly eventId?: string;
  readonly eventType?: string;
  readonly definitionId?: string;
  readonly itemKey?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Epoch seconds; DynamoDB TTL removes the record after the retention period. */
  readonly expiresAt: number;
  readonly timeline: readonly TimelineLine[];
  /** Claims so far (deliveries that reached the sender). */
  readonly attempts?: number;
  /** The current claim: only the holder of the token may record its outcome. */
  readonly leaseToken?: string;
  /** Epoch milliseconds after which another attempt may claim a SENDING record. */
  readonly leaseUntil?: number;
  /** When a DEFERRED record is tried again (ISO). */
  readonly eligibleAt?: string;
  /**
   * When the sweeper treats the record as stuck (ISO), and its `byPending` shard: set while pending, kept after
   * (the sweeper's cursor passes the entry once); `HELD#<tenant>` while PAUSED.
   */
  readonly sweepAt?: string;
  readonly pendingShard?: string;
  /** True once the send-lane body is kept beside the record (`<messageId>#request`), for release and sweep. */
  readonly requestKept?: boolean;
  /** When the provider accepted the email (set by the sender, or by feedback that proves it). */
  readonly acceptedAt?: string;
  readonly reason?: string;
  readonly reasonCode?: string;
  readonly method?: SendingMethod;
  readonly fromAddress?: string;
  /** The provider's id (SES MessageId or the relay's reply). */
  readonly sesMessageId?: string;
  readonly dkim?: DkimFacts;
  readonly suppressedRecipients?: readonly string[];
  readonly rejectedRecipients?: readonly RejectedRecipient[];
  /** Unparseable input: the first 2 KB of the body. */
  readonly bodyExcerpt?: string;
}
