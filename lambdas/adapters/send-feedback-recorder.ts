import { relayRejectionFeedback } from '../domain/feedback/feedback-event';
import { countedSends, type ReputationStore, reputationDeltas } from '../domain/feedback/reputation-guard';
import { decideSuppressions, type SuppressionStore } from '../domain/feedback/suppression-rules';
import type { Clock, RejectedRecipient } from '../domain/sending/ports';
import type { SendFeedback } from '../domain/sending/send-email';

/**
 * What the sender itself knows about the reputation of a tenant's mail: each recipient the provider accepted
 * counts as a send (for SES and for the tenant's relay alike), and each 5xx refusal of a relay as a permanent
 * bounce (reputation counters and the suppression list), so the reputation guard sees relay tenants exactly as
 * SES tenants. Sends are added up per tenant in memory and written when the batch ends (`flush`): one `ADD` per
 * tenant and batch, none per SES Send event.
 */
export class SendFeedbackRecorder implements SendFeedback {
  private readonly pending = new Map<string, number>();

  constructor(
    private readonly reputation: Pick<ReputationStore, 'record' | 'addSends'>,
    private readonly suppressions: Pick<SuppressionStore, 'put'>,
    private readonly clock: Clock,
    /** Count mail to the SES mailbox simulator (`REPUTATION_COUNT_SIMULATOR`). @default false */
    private readonly countSimulator = false,
  ) {}

  async accepted(tenantId: string, recipients: readonly string[]): Promise<void> {
    const sends = countedSends(recipients, this.countSimulator);
    if (sends > 0) this.pending.set(tenantId, (this.pending.get(tenantId) ?? 0) + sends);
  }

  /**
   * Writes the sends noted since the last flush, one `ADD` per tenant. What it takes is forgotten first: a
   * failed write loses those sends rather than counting them twice later (a lost count errs toward a higher
   * bounce rate, never a lower one). Throws the first failure after trying every tenant.
   */
  async flush(): Promise<void> {
    const taken = [...this.pending];
    this.pending.clear();
    const at = this.clock.now().toISOString();
    const results = await Promise.allSettled(
      taken.map(([tenantId, sends]) => this.reputation.addSends(tenantId, at, sends)),
    );
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  async rejected(
    messageId: string,
    tenantId: string,
    environment: string,
    rejections: readonly RejectedRecipient[],
  ): Promise<void> {
    const occurredAt = this.clock.now().toISOString();
    for (const rejection of rejections) {
      const event = relayRejectionFeedback({
        messageId,
        recipient: rejection.recipient,
        responseCode: rejection.code ?? 0,
        response: rejection.reply,
        occurredAt,
        tenantId,
        environment,
      });
      if (!event) continue;
      await this.reputation.record(tenantId, reputationDeltas(event));
      for (const entry of decideSuppressions(tenantId, event)) await this.suppressions.put(entry);
    }
  }
}
