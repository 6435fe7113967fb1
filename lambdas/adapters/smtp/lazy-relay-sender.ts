import type { ConnectionTestReport, RelayMessage, RelaySender } from '../../domain/smtp/relay-sender';
import type { SmtpSendOutcome } from '../../domain/smtp/smtp-outcome';
import type { SmtpSettings } from '../../domain/smtp/smtp-settings';

/**
 * A `RelaySender` created at its first use: `load` runs once, when the first relay send (or connection test) of the
 * container arrives, and the relay it returns serves every later call. A `load` that throws (its module missing
 * from the asset) fails that call, which is retried like any other error, and is tried again on the next one.
 */
export class LazyRelaySender implements RelaySender {
  private relay?: RelaySender;

  constructor(private readonly load: () => RelaySender) {}

  async send(tenantKey: string, settings: SmtpSettings, message: RelayMessage): Promise<SmtpSendOutcome> {
    return this.loaded().send(tenantKey, settings, message);
  }

  async testConnection(settings: SmtpSettings): Promise<ConnectionTestReport> {
    return this.loaded().testConnection(settings);
  }

  /** Whether the relay was created yet (tests, and a metric of how many containers pay for it). */
  get isLoaded(): boolean {
    return this.relay !== undefined;
  }

  private loaded(): RelaySender {
    this.relay ??= this.load();
    return this.relay;
  }
}
