import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { LaneMessage, SendLanes } from '../domain/message/send-lanes';

/** SQS accepts at most 10 entries per SendMessageBatch call. */
const SQS_BATCH_LIMIT = 10;
/** SQS's longest message delay. */
const MAX_DELAY_SECONDS = 900;

export interface SqsSendLanesOptions {
  /** The lanes: `transactional` → the send queue, `bulk` → the send-bulk queue. */
  readonly queueUrls: { readonly transactional: string; readonly bulk: string };
  /** SendMessageBatch calls in flight at once. @default 8 */
  readonly concurrency?: number;
}

/**
 * The only writer to the send lanes. Every message goes with SendMessageBatch (10 per call) to its lane, with
 * `MessageGroupId = tenantId`: on a standard queue that makes it an SQS fair queue, so one tenant's backlog does
 * not raise the dwell time of other tenants' mail. The body always carries its idempotency key (see
 * `laneMessage`), so any copy — a retry, a deferral, a release, a sweep, a redrive — is the same email.
 * Entries SQS refuses are left out of `sent`; the caller retries them.
 */
export class SqsSendLanes implements SendLanes {
  constructor(
    private readonly client: SQSClient,
    private readonly options: SqsSendLanesOptions,
  ) {}

  async publish(
    messages: readonly LaneMessage[],
    options: { readonly delaySeconds?: number } = {},
  ): Promise<{ readonly sent: readonly string[] }> {
    const delay =
      options.delaySeconds === undefined
        ? undefined
        : Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.round(options.delaySeconds)));
    const batches: { lane: 'transactional' | 'bulk'; entries: LaneMessage[] }[] = [];
    for (const lane of ['transactional', 'bulk'] as const) {
      const laneMessages = messages.filter((message) => message.category === lane);
      for (let i = 0; i < laneMessages.length; i += SQS_BATCH_LIMIT) {
        batches.push({ lane, entries: laneMessages.slice(i, i + SQS_BATCH_LIMIT) });
      }
    }
    const sent: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const batch = batches[next++];
        if (!batch) return;
        const result = await this.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.options.queueUrls[batch.lane],
            Entries: batch.entries.map((message, index) => ({
              Id: String(index),
              MessageBody: message.body,
              MessageGroupId: message.tenantId,
              ...(delay ? { DelaySeconds: delay } : {}),
            })),
          }),
        );
        for (const ok of result.Successful ?? []) {
          const message = batch.entries[Number(ok.Id)];
          if (message) sent.push(message.messageId);
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(this.options.concurrency ?? 8, batches.length) }, worker),
    );
    return { sent };
  }
}
