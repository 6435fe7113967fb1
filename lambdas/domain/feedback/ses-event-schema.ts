import * as z from '../../shared/zod';
import { PermanentError } from '../errors';
import type { SnsNotificationEnvelope } from './feedback-trust';

/**
 * Schemas for the email sending events SES publishes through a configuration set's SNS event destination, as
 * documented in "Contents of event data that Amazon SES publishes to Amazon SNS". Objects are loose (unknown
 * fields are kept and ignored) so a field AWS adds later does not dead-letter good feedback; the fields this
 * project acts on are required.
 */

/** Raised when a feedback record is not JSON, not an SNS notification, or not a known SES event; never retried. */
export class MalformedFeedbackError extends PermanentError {
  constructor(message: string, options?: ErrorOptions) {
    super('MALFORMED_FEEDBACK', message, options);
    this.name = 'MalformedFeedbackError';
  }
}

const isoTimestamp = z.iso.datetime({ offset: true });
const nonEmpty = z.string().check(z.minLength(1));

/** Message tags as SES publishes them: every tag name maps to a list of values. */
export const sesTagsSchema = z.record(z.string(), z.array(z.string()));

export const sesMailSchema = z.looseObject({
  timestamp: isoTimestamp,
  messageId: nonEmpty,
  source: z.string(),
  sourceArn: z.optional(z.string()),
  sendingAccountId: z.optional(z.string()),
  destination: z.array(nonEmpty).check(z.minLength(1)),
  headersTruncated: z.optional(z.boolean()),
  headers: z.optional(z.array(z.looseObject({ name: z.string(), value: z.string() }))),
  commonHeaders: z.optional(z.record(z.string(), z.unknown())),
  tags: z.optional(sesTagsSchema),
});
export type SesMail = z.infer<typeof sesMailSchema>;

/** Documented bounce types; `Undetermined` is what SES reports when it cannot tell. */
export const BOUNCE_TYPES = ['Permanent', 'Transient', 'Undetermined'] as const;
export type BounceType = (typeof BOUNCE_TYPES)[number];

const recipientDetail = z.looseObject({
  emailAddress: nonEmpty,
  action: z.optional(z.string()),
  status: z.optional(z.string()),
  diagnosticCode: z.optional(z.string()),
});

const bounceEvent = z.looseObject({
  eventType: z.literal('Bounce'),
  mail: sesMailSchema,
  bounce: z.looseObject({
    bounceType: z.enum(BOUNCE_TYPES),
    // Subtypes grow over time (OnAccountSuppressionList arrived later); an unknown one is still a bounce.
    bounceSubType: nonEmpty,
    bouncedRecipients: z.array(recipientDetail).check(z.minLength(1)),
    timestamp: isoTimestamp,
    feedbackId: z.optional(z.string()),
    reportingMTA: z.optional(z.string()),
  }),
});

const complaintEvent = z.looseObject({
  eventType: z.literal('Complaint'),
  mail: sesMailSchema,
  complaint: z.looseObject({
    complainedRecipients: z.array(z.looseObject({ emailAddress: nonEmpty })).check(z.minLength(1)),
    timestamp: isoTimestamp,
    feedbackId: z.optional(z.string()),
    complaintSubType: z.optional(z.nullable(z.string())),
    complaintFeedbackType: z.optional(z.string()),
    userAgent: z.optional(z.string()),
    arrivalDate: z.optional(z.string()),
  }),
});

const deliveryEvent = z.looseObject({
  eventType: z.literal('Delivery'),
  mail: sesMailSchema,
  delivery: z.looseObject({
    timestamp: isoTimestamp,
    processingTimeMillis: z.optional(z.number()),
    recipients: z.array(nonEmpty).check(z.minLength(1)),
    smtpResponse: z.optional(z.string()),
    reportingMTA: z.optional(z.string()),
  }),
});

const sendEvent = z.looseObject({
  eventType: z.literal('Send'),
  mail: sesMailSchema,
  send: z.optional(z.looseObject({})),
});

const rejectEvent = z.looseObject({
  eventType: z.literal('Reject'),
  mail: sesMailSchema,
  reject: z.looseObject({ reason: z.string() }),
});

const renderingFailureEvent = z.looseObject({
  eventType: z.literal('RenderingFailure'),
  mail: sesMailSchema,
  failure: z.looseObject({ errorMessage: z.string(), templateName: z.optional(z.string()) }),
});

const deliveryDelayEvent = z.looseObject({
  eventType: z.literal('DeliveryDelay'),
  mail: sesMailSchema,
  deliveryDelay: z.looseObject({
    timestamp: isoTimestamp,
    delayType: z.string(),
    expirationTime: z.optional(z.string()),
    reportingMTA: z.optional(z.string()),
    delayedRecipients: z.array(recipientDetail).check(z.minLength(1)),
  }),
});

const openEvent = z.looseObject({
  eventType: z.literal('Open'),
  mail: sesMailSchema,
  open: z.looseObject({
    timestamp: isoTimestamp,
    ipAddress: z.optional(z.string()),
    userAgent: z.optional(z.string()),
  }),
});

