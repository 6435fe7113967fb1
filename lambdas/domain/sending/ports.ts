import type { Environment, MessageStatus, SendingMethod } from '../message';
import type { SmtpSettings } from '../smtp/smtp-settings';

export interface Mailbox {
  readonly address: string;
  /** Display name; encoded by the MIME builder. */
  readonly name?: string;
}

/** One email, ready for a sending method: addresses resolved, content final. */
export interface OutgoingEmail {
  readonly messageId: string;
  readonly tenantId: string;
  readonly environment: Environment;
  readonly from: Mailbox;
  readonly replyTo?: Mailbox;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly bcc: readonly string[];
  readonly subject: string;
  readonly html?: string;
  readonly text?: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Message tags (SES EmailTags); feedback events carry them back. */
  readonly tags: Readonly<Record<string, string>>;
  /** SES tenant that isolates this tenant's reputation (advanced method). */
  readonly sesTenantName?: string;
}

export interface SendResult {
  /** The provider's id: SES MessageId, or the relay's reply for the accepted transaction. */
  readonly providerMessageId: string;
  /** Recipients the relay refused permanently (5xx) while accepting the others. */
  readonly rejectedRecipients?: readonly RejectedRecipient[];
}

export interface RejectedRecipient {
  readonly recipient: string;
  readonly code?: number;
  readonly reply: string;
}

/** Which DKIM signatures a message carries and whether one aligns with From (DMARC readiness). */
export interface DkimFacts {
  readonly signingDomains: readonly string[];
  readonly alignment: 'strict' | 'relaxed' | 'none';
  readonly aligned: boolean;
}

/** A send through the tenant's relay needs its settings; SES sends ignore them. */
export interface RelayTarget {
  readonly settings: SmtpSettings;
}

/** A sending method's transport. Throws DomainErrors (permanent / transient / throttled). */
export interface EmailSender {
  send(email: OutgoingEmail, relay?: RelayTarget): Promise<SendResult>;
}

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

export type ClaimResult =
  | { readonly claimed: true; readonly attempt: number }
  | { readonly claimed: false; readonly status: MessageStatus };

export interface OutcomeDetail {
  readonly code: string;
  readonly reason: string;
  /** When a DEFERRED message is tried again (ISO time). */
  readonly eligibleAt?: string;
  /** The queue message body, kept on PAUSED messages so a resume can send them. */
  readonly heldRequest?: string;
}

export interface SentDetail {
  readonly method: SendingMethod;
  readonly from: string;
  readonly providerMessageId: string;
  readonly dkim?: DkimFacts;
  /** Recipients dropped before sending because they are on the tenant's suppression list. */
  readonly suppressedRecipients?: readonly string[];
  readonly rejectedRecipients?: readonly RejectedRecipient[];
}

/**
 * The messages table as the sender sees it: the idempotency ledger (a conditional claim per message) and the
 * status timeline.
 */
export interface MessageLedger {
  /**
   * Claims the message for sending (status SENDING with a lease). Not claimed when it already reached a final
   * status (a duplicate delivery) or another sender holds a live lease.
   */
  claim(input: ClaimInput): Promise<ClaimResult>;
  markSent(messageId: string, detail: SentDetail): Promise<void>;
  /** Records REJECTED, DEFERRED, PAUSED, SUPPRESSED, DEAD_LETTERED, or QUEUED again after a transient failure. */
  markOutcome(messageId: string, status: MessageStatus, detail: OutcomeDetail): Promise<void>;
  /** Records a message that could not even be parsed, under an id derived from the queue message. */
  recordInvalid(
    messageId: string,
    detail: OutcomeDetail & { readonly tenantId?: string; readonly body: string },
  ): Promise<void>;
}

/** Puts a message back on its lane of the send queue after a delay, with its idempotency key unchanged. */
export interface DeferralQueue {
  defer(body: string, delaySeconds: number, category: 'transactional' | 'bulk'): Promise<void>;
}

export interface Clock {
  now(): Date;
}
