import type { Environment } from '../scope';
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

/** How to hand one email over: the tenant's relay settings (SES ignores them), and its pacing. */
export interface SendOptions {
  readonly settings?: SmtpSettings;
  /**
   * Books the send's slot with the rate governor once the message is composed (so composing cannot make it
   * late) and returns it (epoch ms; undefined when no limit applies); the transport waits until then to hand
   * the message over. Throws a ThrottledError when the slot is too far away: nothing was sent.
   */
  readonly pace?: () => Promise<number | undefined>;
}

/** A sending method's transport. Throws DomainErrors (permanent / transient / throttled). */
export interface EmailSender {
  send(email: OutgoingEmail, options?: SendOptions): Promise<SendResult>;
}

/** Resolves at `atMs` (at once when it has passed): a transport's wait for its paced slot. */
export function waitUntil(atMs: number | undefined, now: () => number = Date.now): Promise<void> {
  const waitMs = atMs === undefined ? 0 : atMs - now();
  return waitMs > 0 ? new Promise((resolve) => setTimeout(resolve, waitMs)) : Promise.resolve();
}

export interface Clock {
  now(): Date;
}
