import { decodeWords, type HeaderField, headerValues, parseHeaders } from '../ses/mime-message';

/** One leaf part of a MIME message, decoded for display. */
export interface MimeLeaf {
  /** Lower-cased media type, `text/plain` when the part has none. */
  readonly contentType: string;
  readonly filename?: string;
  /** Decoded size in bytes. */
  readonly size: number;
  /** Decoded text of `text/*` parts; absent for other types. */
  readonly text?: string;
}

/** What the viewer shows of a raw message: header fields (encoded words decoded), bodies and parts. */
export interface ParsedMessage {
  readonly headers: readonly HeaderField[];
  /** The first `text/html` part that is not an attachment. */
  readonly html?: string;
  /** The first `text/plain` part that is not an attachment. */
  readonly text?: string;
  readonly parts: readonly MimeLeaf[];
}

/** Nesting depth past which parts are not opened (a hostile message cannot make the viewer recurse forever). */
const MAX_DEPTH = 8;

interface ContentType {
  readonly type: string;
  readonly params: Readonly<Record<string, string>>;
}

/** `text/html; charset="utf-8"` → type and lower-cased parameter names with unquoted values. */
function parseContentType(value: string | undefined): ContentType {
  const [type = '', ...rest] = (value ?? 'text/plain').split(';');
  const params: Record<string, string> = {};
  for (const param of rest) {
    const eq = param.indexOf('=');
    if (eq <= 0) continue;
    params[param.slice(0, eq).trim().toLowerCase()] = param
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
  }
  return { type: type.trim().toLowerCase() || 'text/plain', params };
}

function splitEntity(entity: string): { headers: HeaderField[]; body: string } {
  const match = /\r?\n\r?\n/.exec(entity);
  if (!match) return { headers: parseHeaders(entity), body: '' };
  return {
    headers: parseHeaders(entity.slice(0, match.index)),
    body: entity.slice(match.index + match[0].length),
  };
}

function decodeBody(body: string, encoding: string | undefined): Buffer {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    case 'quoted-printable':
      return Buffer.from(
        body
          .replace(/=\r?\n/g, '')
          .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
        'latin1',
      );
    default:
      return Buffer.from(body, 'latin1');
  }
}

function decodeText(bytes: Buffer, charset: string | undefined): string {
  try {
    return new TextDecoder(charset || 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

function collect(entity: string, depth: number, leaves: MimeLeaf[]): void {
  const { headers, body } = splitEntity(entity);
  const contentType = parseContentType(headerValues(headers, 'content-type')[0]);
  const boundary = contentType.params.boundary;
  if (contentType.type.startsWith('multipart/') && boundary && depth < MAX_DEPTH) {
    const delimiter = `--${boundary}`;
    const sections = body.split(/\r?\n/);
    let current: string[] | undefined;
    for (const line of sections) {
      if (line === delimiter || line === `${delimiter}--`) {
        if (current) collect(current.join('\r\n'), depth + 1, leaves);
        current = line === delimiter ? [] : undefined;
        if (!current) break;
        continue;
      }
      current?.push(line);
    }
    return;
  }
  const disposition = headerValues(headers, 'content-disposition')[0] ?? '';
  const dispositionParams = parseContentType(`x/x;${disposition.split(';').slice(1).join(';')}`).params;
  const filename = dispositionParams.filename ?? contentType.params.name;
  const bytes = decodeBody(body, headerValues(headers, 'content-transfer-encoding')[0]);
  const attachment = /^\s*attachment/i.test(disposition);
  leaves.push({
    contentType: contentType.type,
    ...(filename ? { filename: decodeWords(filename) } : {}),
    size: bytes.length,
    ...(contentType.type.startsWith('text/') && !attachment
      ? { text: decodeText(bytes, contentType.params.charset) }
      : {}),
  });
}

/**
 * Reads a raw RFC 5322 message well enough to show it: the header fields, the HTML and plain-text bodies
 * (base64 and quoted-printable decoded, charset honoured) and a list of every leaf part.
 */
export function parseMessage(rawMessage: string): ParsedMessage {
  const leaves: MimeLeaf[] = [];
  collect(rawMessage, 0, leaves);
  const headers = splitEntity(rawMessage).headers.map((field) => ({
    name: field.name,
    value: decodeWords(field.value),
  }));
  const html = leaves.find((leaf) => leaf.contentType === 'text/html' && leaf.text !== undefined)?.text;
  const text = leaves.find((leaf) => leaf.contentType === 'text/plain' && leaf.text !== undefined)?.text;
  return {
    headers,
    ...(html !== undefined ? { html } : {}),
    ...(text !== undefined ? { text } : {}),
    parts: leaves,
  };
}
