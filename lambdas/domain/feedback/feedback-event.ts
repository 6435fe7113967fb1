// Types only: the sender records relay rejections as feedback events and must not build the SES event schemas.
import type { BounceType, SesEvent, SesEventType, SesMail } from './ses-event-schema';

/** The message tags the sender sets (one definition, in the sending domain); feedback correlates on them. */
export { MESSAGE_TAGS as MESSAGE_TAG } from '../sending/message-tags';

import { MESSAGE_TAGS as MESSAGE_TAG } from '../sending/message-tags';

/** How a feedback event was tied to our message. */
export interface Correlation {
  /** Our message id, or, without the tag, the SES message id (such an event names no email of ours). */
  readonly messageId: string;
  /** `tag`: from the `message-id` tag; `ses-message-id`: fallback; `relay`: a synchronous relay rejection. */
  readonly via: 'tag' | 'ses-message-id' | 'relay';
  readonly sesMessageId: string;
  readonly tenantId?: string;
  readonly environment?: string;
}

function firstTag(mail: SesMail, name: string): string | undefined {
  const value = mail.tags?.[name]?.[0]?.trim();
  return value ? value : undefined;
}

/** Reads our correlation tags from an SES `mail` object, falling back to the SES message id. */
export function correlate(mail: SesMail): Correlation {
  const messageId = firstTag(mail, MESSAGE_TAG.messageId);
  const tenantId = firstTag(mail, MESSAGE_TAG.tenantId);
  const environment = firstTag(mail, MESSAGE_TAG.environment);
  return {
    messageId: messageId ?? mail.messageId,
    via: messageId ? 'tag' : 'ses-message-id',
    sesMessageId: mail.messageId,
    ...(tenantId ? { tenantId } : {}),
    ...(environment ? { environment } : {}),
  };
}

/**
 * The form addresses are compared and stored in: the bare address of `Name <a@b>`, trimmed and lower-cased.
 * Lower-casing the local part is stricter than RFC 5321 but is what mailbox providers do in practice, and it
 * keeps one suppression entry per mailbox.
 */
export function normalizeAddress(address: string): string {
  const angle = /<([^<>]+)>\s*$/.exec(address);
  return (angle?.[1] ?? address).trim().toLowerCase();
}

/** What one event says about one recipient. */
export interface RecipientFeedback {
  /**
   * Deterministic identity of this fact: SES message id, event type, event time and recipient. The same SES
   * event delivered twice yields the same key; it is what de-duplicates timelines and counters.
   */
  readonly eventKey: string;
  readonly eventType: SesEventType;
  /** Normalised address (see `normalizeAddress`). */
  readonly recipient: string;
  /** ISO-8601 UTC time of the event (the mail timestamp for Send, Reject and RenderingFailure). */
  readonly occurredAt: string;
  readonly bounceType?: BounceType;
  readonly bounceSubType?: string;
  readonly complaintFeedbackType?: string;
  readonly complaintSubType?: string;
  /** Human-readable detail: diagnostic code, SMTP response, reject reason or rendering error. */
  readonly detail?: string;
}

/** An SES event reduced to what the timeline, suppression list and reputation guard need. */
export interface FeedbackEvent {
  readonly eventType: SesEventType;
  readonly correlation: Correlation;
  readonly occurredAt: string;
  readonly recipients: readonly RecipientFeedback[];
}

function canonicalTime(timestamp: string): string {
  return new Date(timestamp).toISOString();
}

/** Builds the event key; exported so callers that synthesise feedback use the same scheme. */
export function feedbackEventKey(
  sesMessageId: string,
  eventType: SesEventType,
  occurredAt: string,
  recipient: string,
): string {
  return `${sesMessageId}#${eventType}#${occurredAt}#${recipient}`;
}

type RecipientExtras = Omit<RecipientFeedback, 'eventKey' | 'eventType' | 'recipient' | 'occurredAt'>;

