/**
 * Every accepted email ends in exactly one final state. `SENT` is final for the sender and may be refined by
 * SES feedback into `DELIVERED`, `BOUNCED` or `COMPLAINED`.
 */
export const MessageStatus = {
  /** Accepted and waiting on the send queue. */
  QUEUED: 'QUEUED',
  /** Waiting for rate-limit capacity; `eligibleAt` says when it is tried again. */
  DEFERRED: 'DEFERRED',
  /** Held because the tenant is paused (reputation guard or operator); released on resume. */
  PAUSED: 'PAUSED',
  /** Claimed by a sender right now (a lease, so a crashed attempt is retried after it expires). */
  SENDING: 'SENDING',
  /** Handed to SES or the tenant's relay. */
  SENT: 'SENT',
  DELIVERED: 'DELIVERED',
  BOUNCED: 'BOUNCED',
  COMPLAINED: 'COMPLAINED',
  /** Not sent: the recipient is on a suppression list. */
  SUPPRESSED: 'SUPPRESSED',
  /** Not sent: the message itself is invalid or not allowed; `reason` says why. */
  REJECTED: 'REJECTED',
  /** Retries exhausted; the SQS message is in the dead-letter queue. */
  DEAD_LETTERED: 'DEAD_LETTERED',
} as const;

export type MessageStatus = (typeof MessageStatus)[keyof typeof MessageStatus];

/** Statuses after which the sender never sends the message again (a redelivery is acknowledged and skipped). */
export const FINAL_STATUSES: readonly MessageStatus[] = [
  MessageStatus.SENT,
  MessageStatus.DELIVERED,
  MessageStatus.BOUNCED,
  MessageStatus.COMPLAINED,
  MessageStatus.SUPPRESSED,
  MessageStatus.REJECTED,
  MessageStatus.DEAD_LETTERED,
];

/** The four platform environments, and the verification scope that serves each (see DESIGN.md). */
export const ENVIRONMENTS = ['production', 'api-sandbox', 'developer-sandbox', 'central-sandbox'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export const SCOPES = ['prod', 'dev'] as const;
export type Scope = (typeof SCOPES)[number];

export const SCOPE_ENVIRONMENTS: Record<Scope, readonly Environment[]> = {
  prod: ['production', 'api-sandbox'],
  dev: ['developer-sandbox', 'central-sandbox'],
};

/** Sending methods a tenant chooses per environment. */
export const SENDING_METHODS = ['default', 'external-smtp', 'advanced'] as const;
export type SendingMethod = (typeof SENDING_METHODS)[number];
