/**
 * The states of one email. Every accepted email ends in exactly one final state; `SENT` may be refined by
 * provider feedback into `DELIVERED`, `BOUNCED` or `COMPLAINED`. The allowed moves are in `transitions.ts`.
 */
export const MessageStatus = {
  /** Accepted and waiting on a send lane. */
  QUEUED: 'QUEUED',
  /** Waiting for rate-limit capacity; `eligibleAt` says when it is tried again. */
  DEFERRED: 'DEFERRED',
  /** Held because the tenant is paused (reputation guard or operator); released on resume. */
  PAUSED: 'PAUSED',
  /** Claimed by a sender right now, under a lease (token + expiry). */
  SENDING: 'SENDING',
  /** Accepted by SES or the tenant's relay. */
  SENT: 'SENT',
  DELIVERED: 'DELIVERED',
  BOUNCED: 'BOUNCED',
  COMPLAINED: 'COMPLAINED',
  /** Not sent: the recipient is on a suppression list (or SES reported its account suppression list). */
  SUPPRESSED: 'SUPPRESSED',
  /** Not sent: the message itself is invalid or not allowed; `reason` says why. */
  REJECTED: 'REJECTED',
  /** Retries exhausted; the queue message is in a dead-letter queue and a redrive claims it again. */
  DEAD_LETTERED: 'DEAD_LETTERED',
} as const;

export type MessageStatus = (typeof MessageStatus)[keyof typeof MessageStatus];

export const ALL_STATUSES: readonly MessageStatus[] = Object.values(MessageStatus);

/** The provider accepted the email: only feedback moves it further. */
export const ACCEPTED_STATUSES: readonly MessageStatus[] = [
  MessageStatus.SENT,
  MessageStatus.DELIVERED,
  MessageStatus.BOUNCED,
  MessageStatus.COMPLAINED,
];

/**
 * Statuses after which a redelivered queue message is acknowledged and not sent. `DEAD_LETTERED` is final
 * until an operator redrives the dead-letter queue: the redriven message claims it again.
 */
export const FINAL_STATUSES: readonly MessageStatus[] = [
  ...ACCEPTED_STATUSES,
  MessageStatus.SUPPRESSED,
  MessageStatus.REJECTED,
  MessageStatus.DEAD_LETTERED,
];

/** Statuses that are still moving: a record left in one of them past its deadline is found by the sweeper. */
export const PENDING_STATUSES: readonly MessageStatus[] = [
  MessageStatus.QUEUED,
  MessageStatus.SENDING,
  MessageStatus.DEFERRED,
];

export const isFinal = (status: MessageStatus): boolean => FINAL_STATUSES.includes(status);
export const isAccepted = (status: MessageStatus): boolean => ACCEPTED_STATUSES.includes(status);
