import { PermanentError } from '../domain/errors';
import {
  type EmailSender,
  type OutgoingEmail,
  type SendOptions,
  type SendResult,
  waitUntil,
} from '../domain/sending/ports';
import type { RelaySender } from '../domain/smtp/relay-sender';
import { outcomeError } from '../domain/smtp/smtp-outcome';
import { buildRawEmail } from './mime';

/**
 * The `external-smtp` transport: composes the message once (as for SES) and hands it to the tenant's relay
 * through the pooled relay sender. A relay that accepts some recipients and refuses others with 5xx is a send:
 * the refused ones come back as `rejectedRecipients` (recorded, and counted as bounces). Every other outcome
 * becomes the matching domain error (throttled → deferred, transient → retried, auth or full rejection → REJECTED).
 */
export class SmtpEmailSender implements EmailSender {
  constructor(
    private readonly relay: RelaySender,
    private readonly messageIdDomain: string,
  ) {}

  async send(email: OutgoingEmail, options: SendOptions = {}): Promise<SendResult> {
    const { settings } = options;
    if (!settings)
      throw new PermanentError(
        'RELAY_SETTINGS_MISSING',
        'the external-smtp method needs the tenant relay settings',
      );
    const raw = await buildRawEmail(email, this.messageIdDomain);
    await waitUntil(await options.pace?.());
    const outcome = await this.relay.send(`${email.tenantId}#${email.environment}`, settings, {
      envelopeFrom: raw.from,
      recipients: raw.recipients,
      raw: raw.data,
    });
    const error = outcomeError(outcome);
    if (error) throw error;
    const refused = outcome.recipients.filter((recipient) => recipient.kind !== 'sent');
    return {
      providerMessageId: outcome.reply?.text ?? 'accepted',
      ...(refused.length > 0
        ? {
            rejectedRecipients: refused.map((recipient) => ({
              recipient: recipient.recipient,
              ...(recipient.reply?.code !== undefined ? { code: recipient.reply.code } : {}),
              reply: recipient.reply?.text ?? recipient.kind,
            })),
          }
        : {}),
    };
  }
}
