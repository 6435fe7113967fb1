import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { SMTPTransportAuthOptions } from 'nodemailer/lib/smtp-transport';
import type { SecretStore } from '../../domain/smtp/secret-store';
import { parseOAuth2Secret, parsePasswordSecret } from '../../domain/smtp/secret-values';
import type { SmtpSettings } from '../../domain/smtp/smtp-settings';

/** TLS trust for relay connections. Production keeps the defaults; tests trust their self-signed certificate. */
export interface RelayTlsOptions {
  /** Verify the relay's certificate and host name. @default true */
  readonly rejectUnauthorized?: boolean;
  /** Extra CA certificate(s) (PEM) to trust, e.g. a test server's self-signed certificate. */
  readonly ca?: string | readonly string[];
}

/** Time limits of one SMTP session, in milliseconds. */
export interface RelayTimeouts {
  /** TCP (and implicit TLS) connect. @default 10_000 */
  readonly connectionMs?: number;
  /** Waiting for the 220 greeting, and for a STARTTLS upgrade. @default 10_000 */
  readonly greetingMs?: number;
  /** Inactivity on an open connection. @default 30_000 */
  readonly socketMs?: number;
}

/** TLS options for a relay: TLS 1.2 or newer, certificates verified unless explicitly told otherwise. */
export function tlsOptionsFor(
  settings: Pick<SmtpSettings, 'host'>,
  tls: RelayTlsOptions = {},
): ConnectionOptions {
  return {
    minVersion: 'TLSv1.2',
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    ...(tls.ca ? { ca: typeof tls.ca === 'string' ? tls.ca : [...tls.ca] } : {}),
    ...(isIP(settings.host) ? {} : { servername: settings.host }),
  };
}

/** Session options shared by the pooled sender and the connection test (no plaintext: STARTTLS is required). */
export function sessionOptionsFor(
  settings: SmtpSettings,
  tls: RelayTlsOptions = {},
  timeouts: RelayTimeouts = {},
) {
  return {
    host: settings.host,
    port: settings.port,
    secure: settings.security === 'tls',
    requireTLS: settings.security === 'starttls',
    ignoreTLS: false,
    tls: tlsOptionsFor(settings, tls),
    connectionTimeout: timeouts.connectionMs ?? 10_000,
    greetingTimeout: timeouts.greetingMs ?? 10_000,
    socketTimeout: timeouts.socketMs ?? 30_000,
    logger: false,
  } as const;
}

/** Reads the tenant's credential from the secret store and shapes it as nodemailer's `auth`. */
export async function authFor(
  settings: SmtpSettings,
  secrets: SecretStore,
): Promise<SMTPTransportAuthOptions> {
  const value = await secrets.get(settings.auth.secretRef);
  if (settings.auth.type === 'password') {
    return { user: settings.auth.username, pass: parsePasswordSecret(settings.auth.secretRef, value) };
  }
  const secret = parseOAuth2Secret(settings.auth.secretRef, value);
  return { type: 'OAuth2', user: settings.auth.user, ...secret };
}