const clickEvent = z.looseObject({
  eventType: z.literal('Click'),
  mail: sesMailSchema,
  click: z.looseObject({
    timestamp: isoTimestamp,
    link: z.string(),
    ipAddress: z.optional(z.string()),
    userAgent: z.optional(z.string()),
    linkTags: z.optional(sesTagsSchema),
  }),
});

const topicPreferences = z.looseObject({
  unsubscribeAll: z.optional(z.boolean()),
  topicSubscriptionStatus: z.optional(
    z.array(z.looseObject({ topicName: z.string(), subscriptionStatus: z.string() })),
  ),
});

const subscriptionEvent = z.looseObject({
  eventType: z.literal('Subscription'),
  mail: sesMailSchema,
  subscription: z.looseObject({
    timestamp: isoTimestamp,
    contactList: z.optional(z.string()),
    source: z.optional(z.string()),
    newTopicPreferences: z.optional(topicPreferences),
    oldTopicPreferences: z.optional(topicPreferences),
  }),
});

export const sesEventSchema = z.discriminatedUnion('eventType', [
  bounceEvent,
  complaintEvent,
  deliveryEvent,
  sendEvent,
  rejectEvent,
  renderingFailureEvent,
  deliveryDelayEvent,
  openEvent,
  clickEvent,
  subscriptionEvent,
]);

/** One SES event record; `eventType` is normalised (`Rendering Failure` → `RenderingFailure`). */
export type SesEvent = z.infer<typeof sesEventSchema>;
export type SesEventType = SesEvent['eventType'];
export const SES_EVENT_TYPES: readonly SesEventType[] = [
  'Send',
  'Delivery',
  'Bounce',
  'Complaint',
  'DeliveryDelay',
  'Reject',
  'RenderingFailure',
  'Open',
  'Click',
  'Subscription',
];

/** The SNS envelope an SQS subscription without raw message delivery receives. */
const snsNotificationSchema = z.looseObject({
  Type: z.literal('Notification'),
  MessageId: z.optional(z.string()),
  TopicArn: z.optional(z.string()),
  Subject: z.optional(z.string()),
  Message: z.string(),
  Timestamp: z.optional(z.string()),
  SignatureVersion: z.optional(z.string()),
  Signature: z.optional(z.string()),
  SigningCertURL: z.optional(z.string()),
});

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new MalformedFeedbackError(`${what} is not JSON`, { cause });
  }
}

function describeIssues(error: z.ZodError): string {
  const text = z.prettifyError(error).replace(/\s+/g, ' ').trim();
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}

/**
 * Parses an already-decoded SES event object. Accepts `notificationType` (identity feedback notifications, which
 * carry no tags) as an alias of `eventType`, and SES's spelling `Rendering Failure`.
 * @throws MalformedFeedbackError with the validation issues when the object is not a known SES event.
 */
export function parseSesEvent(value: unknown): SesEvent {
  if (!isRecord(value)) throw new MalformedFeedbackError('SES event is not a JSON object');
  const rawType = value.eventType ?? value.notificationType;
  if (typeof rawType !== 'string') throw new MalformedFeedbackError('SES event has no eventType');
  const eventType = rawType === 'Rendering Failure' ? 'RenderingFailure' : rawType;
  if (!(SES_EVENT_TYPES as readonly string[]).includes(eventType)) {
    throw new MalformedFeedbackError(`unknown SES eventType "${rawType.slice(0, 64)}"`);
  }
  const result = sesEventSchema.safeParse({ ...value, eventType });
  if (!result.success) {
    throw new MalformedFeedbackError(`invalid SES ${eventType} event: ${describeIssues(result.error)}`, {
      cause: result.error,
    });
  }
  return result.data;
}

/**
 * Reads one feedback queue message body: the SNS notification envelope (`Type: Notification` with the SES
 * record as the `Message` string, and the `TopicArn` it came through) or, with raw message delivery, the SES
 * record itself (no topic). Subscription confirmations and anything else are refused.
 * @throws MalformedFeedbackError whose message is the reason to record when the handler dead-letters it.
 */
export function readFeedbackMessage(body: string): {
  readonly sesEvent: SesEvent;
  readonly topicArn?: string;
  readonly envelope?: SnsNotificationEnvelope;
} {
  const outer = parseJson(body, 'feedback message body');
  if (isRecord(outer) && 'Type' in outer) {
    const envelope = snsNotificationSchema.safeParse(outer);
    if (!envelope.success) {
      const type = typeof outer.Type === 'string' ? outer.Type.slice(0, 64) : typeof outer.Type;
      throw new MalformedFeedbackError(
        `unexpected SNS message (Type "${type}"): only Notification is accepted`,
        {
          cause: envelope.error,
        },
      );
    }
    const sesEvent = parseSesEvent(parseJson(envelope.data.Message, 'SNS Message'));
    const topicArn = envelope.data.TopicArn;
    return topicArn === undefined
      ? { sesEvent, envelope: envelope.data }
      : { sesEvent, topicArn, envelope: envelope.data };
  }
  return { sesEvent: parseSesEvent(outer) };
}

/** The SES event of a feedback queue message body (see `readFeedbackMessage`). */
export function parseFeedbackMessage(body: string): SesEvent {
  return readFeedbackMessage(body).sesEvent;
}
