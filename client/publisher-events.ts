import { createHash } from 'node:crypto';
import type { composedEmailSchema } from '../lambdas/domain/notifications/composed-email-schema';
import type {
  accountStatementProcessedDataSchema,
  billRunCompletedDataSchema,
  invoicePostedDataSchema,
  paymentProcessedDataSchema,
} from '../lambdas/domain/notifications/event-schema';
import { EVENT_TYPES } from '../lambdas/domain/notifications/event-schema';
import type * as z from '../lambdas/shared/zod';

/**
 * Typed builders for what a producer puts on the events queue: the four billing events, custom events and
 * composed emails. A builder never throws: `Publisher.publish` validates every message with the dispatcher's
 * own schemas and reports a bad one as failed, so one broken event does not stop the others.
 */

/** Attributes every event carries besides its type and data. */
export interface EventAttributes {
  readonly tenantId: string;
  readonly environment: string;
  /** URI reference of the producer, e.g. `https://billing.platform.example/tenants/acme`. */
  readonly source: string;
  /**
   * The CloudEvents id. @default derived from tenant, environment, type and the business key (invoice id,
   * payment id, statement id, bill-run id, a custom event's `key`), so publishing the same thing again yields
   * the same id and the dispatcher sends nothing twice.
   */
  readonly id?: string;
  /** RFC 3339 timestamp. @default now */
  readonly time?: string;
  readonly subject?: string;
  readonly dataschema?: string;
}

/** A CloudEvent as the dispatcher reads it (structured JSON mode), not yet validated. */
export interface CloudEventMessage {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly time: string;
  readonly datacontenttype: 'application/json';
  readonly subject?: string;
  readonly dataschema?: string;
  readonly tenantid: string;
  readonly environment: string;
  readonly data: Record<string, unknown>;
}

/** One message for `publish`: an event, or an email the platform composed itself. */
export type OutboundMessage =
  | { readonly kind: 'event'; readonly event: CloudEventMessage }
  | { readonly kind: 'composed-email'; readonly email: ComposedEmailInput };

export type ComposedEmailInput = z.input<typeof composedEmailSchema>;

export type InvoiceData = z.input<typeof invoicePostedDataSchema>;
export type PaymentData = z.input<typeof paymentProcessedDataSchema>;
export type AccountStatementData = z.input<typeof accountStatementProcessedDataSchema>;
/** A bill run; leave `part` out — the publisher splits a run too big for one message and numbers the parts. */
export type BillRunData = z.input<typeof billRunCompletedDataSchema>;

export function invoicePosted(attributes: EventAttributes, data: InvoiceData): OutboundMessage {
  return event(attributes, EVENT_TYPES.InvoicePosted, data, data.invoiceId);
}

export function paymentProcessed(attributes: EventAttributes, data: PaymentData): OutboundMessage {
  return event(attributes, EVENT_TYPES.PaymentProcessed, data, data.paymentId);
}

export function accountStatementProcessed(
  attributes: EventAttributes,
  data: AccountStatementData,
): OutboundMessage {
  return event(attributes, EVENT_TYPES.AccountStatementProcessed, data, data.statementId);
}

export function billRunCompleted(attributes: EventAttributes, data: BillRunData): OutboundMessage {
  return event(attributes, EVENT_TYPES.BillRunCompleted, data, data.billRunId);
}

/**
 * A custom event (`com.acme.subscription.renewed`): any JSON object as data. `key` is the business key that
 * makes the derived id deterministic; without it the id is derived from the data itself.
 */
export function customEvent(
  attributes: EventAttributes & { readonly type: string; readonly key?: string },
  data: Record<string, unknown>,
): OutboundMessage {
  const { type, key, ...rest } = attributes;
  return event(rest, type, data, key);
}

/** An email sent as is; its required `idempotencyKey` is what makes a retried publish send it once. */
export function composedEmail(email: ComposedEmailInput): OutboundMessage {
  return { kind: 'composed-email', email };
}

function event(
  attributes: EventAttributes,
  type: string,
  data: Record<string, unknown>,
  key: unknown,
): OutboundMessage {
  const businessKey = typeof key === 'string' && key !== '' ? key : `data:${canonicalJson(data)}`;
  return {
    kind: 'event',
    event: {
      specversion: '1.0',
      id: attributes.id ?? deriveEventId(attributes.tenantId, attributes.environment, type, businessKey),
      source: attributes.source,
      type,
      time: attributes.time ?? new Date().toISOString(),
      datacontenttype: 'application/json',
      ...(attributes.subject === undefined ? {} : { subject: attributes.subject }),
      ...(attributes.dataschema === undefined ? {} : { dataschema: attributes.dataschema }),
      tenantid: attributes.tenantId,
      environment: attributes.environment,
      data,
    },
  };
}

/**
 * A deterministic event id: `<last word of the type>-<32 hex of SHA-256(tenant, environment, type, key)>`.
 * The dispatcher's job ids hash the event id, so the same id means the same jobs and no second email.
 */
export function deriveEventId(tenantId: string, environment: string, type: string, key: string): string {
  const digest = sha256([tenantId, environment, type, key].join('\n')).slice(0, 32);
  return `${type.split('.').at(-2) ?? 'event'}-${digest}`;
}

/** Id of part `index` of `count` of event `baseId`: readable when it fits the 256-character id limit. */
export function partEventId(baseId: string, index: number, count: number): string {
  const id = `${baseId}-part-${index}-of-${count}`;
  return id.length <= MAX_EVENT_ID_LENGTH ? id : `part-${sha256(id)}`;
}

export const MAX_EVENT_ID_LENGTH = 256;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** JSON with object keys sorted, so the same data always hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
