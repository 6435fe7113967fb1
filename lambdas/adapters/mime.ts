import MailComposer from 'nodemailer/lib/mail-composer';
import { PermanentError } from '../domain/errors';
import type { OutgoingEmail } from '../domain/sending/ports';

/**
 * SES v2 accepts a raw message of at most 40 MB after base64 encoding, so at most 30 MB of MIME.
 * (The send queue's own message limit keeps real messages far below this.)
 */
export const MAX_RAW_MESSAGE_BYTES = Math.floor((40 * 1024 * 1024 * 3) / 4);

export class MessageTooLargeError extends PermanentError {
  constructor(bytes: number) {
    super(
      'MESSAGE_TOO_LARGE',
      `the composed message is ${bytes} bytes; SES accepts at most ${MAX_RAW_MESSAGE_BYTES}`,
    );
    this.name = 'MessageTooLargeError';
  }
}

/** The envelope and the RFC 5322 message for one email, shared by every sending method. */
export interface RawEmail {
  readonly from: string;
  /** Every recipient, Bcc included (Bcc is not written into the headers). */
  readonly recipients: readonly string[];
  readonly data: Buffer;
}

/** Builds the MIME message with nodemailer's composer (header encoding, folding, multipart alternative). */
export async function buildRawEmail(email: OutgoingEmail, messageIdDomain: string): Promise<RawEmail> {
  const composer = new MailComposer({
    from: email.from.name ? { name: email.from.name, address: email.from.address } : email.from.address,
    ...(email.replyTo ? { replyTo: email.replyTo.address } : {}),
    to: [...email.to],
    cc: [...email.cc],
    subject: email.subject,
    ...(email.html !== undefined ? { html: email.html } : {}),
    ...(email.text !== undefined ? { text: email.text } : {}),
    headers: { ...email.headers },
    messageId: `<${email.messageId}@${messageIdDomain}>`,
  });
  const data = await composer.compile().build();
  if (data.length > MAX_RAW_MESSAGE_BYTES) throw new MessageTooLargeError(data.length);
  return { from: email.from.address, recipients: [...email.to, ...email.cc, ...email.bcc], data };
}
