import { createHash } from 'node:crypto';
import { createTransport } from 'nodemailer';
import type { SMTPTransportAuthOptions } from 'nodemailer/lib/smtp-transport';
import type { ConnectionTestReport, RelayMessage, RelaySender } from '../../domain/smtp/relay-sender';
import type { SecretStore } from '../../domain/smtp/secret-store';
import {
  classifySmtpError,
  classifySmtpResult,
  type SmtpErrorLike,
  type SmtpSendOutcome,
} from '../../domain/smtp/smtp-outcome';
import type { SmtpSettings } from '../../domain/smtp/smtp-settings';
import { testSmtpConnection } from './smtp-connection-test';
import { authFor, type RelayTimeouts, type RelayTlsOptions, sessionOptionsFor } from './transport-options';

export interface NodemailerRelaySenderOptions {
  readonly secrets: SecretStore;
  /** Certificate trust; keep the defaults in production. */
  readonly tls?: RelayTlsOptions;
  readonly timeouts?: RelayTimeouts;
  /** Messages one pooled connection sends before it is replaced. @default 100 */
  readonly maxMessagesPerConnection?: number;
  /** Connections per tenant when the settings set none. @default 2 */
  readonly defaultMaxConnections?: number;
}

type Transporter = ReturnType<typeof createTransport<SMTPPoolInfo>>;
type SMTPPoolInfo = Parameters<typeof classifySmtpResult>[0];

interface PoolEntry {
  readonly fingerprint: string;
  readonly transporter: Transporter;
}

/**
 * `RelaySender` over nodemailer. One pooled transport per tenant key lives as long as the warm container: the TLS
 * handshake and AUTH are paid once, not per email. A pool is replaced when the tenant's settings or credential
 * change, and dropped after the relay refuses the credential (the cached secret is invalidated too, so a rotated
 * password is read again). Messages go out as prepared MIME (`envelope` + `raw`), never re-encoded.
 */
export class NodemailerRelaySender implements RelaySender {
  private readonly pools = new Map<string, PoolEntry>();

  constructor(private readonly options: NodemailerRelaySenderOptions) {}

  async send(tenantKey: string, settings: SmtpSettings, message: RelayMessage): Promise<SmtpSendOutcome> {
    const auth = await authFor(settings, this.options.secrets);
    const transporter = this.poolFor(tenantKey, settings, auth);
    try {
      const info = await transporter.sendMail({
        envelope: { from: message.envelopeFrom, to: [...message.recipients] },
        raw: typeof message.raw === 'string' ? message.raw : Buffer.from(message.raw),
      });
      return classifySmtpResult(info);
    } catch (error) {
      const outcome = classifySmtpError(error as SmtpErrorLike, message.recipients);
      if (outcome.kind === 'auth-failed') {
        this.drop(tenantKey);
        this.options.secrets.invalidate?.(settings.auth.secretRef);
      }
      return outcome;
    }
  }

  testConnection(settings: SmtpSettings): Promise<ConnectionTestReport> {
    return testSmtpConnection(settings, this.options.secrets, {
      ...(this.options.tls ? { tls: this.options.tls } : {}),
      ...(this.options.timeouts ? { timeouts: this.options.timeouts } : {}),
    });
  }

  /** Number of open pools, for tests and metrics. */
  get poolCount(): number {
    return this.pools.size;
  }

  /** Closes every pooled connection (end of a test, or a container shutting down). */
  close(): void {
    for (const key of [...this.pools.keys()]) this.drop(key);
  }

  private poolFor(tenantKey: string, settings: SmtpSettings, auth: SMTPTransportAuthOptions): Transporter {
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([settings, auth]))
      .digest('hex');
    const existing = this.pools.get(tenantKey);
    if (existing?.fingerprint === fingerprint) return existing.transporter;
    if (existing) this.drop(tenantKey);
    const transporter = createTransport({
      pool: true,
      ...sessionOptionsFor(settings, this.options.tls, this.options.timeouts),
      auth,
      maxConnections: settings.limits.maxConnections ?? this.options.defaultMaxConnections ?? 2,
      maxMessages: this.options.maxMessagesPerConnection ?? 100,
    });
    this.pools.set(tenantKey, { fingerprint, transporter });
    return transporter;
  }

  private drop(tenantKey: string): void {
    this.pools.get(tenantKey)?.transporter.close();
    this.pools.delete(tenantKey);
  }
}
