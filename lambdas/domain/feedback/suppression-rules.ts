import { PermanentError } from '../errors';
import {
  type FeedbackEvent,
  isAccountSuppressionBounce,
  normalizeAddress,
  RELAY_REJECTED_SUBTYPE,
  type RecipientFeedback,
} from './feedback-event';

/** Why an address is on a tenant's suppression list. */
export const SUPPRESSION_REASONS = [
  'COMPLAINT',
  'PERMANENT_BOUNCE',
  'SES_ACCOUNT_SUPPRESSION',
  'RELAY_REJECTION',
  'MANUAL',
] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/**
 * Which reason wins when an address is suppressed twice: the stronger one is kept, and between equal ones the
 * earlier entry. An operator's manual entry outranks everything (only an operator removes it); a complaint is
 * a person asking not to be mailed; a DSN-backed hard bounce is firmer evidence than a relay's synchronous 5xx.
 */
export const SUPPRESSION_STRENGTH: Readonly<Record<SuppressionReason, number>> = {
  RELAY_REJECTION: 1,
  SES_ACCOUNT_SUPPRESSION: 2,
  PERMANENT_BOUNCE: 3,
  COMPLAINT: 4,
  MANUAL: 5,
};

/** Days an entry lasts per reason; `null` means it never expires (an operator removes it). */
export type SuppressionExpiryPolicy = Readonly<Record<SuppressionReason, number | null>>;

/**
 * Defaults:
 * - complaints and manual entries never expire: the recipient asked, and mailing them again risks the
 *   complaint rate that gets accounts paused;
 * - permanent bounces and SES account-suppression bounces last 365 days: mailboxes that did not exist are
 *   rarely re-created, but a year lets a re-registered address receive mail again;
 * - relay rejections last 90 days: a relay's 5xx is less specific than a DSN (policy blocks and misconfigured
 *   relays also answer 5xx), so it should heal sooner.
 */
export const DEFAULT_SUPPRESSION_EXPIRY: SuppressionExpiryPolicy = {
  COMPLAINT: null,
  MANUAL: null,
  PERMANENT_BOUNCE: 365,
  SES_ACCOUNT_SUPPRESSION: 365,
  RELAY_REJECTION: 90,
};

export class InvalidSuppressionPolicyError extends PermanentError {
  constructor(message: string) {
    super('INVALID_SUPPRESSION_POLICY', message);
    this.name = 'InvalidSuppressionPolicyError';
  }
}

/** Merges overrides onto the defaults and checks every expiry is a positive whole number of days or null. */
export function suppressionExpiryPolicy(
  overrides: Partial<SuppressionExpiryPolicy> = {},
): SuppressionExpiryPolicy {
  const policy = { ...DEFAULT_SUPPRESSION_EXPIRY, ...overrides };
  for (const reason of SUPPRESSION_REASONS) {
    const days = policy[reason];
    if (days !== null && !(Number.isInteger(days) && days > 0)) {
      throw new InvalidSuppressionPolicyError(
        `suppression expiry for ${reason} must be a positive whole number of days or null, got ${String(days)}`,
      );
    }
  }
  return policy;
}

/** One address on a tenant's suppression list. */
export interface SuppressionEntry {
  readonly tenantId: string;
  /** Normalised address (lower-cased). */
  readonly address: string;
  readonly reason: SuppressionReason;
  /** Our message id whose feedback caused the entry (absent for manual entries). */
  readonly sourceMessageId?: string;
  /** ISO-8601 time of the event that caused it. */
  readonly createdAt: string;
  /** Epoch seconds after which the entry no longer counts (also the DynamoDB TTL); absent = never. */
  readonly expiresAt?: number;
  readonly detail?: string;
}

/** Port the sender and the feedback use case talk to; `lambdas/adapters/suppression-store.ts` implements it. */
export interface SuppressionStore {
  /** Adds or strengthens an entry; `stored` is false when an equal-or-stronger, earlier entry already stands. */
  put(entry: SuppressionEntry): Promise<{ stored: boolean }>;
  /** The subset of `addresses` currently suppressed for the tenant, keyed by normalised address. */
  isSuppressed(
    tenantId: string,
    addresses: readonly string[],
    now?: Date,
  ): Promise<Map<string, SuppressionEntry>>;
  list(
    tenantId: string,
    options?: { limit?: number; cursor?: string; now?: Date },
  ): Promise<{ items: SuppressionEntry[]; cursor?: string }>;
  remove(tenantId: string, address: string): Promise<void>;
}

/** The suppression reason one fact implies, or undefined when it must not suppress. */
export function suppressionReasonFor(fact: RecipientFeedback): SuppressionReason | undefined {
  if (fact.eventType === 'Complaint') {
    return fact.complaintFeedbackType === 'not-spam' ? undefined : 'COMPLAINT';
  }
  if (fact.eventType !== 'Bounce' || fact.bounceType !== 'Permanent') return undefined;
  if (isAccountSuppressionBounce(fact)) return 'SES_ACCOUNT_SUPPRESSION';
  if (fact.bounceSubType === RELAY_REJECTED_SUBTYPE) return 'RELAY_REJECTION';
  return 'PERMANENT_BOUNCE';
}

/** Epoch seconds `days` after `from`, or undefined for a non-expiring reason. */
export function suppressionExpiry(from: string, days: number | null): number | undefined {
  if (days === null) return undefined;
  return Math.floor(new Date(from).getTime() / 1000) + days * 86_400;
}

/**
 * Decides which recipients of a feedback event to suppress for the tenant. Permanent bounces and complaints
 * suppress; transient and undetermined bounces do not (SES itself says such recipients may be reachable later);
 * an OnAccountSuppressionList bounce is recorded so our list mirrors what SES already refuses; a relay's 5xx
 * counts as a permanent bounce. Each entry expires per `policy`, counted from the event time.
 */
export function decideSuppressions(
  tenantId: string,
  event: FeedbackEvent,
  policy: SuppressionExpiryPolicy = DEFAULT_SUPPRESSION_EXPIRY,
): SuppressionEntry[] {
  const entries: SuppressionEntry[] = [];
  for (const fact of event.recipients) {
    const reason = suppressionReasonFor(fact);
    if (!reason) continue;
    const expiresAt = suppressionExpiry(fact.occurredAt, policy[reason]);
    entries.push({
      tenantId,
      address: normalizeAddress(fact.recipient),
      reason,
      sourceMessageId: event.correlation.messageId,
      createdAt: fact.occurredAt,
      ...(expiresAt === undefined ? {} : { expiresAt }),
      ...(fact.detail ? { detail: fact.detail } : {}),
    });
  }
  return entries;
}

/** Whether an entry still suppresses at `now`; expired entries wait for TTL deletion but no longer count. */
export function isActiveSuppression(entry: Pick<SuppressionEntry, 'expiresAt'>, now: Date): boolean {
  return entry.expiresAt === undefined || entry.expiresAt * 1000 > now.getTime();
}