function eventTimeAndRecipients(event: SesEvent): {
  at: string;
  recipients: { address: string; extras: RecipientExtras }[];
} {
  const everyone = (extras: RecipientExtras = {}) =>
    event.mail.destination.map((address) => ({ address, extras }));
  switch (event.eventType) {
    case 'Bounce': {
      const { bounceType, bounceSubType } = event.bounce;
      return {
        at: event.bounce.timestamp,
        recipients: event.bounce.bouncedRecipients.map((r) => ({
          address: r.emailAddress,
          extras: {
            bounceType,
            bounceSubType,
            ...(r.diagnosticCode || r.status ? { detail: r.diagnosticCode ?? r.status } : {}),
          },
        })),
      };
    }
    case 'Complaint': {
      const { complaintFeedbackType, complaintSubType } = event.complaint;
      const extras: RecipientExtras = {
        ...(complaintFeedbackType ? { complaintFeedbackType } : {}),
        ...(complaintSubType ? { complaintSubType } : {}),
      };
      return {
        at: event.complaint.timestamp,
        recipients: event.complaint.complainedRecipients.map((r) => ({ address: r.emailAddress, extras })),
      };
    }
    case 'Delivery': {
      const { smtpResponse } = event.delivery;
      return {
        at: event.delivery.timestamp,
        recipients: event.delivery.recipients.map((address) => ({
          address,
          extras: smtpResponse ? { detail: smtpResponse } : {},
        })),
      };
    }
    case 'DeliveryDelay':
      return {
        at: event.deliveryDelay.timestamp,
        recipients: event.deliveryDelay.delayedRecipients.map((r) => ({
          address: r.emailAddress,
          extras: { detail: r.diagnosticCode ?? r.status ?? event.deliveryDelay.delayType },
        })),
      };
    case 'Reject':
      return { at: event.mail.timestamp, recipients: everyone({ detail: event.reject.reason }) };
    case 'RenderingFailure':
      return { at: event.mail.timestamp, recipients: everyone({ detail: event.failure.errorMessage }) };
    case 'Open':
      return { at: event.open.timestamp, recipients: everyone() };
    case 'Click':
      return { at: event.click.timestamp, recipients: everyone({ detail: event.click.link }) };
    case 'Subscription':
      return { at: event.subscription.timestamp, recipients: everyone() };
    case 'Send':
      return { at: event.mail.timestamp, recipients: everyone() };
  }
}

/**
 * Reduces a parsed SES event to per-recipient facts. Recipients are the ones the event names (bounced,
 * complained, delivered, delayed); events that name none (Send, Reject, RenderingFailure, Open, Click,
 * Subscription) apply to every destination of the mail. Duplicate addresses collapse to one.
 */
export function toFeedbackEvent(event: SesEvent): FeedbackEvent {
  const correlation = correlate(event.mail);
  const { at, recipients } = eventTimeAndRecipients(event);
  const occurredAt = canonicalTime(at);
  const seen = new Set<string>();
  const facts: RecipientFeedback[] = [];
  for (const { address, extras } of recipients) {
    const recipient = normalizeAddress(address);
    if (seen.has(recipient)) continue;
    seen.add(recipient);
    facts.push({
      eventKey: feedbackEventKey(correlation.sesMessageId, event.eventType, occurredAt, recipient),
      eventType: event.eventType,
      recipient,
      occurredAt,
      ...extras,
    });
  }
  return { eventType: event.eventType, correlation, occurredAt, recipients: facts };
}

/** The subtype SES uses when it did not send because the address is on the account-level suppression list. */
export const ON_ACCOUNT_SUPPRESSION_LIST = 'OnAccountSuppressionList';

/** True for the bounce SES reports when it skipped an address on the account-level suppression list. */
export function isAccountSuppressionBounce(fact: RecipientFeedback): boolean {
  return fact.eventType === 'Bounce' && fact.bounceSubType === ON_ACCOUNT_SUPPRESSION_LIST;
}

/** Bounce subtype recorded for a recipient an external SMTP relay refused with a 5xx reply. */
export const RELAY_REJECTED_SUBTYPE = 'RelayRejected';

export interface RelayRejection {
  readonly messageId: string;
  readonly recipient: string;
  /** SMTP reply code, e.g. 550. */
  readonly responseCode: number;
  /** The relay's reply text, recorded as the bounce detail. */
  readonly response: string;
  /** When the relay answered (ISO-8601); keep it stable across retries so the event key is too. */
  readonly occurredAt: string;
  readonly tenantId?: string;
  readonly environment?: string;
}

/**
 * Turns a synchronous 5xx refusal of one recipient by a tenant's SMTP relay into a permanent bounce, so the
 * timeline, suppression list and reputation guard treat it exactly like an SES hard bounce.
 * Returns `undefined` for anything but a 5xx code: a 4xx is temporary and is retried, never a bounce.
 */
export function relayRejectionFeedback(rejection: RelayRejection): FeedbackEvent | undefined {
  if (
    !Number.isInteger(rejection.responseCode) ||
    rejection.responseCode < 500 ||
    rejection.responseCode > 599
  ) {
    return undefined;
  }
  const occurredAt = canonicalTime(rejection.occurredAt);
  const recipient = normalizeAddress(rejection.recipient);
  const sesMessageId = `relay:${rejection.messageId}`;
  return {
    eventType: 'Bounce',
    correlation: {
      messageId: rejection.messageId,
      via: 'relay',
      sesMessageId,
      ...(rejection.tenantId ? { tenantId: rejection.tenantId } : {}),
      ...(rejection.environment ? { environment: rejection.environment } : {}),
    },
    occurredAt,
    recipients: [
      {
        eventKey: feedbackEventKey(sesMessageId, 'Bounce', occurredAt, recipient),
        eventType: 'Bounce',
        recipient,
        occurredAt,
        bounceType: 'Permanent',
        bounceSubType: RELAY_REJECTED_SUBTYPE,
        detail: `${rejection.responseCode} ${rejection.response}`.trim(),
      },
    ],
  };
}
