import * as z from '../../shared/zod';
import { displayName, emailAddress } from '../sending/mail-policy';
import { MAX_RECIPIENTS } from '../sending/send-request';

/** SES and SMTP hard limit on recipients of one message (to + cc + bcc): the send queue's own limit. */
export const MAX_RECIPIENTS_PER_MESSAGE = MAX_RECIPIENTS;

/** The key two spellings of one mailbox share, used to de-duplicate recipients and in job ids. */
export function recipientKey(address: string): string {
  return address.trim().toLowerCase();
}

/** A recipient after normalisation. */
export interface Mailbox {
  readonly email: string;
  readonly name?: string;
}

/**
 * A recipient given as `"a@b.example"` or `{ "email": "a@b.example", "name": "Ann" }`, normalised to a
 * {@link Mailbox}. The address and the display name follow the one mail policy (`sending/mail-policy.ts`).
 */
export const mailboxSchema = z.pipe(
  z.transform((value: unknown) => (typeof value === 'string' ? { email: value } : value)),
  z.strictObject({ email: emailAddress, name: z.optional(displayName(200)) }),
);
