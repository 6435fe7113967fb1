import { z } from 'zod';
import { MAX_RECIPIENTS } from '../sending/send-request';

/** Characters allowed in an unquoted local part (RFC 5322 `atext`). */
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
const LOCAL_PART = new RegExp(`^${ATEXT}+(\\.${ATEXT}+)*$`);
const DOMAIN_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const TOP_LEVEL = /^(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$/;

/** SES and SMTP hard limit on recipients of one message (to + cc + bcc): the send queue's own limit. */
export const MAX_RECIPIENTS_PER_MESSAGE = MAX_RECIPIENTS;

/**
 * Why an address is not sendable, or `undefined` when it is. Deliberately stricter than RFC 5321: no quoted local
 * parts, no IP literals, ASCII only (internationalised domains must arrive as punycode `xn--`), at most 254
 * characters — the subset SES and common relays accept without surprises.
 */
export function emailAddressProblem(address: string): string | undefined {
  if (address.length === 0) return 'is empty';
  if (address.length > 254) return 'is longer than 254 characters';
  if (/[\r\n]/.test(address)) return 'contains a line break';
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return 'is not of the form local@domain';
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64) return 'has a local part longer than 64 characters';
  if (!LOCAL_PART.test(local)) return 'has an invalid local part';
  const labels = domain.split('.');
  if (labels.length < 2 || labels.some((label) => !DOMAIN_LABEL.test(label))) return 'has an invalid domain';
  if (!TOP_LEVEL.test(labels[labels.length - 1] ?? '')) return 'has an invalid top-level domain';
  return undefined;
}

/** True when `address` passes {@link emailAddressProblem}. */
export function isValidEmailAddress(address: string): boolean {
  return emailAddressProblem(address) === undefined;
}

/** The key two spellings of one mailbox share, used to de-duplicate recipients and in job ids. */
export function recipientKey(address: string): string {
  return address.trim().toLowerCase();
}

/** True when `value` holds a control character other than tab, CR and LF (which callers check separately). */
export function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) || code === 0x7f) return true;
  }
  return false;
}

/** A string that ends up in a mail header: no CR or LF (header injection), no other control characters. */
export function headerSafeString(max: number) {
  return z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !/[\r\n]/.test(value), 'must not contain a line break (CR or LF)')
    .refine((value) => !hasControlCharacter(value), 'must not contain control characters');
}

/** A validated email address (trimmed first). */
export const emailAddressSchema = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    const problem = emailAddressProblem(value);
    if (problem)
      ctx.addIssue({ code: 'custom', message: `email address ${JSON.stringify(value)} ${problem}` });
  });

/** A recipient after normalisation. */
export interface Mailbox {
  readonly email: string;
  readonly name?: string;
}

/**
 * A recipient given as `"a@b.example"` or `{ "email": "a@b.example", "name": "Ann" }`, normalised to a
 * {@link Mailbox}. The display name is header-bound, so it is CR/LF-checked too.
 */
export const mailboxSchema = z.preprocess(
  (value) => (typeof value === 'string' ? { email: value } : value),
  z.strictObject({ email: emailAddressSchema, name: headerSafeString(200).optional() }),
);
