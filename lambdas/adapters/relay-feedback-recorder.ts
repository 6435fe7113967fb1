import { relayRejectionFeedback } from '../domain/feedback/feedback-event';
import { type ReputationStore, relaySendDeltas, reputationDeltas } from '../domain/feedback/reputation-guard';
import { decideSuppressions, type SuppressionStore } from '../domain/feedback/suppression-rules';
import type { Clock, RejectedRecipient } from '../domain/sending/ports';
import type { RelayFeedback } from '../domain/sending/send-email';

/**
 * What SES would report through events, the sender reports itself for the tenant's relay: each accepted recipient
 * counts as a send, each 5xx refusal as a permanent bounce (reputation counters and the suppression list), so the
 * reputation guard sees relay tenants exactly as SES tenants.
 */
export class RelayFeedbackRecorder implements RelayFeedback {
  constructor(
    private readonly reputation: Pick<ReputationStore, 'record'>,
    private readonly suppressions: Pick<SuppressionStore, 'put'>,
    private readonly clock: Clock,
  ) {}

  async accepted(messageId: string, tenantId: string, recipients: readonly string[]): Promise<void> {
    if (recipients.length === 0) return;
    await this.reputation.record(
      tenantId,
      relaySendDeltas(messageId, recipients, this.clock.now().toISOString()),
    );
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
