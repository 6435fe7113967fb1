import * as z from '../../shared/zod';
import { PermanentError } from '../errors';
import type { Scope } from '../scope';
import { PROVIDER_PRESETS, type RelayLimits, SMTP_PROVIDERS, type SmtpProvider } from './provider-presets';

/** `starttls`: plaintext connect then a mandatory upgrade (port 587); `tls`: TLS from the first byte (port 465). */
export const SMTP_SECURITY = ['starttls', 'tls'] as const;
export type SmtpSecurity = (typeof SMTP_SECURITY)[number];

const PLAINTEXT_WORDS = new Set(['none', 'plain', 'plaintext', 'insecure', 'false', 'off', 'disabled']);

/**
 * The Secrets Manager name (and local secret-store key) of a tenant's SMTP credential. The stack grants the sender
 * read access to `tenant-mail/<scope>/tenants/*` only, so settings may only point below the tenant's own path.
 */
export function tenantSmtpSecretName(scope: Scope, tenantId: string): string {
  return `tenant-mail/${scope}/tenants/${tenantId}/smtp`;
}

export interface PasswordAuth {
  readonly type: 'password';
  readonly username: string;
  /** Name of the secret holding the password; the password itself never lives in settings. */
  readonly secretRef: string;
}

export interface OAuth2Auth {
  readonly type: 'oauth2';
  /** Mailbox the XOAUTH2 token is for. */
  readonly user: string;
  /** Name of the secret holding the OAuth2 credential JSON (see `parseOAuth2Secret`). */
  readonly secretRef: string;
}

export type SmtpAuth = PasswordAuth | OAuth2Auth;

/** Validated settings with the effective limits (provider preset, then the tenant's overrides). */
export interface SmtpSettings {
  readonly host: string;
  readonly port: number;
  readonly security: SmtpSecurity;
  readonly auth: SmtpAuth;
  /** Address used as the envelope sender and From header. */
  readonly from: string;
  readonly provider: SmtpProvider;
  readonly limits: RelayLimits;
}

/** Whose settings these are: the secret reference must stay under this tenant's path in this scope. */
export interface SmtpSettingsContext {
  readonly scope: Scope;
  readonly tenantId: string;
}

export interface FieldError {
  /** Dotted path of the offending field, e.g. `auth.secretRef` or `limits.messagesPerMinute`. */
  readonly field: string;
  readonly message: string;
}

/** Settings refused on save; `fieldErrors` lists every problem so a form or the CLI can show them all at once. */
export class InvalidSmtpSettingsError extends PermanentError {
  constructor(readonly fieldErrors: readonly FieldError[]) {
    super(
      'INVALID_SMTP_SETTINGS',
      `Invalid SMTP settings: ${fieldErrors.map((error) => `${error.field || '(root)'}: ${error.message}`).join('; ')}`,
    );
    this.name = 'InvalidSmtpSettingsError';
  }
}

const HOSTNAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const IPV6 = /^[0-9a-f:.]+$/i;

const limit = z.optional(
  z.nullable(
    z.int({ error: 'must be a whole number' }).check(z.positive({ error: 'must be greater than 0' })),
  ),
);

