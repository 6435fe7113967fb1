import * as z from '../../shared/zod';
import { ENVIRONMENTS } from '../scope';
import { InvalidEventError } from './notification-errors';
import { toValidationIssues } from './zod-issues';

/**
 * Well-known event types. Naming scheme: `com.tenantmail.<entity>.<past-tense verb>`, lower case, words in an
 * entity joined by `-` (see docs/events.md). The `com.tenantmail.` namespace is reserved: an unknown type inside
 * it is rejected, while any other reverse-DNS type (`com.acme.subscription.renewed`) is a custom event whose
 * `data` is any JSON object.
 */
export const EVENT_TYPES = {
  InvoicePosted: 'com.tenantmail.invoice.posted',
  PaymentProcessed: 'com.tenantmail.payment.processed',
  AccountStatementProcessed: 'com.tenantmail.account-statement.processed',
  BillRunCompleted: 'com.tenantmail.bill-run.completed',
} as const;

export type KnownEventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

/** Prefix reserved for the well-known types above. */
export const RESERVED_TYPE_PREFIX = 'com.tenantmail.';

const KNOWN_TYPES: ReadonlySet<string> = new Set(Object.values(EVENT_TYPES));

/** Reverse-DNS type name: at least three lower-case dot-separated words, e.g. `com.acme.usage.threshold-reached`. */
const TYPE_PATTERN = /^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*){2,}$/;

/** Tenant ids as the platform issues them: 1–64 letters, digits, `_` or `-`, starting with a letter or digit. */
export const tenantIdSchema = z
  .string()
  .check(
    z.regex(
      /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/,
      'must be 1-64 letters, digits, "_" or "-", starting with a letter or digit',
    ),
  );

export const environmentSchema = z.enum(ENVIRONMENTS, {
  error: `must be one of ${ENVIRONMENTS.join(', ')}`,
});

/** Amounts are decimal strings (`"1250.00"`) so no floating-point rounding happens between billing and the email. */
const amount = z
  .string()
  .check(z.regex(/^-?\d{1,15}(\.\d{1,6})?$/, 'must be a decimal string such as "1250.00"'));
const currency = z.string().check(z.regex(/^[A-Z]{3}$/, 'must be a 3-letter ISO 4217 code such as "EUR"'));
const isoDate = z.iso.date({ error: 'must be a date as YYYY-MM-DD' });
const url = z.url({ protocol: /^https$/, error: 'must be an https URL' });
const id = z.string().check(z.minLength(1, 'must not be empty'), z.maxLength(128));

/**
 * A contact the notification may be addressed to. `email` is kept loose on purpose: one bad bill-to address must
 * reject that one email (with a reason), not the whole event and every other invoice in the bill run.
 */
const contact = z.looseObject({
  name: z.optional(z.string().check(z.maxLength(200))),
  email: z.optional(z.string().check(z.maxLength(320))),
});

/** An invoice as carried by InvoicePosted (the whole `data`) and BillRunCompleted (each `data.invoices[]`). */
export const invoiceSchema = z.looseObject({
  invoiceId: id,
  invoiceNumber: id,
  accountId: id,
  accountNumber: z.optional(id),
  accountName: z.optional(z.string().check(z.maxLength(200))),
  invoiceDate: isoDate,
  dueDate: isoDate,
  currency,
  amount,
  balance: z.optional(amount),
  billTo: contact,
  pdfUrl: z.optional(url),
});

export const invoicePostedDataSchema = invoiceSchema;

export const paymentProcessedDataSchema = z.looseObject({
  paymentId: id,
  paymentNumber: id,
  accountId: id,
  accountNumber: z.optional(id),
  accountName: z.optional(z.string().check(z.maxLength(200))),
  effectiveDate: isoDate,
  currency,
  amount,
  paymentMethod: z.optional(
    z.looseObject({
      type: z.string().check(z.maxLength(64)),
      last4: z.optional(z.string().check(z.maxLength(4))),
    }),
  ),
  appliedTo: z.optional(z.array(z.looseObject({ invoiceNumber: id, amount })).check(z.maxLength(1000))),
  billTo: contact,
});

export const accountStatementProcessedDataSchema = z.looseObject({
  statementId: id,
  accountId: id,
  accountNumber: z.optional(id),
  accountName: z.optional(z.string().check(z.maxLength(200))),
  periodStart: isoDate,
  periodEnd: isoDate,
  currency,
  openingBalance: amount,
  closingBalance: amount,
  statementUrl: z.optional(url),
  billTo: contact,
});

/**
 * A completed bill run: one event, many invoices, each with its own bill-to contact. A definition fans it out
 * with `forEach: { items: '$.invoices', key: '$.invoiceId' }`. The queue's message size (1 MiB on SQS) bounds how
 * many invoices one event can carry; a larger run is published as several events, each with its own `id` and
 * a `part` number.
 */
