import * as z from '../../shared/zod';
import { InvalidSecretValueError } from './secret-store';

// The shapes of relay credentials, apart from the SecretStore port: only the relay transport (the sender's relay
// module) and the admin client parse them, so the sender's index.js does not build these schemas at cold start.

const oauth2Secret = z.union([
  z.object({ accessToken: z.string().check(z.minLength(1)) }),
  z.object({
    clientId: z.string().check(z.minLength(1)),
    clientSecret: z.string().check(z.minLength(1)),
    refreshToken: z.string().check(z.minLength(1)),
    /** Token endpoint, e.g. Microsoft's `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`. */
    accessUrl: z.optional(z.url()),
    accessToken: z.optional(z.string().check(z.minLength(1))),
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
    const parsed = z.object({ password: z.string().check(z.minLength(1)) }).safeParse(json);
    if (!parsed.success)
      throw new InvalidSecretValueError(ref, 'JSON password secrets need a "password" field');
    return parsed.data.password;
  }
  if (value.length === 0) throw new InvalidSecretValueError(ref, 'the password is empty');
  return value;
}
