import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { EventsQueue } from '../domain/notifications/dispatch-events';

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
