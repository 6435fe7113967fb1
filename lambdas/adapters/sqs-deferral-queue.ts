import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeferralQueue } from '../domain/sending/ports';

/**
 * Defers a message by sending it again with a delay (SQS allows up to 15 minutes) and letting the caller
 * delete the original. A fresh message starts a fresh receive count, so rate-limit waits never push mail into
 * the dead-letter queue.
 */
export class SqsDeferralQueue implements DeferralQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrls: { readonly transactional: string; readonly bulk: string },
  ) {}

  async defer(body: string, delaySeconds: number, category: 'transactional' | 'bulk'): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrls[category],
        MessageBody: body,
        DelaySeconds: Math.min(900, Math.max(0, Math.round(delaySeconds))),
      }),
    );
  }
}
