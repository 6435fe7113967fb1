import * as z from '../../shared/zod';
import { ENVIRONMENTS, SCOPES, type Scope } from '../scope';
import { type MessageStatus, MessageStatus as S } from './message-status';

/**
 * Status events out: what the platform learns about its emails. Each change of a message record's `status`
 * into one of {@link NOTABLE_STATUSES} becomes one event on the scope's EventBridge bus (`tenant-mail.<scope>`),
 * derived from the messages table's stream (old and new image of each write). docs/events.md "Events out"
 * documents the same schema.
 */

/** `source` of every status event. The scope is in `detail.scope` and in the bus name. */
export const STATUS_EVENT_SOURCE = 'tenant-mail';
/** `detail-type` of every status event; rules pick statuses with `detail.status`. */
export const STATUS_EVENT_DETAIL_TYPE = 'Email Status Changed';
/** `detail.version`: a breaking change to the detail gets a new version, never a silent change. */
export const STATUS_EVENT_VERSION = '1';

/** Final or notable states a platform is told about; QUEUED and SENDING are internal steps. */
export const NOTABLE_STATUSES = [
  S.SENT,
  S.DELIVERED,
  S.BOUNCED,
  S.COMPLAINED,
  S.SUPPRESSED,
  S.REJECTED,
  S.DEAD_LETTERED,
  S.PAUSED,
  S.DEFERRED,
] as const satisfies readonly MessageStatus[];
export type NotableStatus = (typeof NOTABLE_STATUSES)[number];

/** The detail of an `Email Status Changed` event, version 1. Carries no subject, body or rendered content. */
export const statusEventDetailSchema = z.strictObject({
  version: z.literal(STATUS_EVENT_VERSION),
  /**
   * Deterministic: `<messageId>:<status>:<sequence>`. A stream record delivered twice gives the same id, so
   * consumers de-duplicate on it.
   */
  id: z.string().check(z.minLength(1)),
  scope: z.enum(SCOPES),
  status: z.enum(NOTABLE_STATUSES),
  /** The status before this change; null when the record was created in this status. */
  previousStatus: z.nullable(z.enum(Object.values(S) as [MessageStatus, ...MessageStatus[]])),
  /** The number of timeline entries after this change: orders one message's events. */
  sequence: z.number().check(z.int(), z.gte(1)),
  /** When the change was recorded (ISO 8601). */
  at: z.string().check(z.minLength(1)),
  messageId: z.string().check(z.minLength(1)),
  tenantId: z.string().check(z.minLength(1)),
  environment: z.optional(z.enum(ENVIRONMENTS)),
  /** The platform event the email was made from, and its type, definition and fan-out item key. */
  eventId: z.optional(z.string()),
  eventType: z.optional(z.string()),
  definitionId: z.optional(z.string()),
  itemKey: z.optional(z.string()),
  category: z.optional(z.enum(['transactional', 'bulk'])),
  recipients: z.array(z.string()),
  /** Provider feedback (bounce, complaint, delivery): the recipient it is about. */
  recipient: z.optional(z.string()),
  /** The provider feedback that made this change: the SES event type (`Bounce`, `Complaint`, `Delivery`…). */
  feedbackEvent: z.optional(z.string()),
  /** Why: the sender's reason (REJECTED, SUPPRESSED, DEFERRED…), or the feedback's diagnostic (bounce code). */
  reason: z.optional(z.string()),
  /** The sender's reason code (e.g. `UNVERIFIED_FROM`, `RATE_LIMITED`); absent for feedback. */
  reasonCode: z.optional(z.string()),
  /** DEFERRED: when the email is tried again (ISO 8601). */
  eligibleAt: z.optional(z.string()),
  method: z.optional(z.enum(['default', 'external-smtp', 'advanced'])),
  /** The provider's id (SES MessageId or the relay's reply), once accepted. */
  providerMessageId: z.optional(z.string()),
});
export type StatusEventDetail = z.infer<typeof statusEventDetailSchema>;

/** One event for the bus (the PutEvents entry without the bus name). */
export interface StatusEvent {
  readonly source: typeof STATUS_EVENT_SOURCE;
  readonly detailType: typeof STATUS_EVENT_DETAIL_TYPE;
  readonly detail: StatusEventDetail;
}

/** A message record as a stream image holds it, unmarshalled; only the fields read here are typed. */
export type RecordImage = Readonly<Record<string, unknown>>;

const isNotable = (status: unknown): status is NotableStatus =>
  (NOTABLE_STATUSES as readonly unknown[]).includes(status);

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

const timelineOf = (image: RecordImage | undefined): readonly Record<string, unknown>[] =>
  Array.isArray(image?.timeline) ? (image.timeline as Record<string, unknown>[]) : [];

/**
 * The status event of one write to the messages table, or null: an event only when the new image's `status`
 * differs from the old image's and is notable (the send-lane request items and rewrites that keep the status
 * give none). A DEFERRED → SENDING → DEFERRED cycle gives one DEFERRED event per deferral, each with its own
 * `sequence`. Fields are picked one by one: nothing of the subject, body or feedback payload is copied.
 */
export function statusEventOf(
  scope: Scope,
  oldImage: RecordImage | undefined,
  newImage: RecordImage | undefined,
): StatusEvent | null {
  if (!newImage) return null;
  const status = newImage.status;
  const previous = oldImage?.status;
  if (!isNotable(status) || status === previous) return null;
  const messageId = text(newImage.messageId);
  const tenantId = text(newImage.tenantId);
  if (!messageId || !tenantId) return null;
  const timeline = timelineOf(newImage);
  const sequence = Math.max(1, timeline.length);
  // A change made by provider feedback appends the feedback's lines: the one with the new status is the cause.
  const added = timeline.slice(timelineOf(oldImage).length).reverse();
  const cause =
    added.find((line) => line.status === status && text(line.event)) ??
    added.find((line) => text(line.event));
  const recipients = Array.isArray(newImage.recipients)
    ? newImage.recipients.filter((r): r is string => typeof r === 'string')
    : [];
  const candidate = {
    version: STATUS_EVENT_VERSION,
    id: `${messageId}:${status}:${sequence}`,
    scope,
    status,
    previousStatus: typeof previous === 'string' ? previous : null,
    sequence,
    at: text(newImage.updatedAt) ?? text(newImage.createdAt) ?? '',
    messageId,
    tenantId,
    environment: text(newImage.environment),
    eventId: text(newImage.eventId),
    eventType: text(newImage.eventType),
    definitionId: text(newImage.definitionId),
    itemKey: text(newImage.itemKey),
    category: text(newImage.category),
    recipients,
    recipient: text(cause?.recipient),
    feedbackEvent: text(cause?.event),
    reason: cause ? text(cause.detail) : text(newImage.reason),
    reasonCode: cause ? undefined : text(newImage.reasonCode),
    eligibleAt: status === S.DEFERRED ? text(newImage.eligibleAt) : undefined,
    method: text(newImage.method),
    providerMessageId: text(newImage.sesMessageId),
  };
  const detail = statusEventDetailSchema.parse(
    Object.fromEntries(Object.entries(candidate).filter(([, value]) => value !== undefined)),
  );
  return { source: STATUS_EVENT_SOURCE, detailType: STATUS_EVENT_DETAIL_TYPE, detail };
}

/**
 * Port: the bus that receives status events, in the order given. Resolves when all were accepted.
 * @throws StatusEventsNotPublishedError with how many, from the first, were accepted; the rest are to be retried.
 */
export interface StatusEventBus {
  put(events: readonly StatusEvent[]): Promise<void>;
}
