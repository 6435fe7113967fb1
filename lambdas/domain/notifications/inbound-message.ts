import { type ComposedEmail, parseComposedEmail } from './composed-email-schema';
import { type NotificationEvent, parseNotificationEvent } from './event-schema';
import { InvalidEventError } from './notification-errors';

/** A message from the events queue: a CloudEvent to dispatch, or an email the platform already composed. */
export type InboundMessage =
  | { readonly kind: 'event'; readonly event: NotificationEvent }
  | { readonly kind: 'composed-email'; readonly email: ComposedEmail };

/**
 * Parses a queue message body. A JSON object with `specversion` is a CloudEvent; anything else is validated as a
 * composed email, so its errors name the composed-email fields.
 * @throws InvalidEventError or InvalidComposedEmailError (both permanent, code INVALID_EVENT / INVALID_EMAIL).
 */
export function parseInboundMessage(body: string): InboundMessage {
  const depth = jsonDepth(body);
  if (depth > MAX_JSON_DEPTH) {
    throw new InvalidEventError([
      {
        path: '',
        message: `body nests ${depth} levels deep; the limit is ${MAX_JSON_DEPTH} levels of objects and arrays`,
      },
    ]);
  }
  let input: unknown;
  try {
    input = JSON.parse(body);
  } catch (error) {
    throw new InvalidEventError([{ path: '', message: `body is not JSON (${(error as Error).message})` }], {
      cause: error,
    });
  }
  if (input !== null && typeof input === 'object' && !Array.isArray(input) && 'specversion' in input) {
    return { kind: 'event', event: parseNotificationEvent(input) };
  }
  return { kind: 'composed-email', email: parseComposedEmail(input) };
}

/** Objects and arrays nested deeper than this are refused before parsing (no event needs more). */
export const MAX_JSON_DEPTH = 32;

/**
 * How deeply a JSON text nests objects and arrays, counted without parsing it (so a hostile 50,000-level
 * document costs one pass and no recursion). Brackets inside strings do not count.
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}
