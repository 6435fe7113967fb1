import { PermanentError } from '../errors';
import type { Correlation, FeedbackEvent } from './feedback-event';
import type { SesEvent } from './ses-event-schema';

/** What genuine feedback of this scope looks like: SES, this account and region, through our topic. */
export interface FeedbackTrust {
  /** The configuration set's SNS topic: the envelope's `TopicArn` must equal it. */
  readonly topicArn: string;
  /** This scope's AWS account: `mail.sendingAccountId` and the account in `mail.sourceArn`. */
  readonly accountId: string;
  /** This scope's region: the region in `mail.sourceArn`. */
  readonly region: string;
  /** The `ses:configuration-set` tag SES adds to every event of our configuration set. */
  readonly configurationSetName: string;
}

/** The fields of an SNS Notification that its signature covers, plus the signature itself. */
export interface SnsNotificationEnvelope {
  readonly Type: string;
  readonly MessageId?: string;
  readonly TopicArn?: string;
  readonly Subject?: string;
  readonly Message: string;
  readonly Timestamp?: string;
  readonly SignatureVersion?: string;
  readonly Signature?: string;
  readonly SigningCertURL?: string;
}

/** Checks that SNS itself signed an envelope (`lambdas/adapters/sns-signature-verifier.ts`). */
export interface EnvelopeVerifier {
  /** @throws UntrustedFeedbackError when the signature does not verify. */
  verify(envelope: SnsNotificationEnvelope): Promise<void>;
}

/** Feedback that is not what SES sends us; `code` names the check that failed. Dead-lettered, never applied. */
export class UntrustedFeedbackError extends PermanentError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'UntrustedFeedbackError';
  }
}

/**
 * The checks on the message itself, before anything is read or written: it came through our topic (an SNS
 * Notification whose `TopicArn` is ours — anything else on the queue was put there by someone else), it was
 * sent by this account in this region, through our configuration set.
 * @throws UntrustedFeedbackError naming the first check that failed.
 */
export function verifyFeedbackSource(
  message: { readonly sesEvent: SesEvent; readonly topicArn?: string },
  trust: FeedbackTrust,
): void {
  if (message.topicArn !== trust.topicArn) {
    throw new UntrustedFeedbackError(
      'FEEDBACK_NOT_FROM_TOPIC',
      message.topicArn === undefined
        ? 'not an SNS notification of the feedback topic (no envelope)'
        : `SNS notification of topic ${message.topicArn.slice(0, 256)}, not of the feedback topic`,
    );
  }
  const mail = message.sesEvent.mail;
  if (mail.sendingAccountId !== trust.accountId) {
    throw new UntrustedFeedbackError(
      'FEEDBACK_WRONG_ACCOUNT',
      `sent by account ${String(mail.sendingAccountId).slice(0, 32)}, not this scope's account`,
    );
  }
  if (mail.sourceArn !== undefined) {
    const [, partition, service, region, account] = mail.sourceArn.split(':');
    if (!partition || service !== 'ses' || region !== trust.region || account !== trust.accountId) {
      throw new UntrustedFeedbackError(
        'FEEDBACK_WRONG_ACCOUNT',
        `source ${mail.sourceArn.slice(0, 256)} is not an SES identity of this scope's account and region`,
      );
    }
  }
  const sets = (mail.tags as Record<string, unknown> | undefined)?.['ses:configuration-set'];
  if (!Array.isArray(sets) || sets[0] !== trust.configurationSetName) {
    throw new UntrustedFeedbackError(
      'FEEDBACK_WRONG_CONFIGURATION_SET',
      `not an event of configuration set ${trust.configurationSetName}`,
    );
  }
}

/**
 * The checks against the message record the event names: the record's tenant is the event's `tenant-id` tag,
 * and every recipient the event reports on was a recipient of that email.
 * @throws UntrustedFeedbackError naming the check that failed.
 */
export function verifyFeedbackRecord(
  record: { readonly tenantId: string; readonly recipients?: readonly string[] },
  correlation: Correlation,
  event: FeedbackEvent,
): void {
  if (correlation.tenantId !== undefined && correlation.tenantId !== record.tenantId) {
    throw new UntrustedFeedbackError(
      'FEEDBACK_TENANT_MISMATCH',
      `the tenant-id tag does not match the tenant of message ${correlation.messageId.slice(0, 64)}`,
    );
  }
  const recipients = new Set((record.recipients ?? []).map((address) => address.trim().toLowerCase()));
  const stranger = event.recipients.find((fact) => !recipients.has(fact.recipient.trim().toLowerCase()));
  if (stranger) {
    throw new UntrustedFeedbackError(
      'FEEDBACK_NOT_A_RECIPIENT',
      `${stranger.recipient.slice(0, 254)} was not a recipient of message ${correlation.messageId.slice(0, 64)}`,
    );
  }
}
