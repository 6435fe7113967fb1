import addressparser from 'nodemailer/lib/addressparser';
import MailComposer from 'nodemailer/lib/mail-composer';

export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

/** Converts bare LF line ends to CRLF, the form SMTP carries and DKIM signs. */
export const toCrlf = (text: string): string => text.replace(/\r?\n/g, '\r\n');

/**
 * The header section of a message (up to the first empty line), unfolded into fields in order. `raw` is a
 * binary string (one char per byte, as the emulator keeps messages); raw UTF-8 in header values is decoded.
 */
export function parseHeaders(raw: string): HeaderField[] {
  const end = raw.search(/\r?\n\r?\n/);
  const section = end === -1 ? raw : raw.slice(0, end);
  const fields: HeaderField[] = [];
  for (const line of section.split(/\r?\n/)) {
    const last = fields.at(-1);
    if (/^[ \t]/.test(line) && last) {
      fields[fields.length - 1] = { name: last.name, value: `${last.value} ${line.trim()}` };
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  return fields.map((field) => ({
    name: field.name,
    value: Buffer.from(field.value, 'latin1').toString('utf8'),
  }));
}

export function headerValues(headers: readonly HeaderField[], name: string): string[] {
  const key = name.toLowerCase();
  return headers.filter((field) => field.name.toLowerCase() === key).map((field) => field.value);
}

/** The bare addresses (`local@domain`) of address header values, groups flattened. */
export function addressesOf(values: readonly string[]): string[] {
  return values.flatMap((value) =>
    addressparser(value, { flatten: true })
      .map((entry) => entry.address)
      .filter((address) => address.includes('@')),
  );
}

/** The part of an address after the last `@`, lower-cased, without a trailing dot. */
export const domainOf = (address: string): string =>
  (address.slice(address.lastIndexOf('@') + 1) || '').toLowerCase().replace(/\.$/, '');

/** Decodes RFC 2047 encoded words (`=?utf-8?B?…?=`, `=?utf-8?Q?…?=`) for display and commonHeaders. */
export function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_, _charset: string, encoding: string, text: string) => {
      if (encoding.toUpperCase() === 'B') return Buffer.from(text, 'base64').toString('utf8');
      const bytes = text
        .replace(/_/g, ' ')
        .replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
      return Buffer.from(bytes, 'latin1').toString('utf8');
    });
}

/**
 * Adds the `Message-ID` and `Date` headers SES adds when a message lacks them; every other byte of the
 * message stays as the caller sent it.
 */
export function withTransportHeaders(raw: string, messageId: string, now: Date): string {
  const headers = parseHeaders(raw);
  let added = '';
  if (headerValues(headers, 'Message-ID').length === 0)
    added += `Message-ID: <${messageId}@email.amazonses.com>\r\n`;
  if (headerValues(headers, 'Date').length === 0)
    added += `Date: ${now.toUTCString().replace('GMT', '+0000')}\r\n`;
  return `${added}${raw}`;
}

export interface SimpleContent {
  readonly from: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly replyTo: readonly string[];
  readonly subject: string;
  readonly text?: string;
  readonly html?: string;
  readonly headers: readonly HeaderField[];
  readonly attachments: readonly {
    readonly content: Buffer;
    readonly filename: string;
    readonly contentType?: string;
    readonly contentDisposition?: string;
    readonly cid?: string;
  }[];
}

/**
 * Builds the MIME message SES makes from `Content.Simple` (Bcc recipients are not written into it), as a
 * binary string (one char per byte).
 */
export async function composeSimple(content: SimpleContent, messageId: string): Promise<string> {
  const composer = new MailComposer({
    messageId: `<${messageId}@email.amazonses.com>`,
    from: content.from,
    ...(content.to.length > 0 ? { to: [...content.to] } : {}),
    ...(content.cc.length > 0 ? { cc: [...content.cc] } : {}),
    ...(content.replyTo.length > 0 ? { replyTo: [...content.replyTo] } : {}),
    subject: content.subject,
    ...(content.text !== undefined ? { text: content.text } : {}),
    ...(content.html !== undefined ? { html: content.html } : {}),
    headers: content.headers.map((field) => ({ key: field.name, value: field.value })),
    attachments: content.attachments.map((attachment) => ({
      content: attachment.content,
      filename: attachment.filename,
      ...(attachment.contentType ? { contentType: attachment.contentType } : {}),
      ...(attachment.contentDisposition
        ? { contentDisposition: attachment.contentDisposition.toLowerCase() }
        : {}),
      ...(attachment.cid ? { cid: attachment.cid } : {}),
    })),
  });
  const node = composer.compile();
  node.keepBcc = false;
  const built = await node.build();
  return toCrlf(built.toString('latin1'));
}