/** Overrides of the preset's limits: a number replaces the preset value, `null` removes that limit. */
const limitOverrides = z.strictObject(
  {
    messagesPerSecond: limit,
    messagesPerMinute: limit,
    messagesPerDay: limit,
    recipientsPerSecond: limit,
    recipientsPerMinute: limit,
    recipientsPerDay: limit,
    maxRecipientsPerMessage: limit,
    maxConnections: z.optional(
      z.nullable(
        z
          .int({ error: 'must be a whole number' })
          .check(
            z.gte(1, { error: 'must be at least 1' }),
            z.lte(10, { error: 'must be at most 10: relays limit concurrent connections' }),
          ),
      ),
    ),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown limit ${issue.keys.join(', ')}` : undefined,
  },
);

export type SmtpLimitOverrides = z.input<typeof limitOverrides>;

function settingsSchema(context: SmtpSettingsContext) {
  const secretPrefix = tenantSmtpSecretName(context.scope, context.tenantId);
  const secretRef = z.string({ error: 'is required: the name of the secret holding the credential' }).check(
    z.trim(),
    z.refine((value) => value === secretPrefix || value.startsWith(`${secretPrefix}/`), {
      error: `must be the secret '${secretPrefix}' (or a name below it): the sender may read only this tenant's secrets`,
    }),
  );
  const address = z.email({ error: 'must be an email address' });
  return z
    .object({
      host: z.string({ error: 'is required' }).check(
        z.trim(),
        z.toLowerCase(),
        z.refine((value) => HOSTNAME.test(value) || (value.includes(':') && IPV6.test(value)), {
          error: 'must be a host name or IP address',
        }),
      ),
      port: z.coerce
        .number({ error: 'must be a number' })
        .check(
          z.int({ error: 'must be a whole number' }),
          z.gte(1, { error: 'must be between 1 and 65535' }),
          z.lte(65_535, { error: 'must be between 1 and 65535' }),
        ),
      security: z.enum(SMTP_SECURITY, {
        error: (issue) =>
          typeof issue.input === 'string' && PLAINTEXT_WORDS.has(issue.input.toLowerCase())
            ? "plaintext SMTP is refused: credentials and mail would cross the network unencrypted; use 'starttls' or 'tls'"
            : "must be 'starttls' (upgrade required, usually port 587) or 'tls' (implicit TLS, usually port 465); plaintext is refused",
      }),
      auth: z.discriminatedUnion(
        'type',
        [
          z.object({
            type: z.literal('password'),
            username: z
              .string({ error: 'is required' })
              .check(z.trim(), z.minLength(1, { error: 'is required' })),
            secretRef,
          }),
          z.object({ type: z.literal('oauth2'), user: address, secretRef }),
        ],
        { error: "must be { type: 'password', username, secretRef } or { type: 'oauth2', user, secretRef }" },
      ),
      from: address,
      provider: z._default(
        z.enum(SMTP_PROVIDERS, { error: `must be one of ${SMTP_PROVIDERS.join(', ')}` }),
        'custom',
      ),
      limits: z.optional(limitOverrides),
    })
    .check(
      z.superRefine((value, ctx) => {
        if (value.port === 465 && value.security === 'starttls') {
          ctx.addIssue({
            code: 'custom',
            path: ['security'],
            message: "port 465 speaks implicit TLS: set security to 'tls' (or use port 587 for STARTTLS)",
          });
        }
        if (value.port === 587 && value.security === 'tls') {
          ctx.addIssue({
            code: 'custom',
            path: ['security'],
            message:
              "port 587 expects STARTTLS: set security to 'starttls' (or use port 465 for implicit TLS)",
          });
        }
      }),
    );
}

/** The raw shape a tenant saves (the tenants table stores this; effective limits are derived on read). */
export type SmtpSettingsInput = z.input<ReturnType<typeof settingsSchema>>;

/** Preset limits with the tenant's overrides applied (`null` removes a preset limit). */
export function effectiveLimits(provider: SmtpProvider, overrides: SmtpLimitOverrides = {}): RelayLimits {
  const merged: Record<string, number | null | undefined> = {
    ...PROVIDER_PRESETS[provider].limits,
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(merged).filter((entry): entry is [string, number] => typeof entry[1] === 'number'),
  ) as RelayLimits;
}

export type SmtpSettingsResult =
  | { readonly ok: true; readonly settings: SmtpSettings }
  | { readonly ok: false; readonly errors: readonly FieldError[] };

/**
 * Validates settings as saved by a tenant and resolves the effective limits. Never throws on bad input: every
 * problem comes back with the field it belongs to.
 */
export function validateSmtpSettings(input: unknown, context: SmtpSettingsContext): SmtpSettingsResult {
  const parsed = settingsSchema(context).safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message })),
    };
  }
  const { limits, ...rest } = parsed.data;
  return { ok: true, settings: { ...rest, limits: effectiveLimits(rest.provider, limits) } };
}

/** Like `validateSmtpSettings`, but throws `InvalidSmtpSettingsError` (permanent) listing every field error. */
export function parseSmtpSettings(input: unknown, context: SmtpSettingsContext): SmtpSettings {
  const result = validateSmtpSettings(input, context);
  if (!result.ok) throw new InvalidSmtpSettingsError(result.errors);
  return result.settings;
}
