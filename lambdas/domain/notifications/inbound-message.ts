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
