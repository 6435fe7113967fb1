import type { SmtpReply, SmtpSendOutcome } from './smtp-outcome';
import type { SmtpSettings } from './smtp-settings';

/** An already-composed MIME message and its SMTP envelope. */
export interface RelayMessage {
  /** Envelope sender (MAIL FROM); usually the settings' From address. */
  readonly envelopeFrom: string;
  /** Envelope recipients (RCPT TO). */
  readonly recipients: readonly string[];
  /** The full RFC 5322 message, headers and body, sent as is. */
  readonly raw: string | Uint8Array;
}

/** Port the sender use case talks to for the `external-smtp` method. */
export interface RelaySender {
  /**
   * Sends through the tenant's relay and classifies the result; never throws for relay or network failures
   * (they come back as an outcome). Throws only for configuration problems such as a missing secret.
   */
  send(tenantKey: string, settings: SmtpSettings, message: RelayMessage): Promise<SmtpSendOutcome>;
  testConnection(settings: SmtpSettings): Promise<ConnectionTestReport>;
}

/** Steps of a connection test, in order. `tls` is the handshake of implicit TLS (port 465). */
export const CONNECTION_STEPS = ['connect', 'tls', 'greeting', 'ehlo', 'starttls', 'auth'] as const;
export type ConnectionStep = (typeof CONNECTION_STEPS)[number];

/** What `tenant-mail smtp test` prints: the steps that passed, and the one that failed with the server's reply. */
export type ConnectionTestReport =
  | { readonly ok: true; readonly steps: readonly ConnectionStep[]; readonly tlsProtocol?: string }
  | {
      readonly ok: false;
      /** Steps that completed before the failure. */
      readonly steps: readonly ConnectionStep[];
      readonly failedStep: ConnectionStep;
      /** Human-readable reason, including the server's reply when there was one. */
      readonly reason: string;
      readonly reply?: SmtpReply;
      /** Error code from the client or the operating system, e.g. `ECONNREFUSED`, `EAUTH`. */
      readonly errorCode?: string;
    };
