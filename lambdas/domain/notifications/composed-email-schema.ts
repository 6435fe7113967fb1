import * as z from '../../shared/zod';
import {
  customHeadersSchema,
  emailAddress,
  headerValue,
  MAX_HEADER_VALUE_LENGTH,
} from '../sending/mail-policy';
import { type SendRequest, sendRequestSchema } from '../sending/send-request';
import { MAX_RECIPIENTS_PER_MESSAGE, mailboxSchema } from './email-address';
import { environmentSchema, tenantIdSchema } from './event-schema';
import { InvalidComposedEmailError } from './notification-errors';
import { toValidationIssues } from './zod-issues';

/** `transactional` mail (receipts, one invoice) goes ahead of `bulk` mail (bill runs, statements). */
export const EMAIL_CATEGORIES = [
  'transactional',
  'bulk',
] as const satisfies readonly SendRequest['category'][];
export type EmailCategory = SendRequest['category'];
export const emailCategorySchema = z.enum(EMAIL_CATEGORIES, { error: 'must be "transactional" or "bulk"' });

/** Largest HTML or text body accepted in one message (characters); an SQS message cannot carry more anyway. */
export const MAX_BODY_LENGTH = 1_000_000;

const recipients = z.array(mailboxSchema).check(z.maxLength(MAX_RECIPIENTS_PER_MESSAGE));

/**
 * The second message type: an email the platform already composed, sent as is (no definition, no template).
 * It is the events-queue form of the send-queue message (`sendRequestSchema`), stricter where the platform
 * writes it directly (an idempotency key is required, only `X-` custom headers, recipients as addresses or
 * `{ email, name }`); {@link composedToSendRequest} turns it into the one send-queue message the sender reads.
 * Every header-bound value (subject, display names, custom header values, idempotency key) is CR/LF-checked,
 * addresses are validated, and to + cc + bcc together hold at most 50 recipients (the SES limit).
 * `category` defaults to `transactional`. The sender's idempotency ledger keys it by tenant + `idempotencyKey`.
 */
export const composedEmailSchema = z
  .strictObject({
    tenantId: tenantIdSchema,
    environment: environmentSchema,
    idempotencyKey: z
      .string()
      .check(
        z.minLength(1, 'must not be empty'),
        z.maxLength(256),
        z.regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
      ),
    to: recipients.check(z.minLength(1, 'must name at least one recipient')),
    cc: z._default(recipients, []),
    bcc: z._default(recipients, []),
    /** From for the `advanced` method, authorised by the tenant's verified identities like the send queue's. */
    from: z.optional(emailAddress),
    replyTo: z.optional(emailAddress),
    subject: headerValue(998).check(z.minLength(1, 'must not be empty')),
    html: z.optional(z.string().check(z.maxLength(MAX_BODY_LENGTH))),
    text: z.optional(z.string().check(z.maxLength(MAX_BODY_LENGTH))),
    category: z._default(emailCategorySchema, 'transactional'),
    headers: z._default(customHeadersSchema(headerValue(MAX_HEADER_VALUE_LENGTH)), {}),
  })
  .check(
    z.superRefine((email, ctx) => {
      if (email.html === undefined && email.text === undefined) {
        ctx.addIssue({ code: 'custom', path: ['html'], message: 'html or text (or both) is required' });
      }
      const total = email.to.length + email.cc.length + email.bcc.length;
      if (total > MAX_RECIPIENTS_PER_MESSAGE) {
        ctx.addIssue({
          code: 'custom',
          path: ['to'],
          message: `to, cc and bcc hold ${total} recipients; at most ${MAX_RECIPIENTS_PER_MESSAGE} are allowed`,
        });
      }
    }),
  );

export type ComposedEmail = z.infer<typeof composedEmailSchema>;

/**
 * Validates an already JSON-parsed composed email.
 * @throws InvalidComposedEmailError listing every issue with its field path.
 */
export function parseComposedEmail(input: unknown): ComposedEmail {
  const result = composedEmailSchema.safeParse(input);
  if (!result.success) throw new InvalidComposedEmailError(toValidationIssues(result.error));
  return result.data;
}

/**
 * The send-queue message for a composed email, validated by `sendRequestSchema` (the sender's own contract).
 * The send queue addresses recipients by address only: display names and `replyTo` are validated here but not
 * carried (the sender sets Reply-To per sending method).
 */
export function composedToSendRequest(email: ComposedEmail): SendRequest {
  return sendRequestSchema.parse({
    type: 'email',
    idempotencyKey: email.idempotencyKey,
    tenantId: email.tenantId,
    environment: email.environment,
    to: email.to.map((mailbox) => mailbox.email),
    cc: email.cc.map((mailbox) => mailbox.email),
    bcc: email.bcc.map((mailbox) => mailbox.email),
    ...(email.from === undefined ? {} : { from: email.from }),
    subject: email.subject,
    ...(email.html === undefined ? {} : { html: email.html }),
    ...(email.text === undefined ? {} : { text: email.text }),
    category: email.category,
    headers: email.headers,
  });
}
