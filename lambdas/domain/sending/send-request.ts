import { createHash } from 'node:crypto';
import * as z from '../../shared/zod';
import type { LaneMessage } from '../message/send-lanes';
import { ENVIRONMENTS } from '../scope';
import {
  customHeadersSchema,
  displayName,
  emailAddress,
  headerValue,
  MAX_HEADER_VALUE_LENGTH,
} from './mail-policy';

/** SES accepts at most 50 recipients (To + Cc + Bcc) per message. */
export const MAX_RECIPIENTS = 50;

const addressList = z
  .array(emailAddress)
  .check(z.maxLength(MAX_RECIPIENTS, `at most ${MAX_RECIPIENTS} recipients (to + cc + bcc) per email`));

/**
 * The message the send queue carries: one email, already composed (by the platform directly, or by the
 * dispatcher from an event, a definition and a template). Every value that ends up in a header is checked
 * for CR/LF; recipients are counted against the SES limit.
 */
export const sendRequestSchema = z
  .strictObject({
    type: z._default(z.literal('email'), 'email'),
    /** Caller's key for this email; redelivery with the same key never sends twice. */
    idempotencyKey: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
    tenantId: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'tenantId is 1-64 letters, digits, _ or -')),
    environment: z.enum(ENVIRONMENTS),
    to: z._default(addressList, []),
    cc: z._default(addressList, []),
    bcc: z._default(addressList, []),
    /** From address for the `advanced` method (must be covered by a verified identity); refused by the others. */
    from: z.optional(emailAddress),
    /**
     * Display name in From for `advanced` and `external-smtp` (a `default` sender's From name is always the
     * tenant's, so there it is refused). @default the tenant's display name
     */
    fromName: z.optional(displayName(100)),
    subject: headerValue(998).check(z.minLength(1, 'subject is required')),
    html: z.optional(z.string()),
    text: z.optional(z.string()),
    category: z._default(z.enum(['transactional', 'bulk']), 'transactional'),
    headers: z._default(customHeadersSchema(headerValue(MAX_HEADER_VALUE_LENGTH)), {}),
    /** Set by the dispatcher: the event and definition this email came from. */
    eventId: z.optional(headerValue(256)),
    definitionId: z.optional(headerValue(128)),
  })
  .check(
    z.refine((r) => r.to.length + r.cc.length + r.bcc.length > 0, {
      message: 'at least one recipient is required',
      path: ['to'],
    }),
    z.refine((r) => r.to.length + r.cc.length + r.bcc.length <= MAX_RECIPIENTS, {
      message: `at most ${MAX_RECIPIENTS} recipients (to + cc + bcc) per email`,
      path: ['to'],
    }),
    z.refine((r) => r.html !== undefined || r.text !== undefined, {
      message: 'html or text is required',
      path: ['html'],
    }),
  );

export type SendRequest = z.infer<typeof sendRequestSchema>;

/** Turns zod issues into one line an operator can read: `to.3: is not a valid email address; subject: …`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(message)'}: ${issue.message}`).join('; ');
}

/**
 * The message id, which is also the idempotency ledger key: derived from the tenant and the idempotency key
 * (`idempotencyKeyOf`).
 */
/** The key of a batch of jobs (`MessageLedger.markPublished`): a hash of their message ids, in order. */
export function publishedBatchKey(messageIds: readonly string[]): string {
  return createHash('sha256').update(messageIds.join('\n')).digest('hex').slice(0, 32);
}

export function messageIdFor(tenantId: string, key: string): string {
  return createHash('sha256').update(`${tenantId}\u0000${key}`).digest('hex').slice(0, 32);
}

/**
 * The key of a send-lane body: the caller's `idempotencyKey`, or, without one, a hash of the body itself, so
 * copies of the same body (a producer's retry, a redrive, a deferral) are one email. Never the SQS message id,
 * which differs for every copy.
 */
export function idempotencyKeyOf(
  request: { readonly idempotencyKey?: string | undefined },
  body: string,
): string {
  return request.idempotencyKey ?? `body:${createHash('sha256').update(body).digest('hex').slice(0, 40)}`;
}

/** A validated request as a send-lane message, its key written into the body. */
export function laneMessage(
  request: SendRequest,
  key = idempotencyKeyOf(request, JSON.stringify(request)),
): LaneMessage {
  return {
    messageId: messageIdFor(request.tenantId, key),
    tenantId: request.tenantId,
    category: request.category,
    body: JSON.stringify({ ...request, idempotencyKey: key }),
  };
}

/**
 * A raw body (from a dead-letter queue or a kept request) as a send-lane message. A body that does not validate
 * goes back as it is: the sender records it REJECTED with the reason, under the id of its body hash.
 */
export function laneMessageFromBody(body: string): LaneMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const request = sendRequestSchema.safeParse(parsed);
  if (request.success) return laneMessage(request.data, idempotencyKeyOf(request.data, body));
  const tenantId = (parsed as { tenantId?: unknown } | undefined)?.tenantId;
  const category =
    (parsed as { category?: unknown } | undefined)?.category === 'bulk' ? 'bulk' : 'transactional';
  const tenant = typeof tenantId === 'string' && tenantId.length <= 64 ? tenantId : '_invalid';
  return {
    messageId: messageIdFor('_invalid', idempotencyKeyOf({}, body)),
    tenantId: tenant,
    category,
    body,
  };
}
