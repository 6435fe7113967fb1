import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type {
  EventsQueue,
  SendQueueMessage,
  SendQueuePublisher,
} from '../domain/notifications/dispatch-events';

/** SQS accepts at most 10 entries per SendMessageBatch call. */
const SQS_BATCH_LIMIT = 10;

export interface SqsSendQueuePublisherOptions {
  /** The lanes: `transactional` → the send queue, `bulk` → the send-bulk queue. */
  readonly queueUrls: { readonly transactional: string; readonly bulk: string };
  /** SendMessageBatch calls in flight at once. @default 8 */
  readonly concurrency?: number;
}

/**
 * Publishes send-queue messages on their lane with SendMessageBatch (10 per call). Bulk-lane messages carry
 * `MessageGroupId = tenantId`: on a standard queue that makes it an SQS fair queue, so one tenant's bill-run
 * backlog does not raise the dwell time of other tenants' bulk mail (queues without fair-queue support ignore
 * it; fauxqs accepts and ignores it on standard queues). Entries SQS refuses are left out of `sent`.
 */
export class SqsSendQueuePublisher implements SendQueuePublisher {
  constructor(
    private readonly client: SQSClient,
    private readonly options: SqsSendQueuePublisherOptions,
  ) {}

  async publish(messages: readonly SendQueueMessage[]): Promise<{ readonly sent: readonly string[] }> {
    const batches: { lane: 'transactional' | 'bulk'; entries: SendQueueMessage[] }[] = [];
    for (const lane of ['transactional', 'bulk'] as const) {
      const laneMessages = messages.filter((message) => message.request.category === lane);
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
              MessageBody: JSON.stringify(message.request),
              ...(batch.lane === 'bulk' ? { MessageGroupId: message.request.tenantId } : {}),
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

export interface SqsEventsQueueOptions {
  readonly eventsQueueUrl: string;
  readonly deadLetterQueueUrl: string;
}

/** SQS message attribute values are capped well below the body limit; a reason is kept readable, not whole. */
const MAX_REASON_ATTRIBUTE = 1000;

/**
 * The events queue as the dispatcher writes to it: continuations of large events, and the dead-letter queue
 * for messages that can never be dispatched, with `reason` and `reasonCode` message attributes so an operator
 * sees why without opening the messages table.
 */
export class SqsEventsQueue implements EventsQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly options: SqsEventsQueueOptions,
  ) {}

  async continueLater(body: string): Promise<void> {
    await this.client.send(
      new SendMessageCommand({ QueueUrl: this.options.eventsQueueUrl, MessageBody: body }),
    );
  }

  async deadLetter(body: string, reason: { readonly code: string; readonly reason: string }): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.options.deadLetterQueueUrl,
        MessageBody: body,
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: reason.reason.slice(0, MAX_REASON_ATTRIBUTE) },
          reasonCode: { DataType: 'String', StringValue: reason.code },
        },
      }),
    );
  }
}
