import * as z from '../../shared/zod';
import { PermanentError, TransientError } from '../errors';

/**
 * Port for reading a secret by reference (a Secrets Manager name such as `tenant-mail/prod/tenants/t1/smtp`).
 * Production uses Secrets Manager, the local twin a JSON file; the composition root picks one.
 */
export interface SecretStore {
  /** The secret's string value. Throws `SecretNotFoundError` when there is none. */
  get(ref: string): Promise<string>;
  /** Forgets a cached value, e.g. after the relay refused the credential (it may have been rotated). */
  invalidate?(ref: string): void;
}

/** The referenced secret does not exist (or is empty): the tenant's settings point nowhere. */
export class SecretNotFoundError extends PermanentError {
  constructor(
    readonly ref: string,
    options?: ErrorOptions,
  ) {
    super('SECRET_NOT_FOUND', `Secret '${ref}' does not exist or has no string value`, options);
    this.name = 'SecretNotFoundError';
  }
}

/** The sender may not read the secret: the stack's grant and the settings disagree. */
export class SecretAccessDeniedError extends PermanentError {
  constructor(
    readonly ref: string,
    options?: ErrorOptions,
  ) {
    super('SECRET_ACCESS_DENIED', `Not allowed to read secret '${ref}'`, options);
    this.name = 'SecretAccessDeniedError';
  }
}

/** The secret store could not answer now (throttled, network): try the message again later. */
export class SecretStoreUnavailableError extends TransientError {
  constructor(
    readonly ref: string,
    options?: ErrorOptions,
  ) {
    super('SECRET_STORE_UNAVAILABLE', `Could not read secret '${ref}' right now`, options);
    this.name = 'SecretStoreUnavailableError';
  }
}

/** The secret exists but its value does not have the shape the auth type needs. */
export class InvalidSecretValueError extends PermanentError {
  constructor(
    readonly ref: string,
    detail: string,
  ) {
    super('INVALID_SECRET_VALUE', `Secret '${ref}' is not a valid credential: ${detail}`);
    this.name = 'InvalidSecretValueError';
  }
}

const oauth2Secret = z.union([
  z.object({ accessToken: z.string().min(1) }),
  z.object({
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    refreshToken: z.string().min(1),
    /** Token endpoint, e.g. Microsoft's `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`. */
    accessUrl: z.url().optional(),
    accessToken: z.string().min(1).optional(),
  }),
]);

/**
 * OAuth2 (XOAUTH2) credential stored as JSON: either a ready `accessToken`, or `clientId`, `clientSecret` and
 * `refreshToken` (plus `accessUrl` for non-Google providers) so nodemailer can refresh the token itself.
 */
export type OAuth2Secret = z.infer<typeof oauth2Secret>;

/** Parses an OAuth2 secret value; throws `InvalidSecretValueError` (never echoing the value) when it is malformed. */
export function parseOAuth2Secret(ref: string, value: string): OAuth2Secret {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    throw new InvalidSecretValueError(ref, 'an OAuth2 secret must be JSON');
  }
  const parsed = oauth2Secret.safeParse(json);
  if (!parsed.success) {
    throw new InvalidSecretValueError(
      ref,
      'expected { accessToken } or { clientId, clientSecret, refreshToken }',
    );
  }
  return parsed.data;
}

/**
 * A password secret is either the bare password or, as the Secrets Manager console stores key/value secrets,
 * JSON with a `password` field.
 */
export function parsePasswordSecret(ref: string, value: string): string {
  const trimmed = value.trim();
  if (trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch {
      return value;
    }
    const parsed = z.object({ password: z.string().min(1) }).safeParse(json);
    if (!parsed.success)
      throw new InvalidSecretValueError(ref, 'JSON password secrets need a "password" field');
    return parsed.data.password;
  }
  if (value.length === 0) throw new InvalidSecretValueError(ref, 'the password is empty');
  return value;
}