export const billRunCompletedDataSchema = z.looseObject({
  billRunId: id,
  billRunNumber: z.optional(id),
  targetDate: isoDate,
  part: z.optional(z.looseObject({ index: z.int().check(z.gte(1)), count: z.int().check(z.gte(1)) })),
  invoices: z.array(invoiceSchema).check(z.maxLength(100_000, 'must carry at most 100000 invoices')),
});

/** Custom events: a JSON object of the producer's own shape as data. */
export const customDataSchema = z.record(z.string(), z.unknown());

const DATA_SCHEMAS: Record<KnownEventType, z.ZodType<Record<string, unknown>>> = {
  [EVENT_TYPES.InvoicePosted]: invoicePostedDataSchema,
  [EVENT_TYPES.PaymentProcessed]: paymentProcessedDataSchema,
  [EVENT_TYPES.AccountStatementProcessed]: accountStatementProcessedDataSchema,
  [EVENT_TYPES.BillRunCompleted]: billRunCompletedDataSchema,
};

/**
 * The CloudEvents 1.0 envelope (structured JSON mode). `tenantid` and `environment` are extension attributes
 * (CloudEvents allows only lower-case alphanumeric extension names). Only JSON data is accepted.
 */
export const cloudEventEnvelopeSchema = z.object({
  specversion: z.literal('1.0', { error: 'must be "1.0" (CloudEvents 1.0)' }),
  id: z
    .string()
    .check(
      z.minLength(1, 'must not be empty'),
      z.maxLength(256),
      z.regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
    ),
  source: z.string().check(z.minLength(1, 'must not be empty'), z.maxLength(512)),
  type: z.string().check(
    z.maxLength(256),
    z.regex(TYPE_PATTERN, 'must be a reverse-DNS name such as com.tenantmail.invoice.posted'),
    z.refine(
      (type) => !type.startsWith(RESERVED_TYPE_PREFIX) || KNOWN_TYPES.has(type),
      `is in the reserved ${RESERVED_TYPE_PREFIX} namespace but is not one of ${[...KNOWN_TYPES].join(', ')}`,
    ),
  ),
  time: z.iso.datetime({ offset: true, error: 'must be an RFC 3339 timestamp such as 2025-03-01T09:30:00Z' }),
  datacontenttype: z.optional(
    z
      .string()
      .check(
        z.regex(
          /^application\/(?:[\w.+-]+\+)?json(?:\s*;.*)?$/i,
          'must be a JSON media type (application/json)',
        ),
      ),
  ),
  dataschema: z.optional(z.string().check(z.maxLength(512))),
  subject: z.optional(z.string().check(z.maxLength(512))),
  tenantid: tenantIdSchema,
  environment: environmentSchema,
  data: z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }),
});

export type CloudEventEnvelope = z.infer<typeof cloudEventEnvelopeSchema>;

/** A validated event: the envelope with `data` checked against its type's schema (extra data fields are kept). */
export type NotificationEvent = CloudEventEnvelope;

/** True when `type` is one of {@link EVENT_TYPES}. */
export function isKnownEventType(type: string): type is KnownEventType {
  return KNOWN_TYPES.has(type);
}

/**
 * Validates an already JSON-parsed message as a notification event.
 * @throws InvalidEventError listing every issue with its field path (e.g. `data.invoices[3].currency`).
 */
export function parseNotificationEvent(input: unknown): NotificationEvent {
  const envelope = cloudEventEnvelopeSchema.safeParse(input);
  if (!envelope.success) {
    // Report data problems of a known type in the same error, so a producer fixes everything in one round.
    const raw = (input ?? {}) as { type?: unknown; data?: unknown };
    const issues = toValidationIssues(envelope.error);
    if (
      typeof raw.type === 'string' &&
      isKnownEventType(raw.type) &&
      !issues.some((i) => i.path === 'data')
    ) {
      const data = DATA_SCHEMAS[raw.type].safeParse(raw.data);
      if (!data.success) issues.push(...toValidationIssues(data.error, ['data']));
    }
    throw new InvalidEventError(issues);
  }
  const event = envelope.data;
  const dataSchema = isKnownEventType(event.type) ? DATA_SCHEMAS[event.type] : customDataSchema;
  const data = dataSchema.safeParse(event.data);
  if (!data.success) throw new InvalidEventError(toValidationIssues(data.error, ['data']));
  return { ...event, data: data.data };
}

/** Parses the JSON body of a queue message, then validates it with {@link parseNotificationEvent}. */
export function parseNotificationEventJson(body: string): NotificationEvent {
  let input: unknown;
  try {
    input = JSON.parse(body);
  } catch (error) {
    throw new InvalidEventError([{ path: '', message: `body is not JSON (${(error as Error).message})` }], {
      cause: error,
    });
  }
  return parseNotificationEvent(input);
}
