import type { RateLimits } from '../rate-limit/rate-limits';

/** Relay providers with known limits; `custom` has none until the tenant sets them. */
export const SMTP_PROVIDERS = [
  'ses-smtp',
  'sendgrid',
  'mailjet',
  'google-workspace',
  'microsoft-365',
  'custom',
] as const;
export type SmtpProvider = (typeof SMTP_PROVIDERS)[number];

/** Limits the relay sender honours: the governor's windows plus per-message and per-connection caps. */
export interface RelayLimits extends RateLimits {
  /** Envelope recipients one SMTP transaction may carry. */
  readonly maxRecipientsPerMessage?: number;
  /** Parallel SMTP connections per tenant in one warm container. */
  readonly maxConnections?: number;
}

export interface ProviderPreset {
  readonly limits: RelayLimits;
  /** Where the numbers come from, shown by the CLI next to the effective limits. */
  readonly source: string;
}

/**
 * Default limits per provider, each overridable field by field in the tenant's settings.
 *
 * - `microsoft-365`: Exchange Online publishes 30 messages a minute and 10,000 recipients a day per mailbox, and at
 *   most 500 recipients a message.
 * - `google-workspace`: 2,000 messages a day per user, 10,000 recipients a day, 100 recipients a message over SMTP
 *   (Gmail sending limits in Google Workspace).
 * - `ses-smtp`: SES quotas are per account and per region; the defaults are the sandbox quota (1 message a second,
 *   200 a day) and the 50-recipient cap of one message. Raise them to the account's quota once out of the sandbox.
 * - `sendgrid`: SendGrid publishes no per-second SMTP rate, only 5,000 messages per connection and 10,000 concurrent
 *   connections; volume depends on the plan. Conservative default: 10 messages a second, 1,000 recipients a message.
 * - `mailjet`: Mailjet publishes no per-second rate; its free plan allows 200 messages a day. Conservative default:
 *   10 messages a second, 50 recipients a message; set the plan's daily volume as an override.
 * - `custom`: no limit until the tenant sets one (the relay's own 4xx throttling replies still defer mail).
 */
export const PROVIDER_PRESETS: Record<SmtpProvider, ProviderPreset> = {
  'microsoft-365': {
    limits: {
      messagesPerMinute: 30,
      recipientsPerDay: 10_000,
      maxRecipientsPerMessage: 500,
      maxConnections: 2,
    },
    source:
      'Exchange Online sending limits: 30 messages/minute, 10,000 recipients/day, 500 recipients/message',
  },
  'google-workspace': {
    limits: {
      messagesPerDay: 2_000,
      recipientsPerDay: 10_000,
      maxRecipientsPerMessage: 100,
      maxConnections: 2,
    },
    source: 'Gmail sending limits in Google Workspace: 2,000 messages/day per user, 10,000 recipients/day',
  },
  'ses-smtp': {
    limits: { messagesPerSecond: 1, messagesPerDay: 200, maxRecipientsPerMessage: 50, maxConnections: 2 },
    source: 'Amazon SES sandbox quota (1 message/second, 200/day); set your account quota once in production',
  },
  sendgrid: {
    limits: { messagesPerSecond: 10, maxRecipientsPerMessage: 1_000, maxConnections: 3 },
    source: 'SendGrid publishes no SMTP rate; conservative default of 10 messages/second',
  },
  mailjet: {
    limits: { messagesPerSecond: 10, maxRecipientsPerMessage: 50, maxConnections: 3 },
    source: 'Mailjet publishes no SMTP rate (free plan: 200/day); conservative default of 10 messages/second',
  },
  custom: {
    limits: { maxConnections: 3 },
    source: 'No published limits: set the relay limits yourself',
  },
};
