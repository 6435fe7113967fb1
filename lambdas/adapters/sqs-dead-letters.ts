import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import type { MessageLedger } from '../domain/message/message-ledger';
import type { SendLanes } from '../domain/message/send-lanes';
import { laneMessageFromBody } from '../domain/sending/send-request';

/** The queues with a dead-letter queue, by the short name operators use. */
export const DEAD_LETTER_QUEUES = ['events', 'send', 'send-bulk', 'feedback'] as const;
export type DeadLetterQueue = (typeof DEAD_LETTER_QUEUES)[number];

export interface DeadLetter {
  readonly sqsMessageId: string;
  readonly tenantId?: string;
  readonly messageId?: string;
  readonly reasonCode?: string;
  readonly reason?: string;
  readonly receiveCount: number;
  readonly bodyExcerpt: string;
}

export interface DeadLettersOptions {
  /** Source queue URL and its DLQ URL, per short name. */
  readonly queueUrl: (name: string) => Promise<string>;
  readonly ledger: Pick<MessageLedger, 'get'>;
  readonly lanes: () => Promise<SendLanes>;
}

const isSendLane = (queue: DeadLetterQueue) => queue === 'send' || queue === 'send-bulk';

/**
 * What operators do with dead-lettered messages: list them with their recorded reason, and move them back to
 * their source queue. A send-lane message goes back through the send lanes (its key and tenant group kept), and
 * its DEAD_LETTERED record is claimed again by the redriven copy; everything else is sent back as it was.
 */
export class SqsDeadLetters {
  constructor(
    private readonly sqs: SQSClient,
    private readonly options: DeadLettersOptions,
  ) {}

  /** Peeks at up to `limit` dead letters (made visible again at once), with the reason recorded for each. */
  async list(queue: DeadLetterQueue, filter: { tenantId?: string; limit: number }): Promise<DeadLetter[]> {
    const dlq = await this.options.queueUrl(`${queue}-dlq`);
    const seen: Message[] = [];
    try {
      while (seen.length < filter.limit * 4) {
        const batch = await this.receive(dlq, 30);
        if (batch.length === 0) break;
        seen.push(...batch);
      }
      const letters: DeadLetter[] = [];
      for (const message of seen) {
        const letter = await this.describe(queue, message);
        if (filter.tenantId && letter.tenantId !== filter.tenantId) continue;
        if (letters.length < filter.limit) letters.push(letter);
      }
      return letters;
    } finally {
      await this.release(dlq, seen);
    }
  }

  /**
   * Moves dead letters back to their source queue. Without a tenant filter, SQS's own move task is used where
   * the endpoint has it; otherwise (or with `tenantId`) messages are received, sent back and deleted in batches.
   */
  async redrive(
    queue: DeadLetterQueue,
    filter: { tenantId?: string },
    progress: (moved: number, skipped: number) => void,
  ): Promise<{ moved: number; skipped: number; via: 'move-task' | 'receive-send-delete' }> {
    const dlq = await this.options.queueUrl(`${queue}-dlq`);
    const source = await this.options.queueUrl(queue);
    if (!filter.tenantId && !isSendLane(queue)) {
      const moved = await this.moveTask(dlq);
      if (moved !== undefined) return { moved, skipped: 0, via: 'move-task' };
    }
    let moved = 0;
    const skipped: Message[] = [];
    try {
      for (;;) {
        const batch = await this.receive(dlq, 120);
        if (batch.length === 0) break;
        const done: Message[] = [];
        for (const message of batch) {
          const body = message.Body ?? '';
          if (filter.tenantId && (await this.describe(queue, message)).tenantId !== filter.tenantId) {
            skipped.push(message);
            continue;
          }
          if (isSendLane(queue)) {
            const { sent } = await (await this.options.lanes()).publish([laneMessageFromBody(body)]);
            if (sent.length !== 1) throw new Error(`the ${queue} lane refused message ${message.MessageId}`);
          } else {
            await this.sqs.send(new SendMessageCommand({ QueueUrl: source, MessageBody: body }));
          }
          done.push(message);
        }
        if (done.length > 0) {
          await this.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: dlq,
              Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
            }),
          );
        }
        moved += done.length;
        progress(moved, skipped.length);
      }
    } finally {
      await this.release(dlq, skipped);
    }
    return { moved, skipped: skipped.length, via: 'receive-send-delete' };
  }

  private async moveTask(dlq: string): Promise<number | undefined> {
    try {
      const { Attributes = {} } = await this.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: dlq,
          AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages'],
        }),
      );
      if (!Attributes.QueueArn) return undefined;
      await this.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: Attributes.QueueArn }));
      return Number(Attributes.ApproximateNumberOfMessages ?? '0');
    } catch {
      // Endpoints without the move task (fauxqs, older emulators) fall back to receive, send and delete.
      return undefined;
    }
  }

  private async receive(queueUrl: string, visibility: number): Promise<Message[]> {
    const { Messages = [] } = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: visibility,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
        WaitTimeSeconds: 0,
      }),
    );
    return Messages;
  }

  private async release(queueUrl: string, messages: readonly Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      await this.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.slice(i, i + 10).map((m, j) => ({
            Id: String(j),
            ReceiptHandle: m.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
    }
  }

  private async describe(queue: DeadLetterQueue, message: Message): Promise<DeadLetter> {
    const body = message.Body ?? '';
    const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
    let tenantId: string | undefined;
    let messageId: string | undefined;
    let reasonCode = attribute('reasonCode') ?? attribute('code');
    let reason = attribute('reason');
    if (isSendLane(queue)) {
      const lane = laneMessageFromBody(body);
      messageId = lane.messageId;
      tenantId = lane.tenantId;
      const record = await this.options.ledger.get(lane.messageId);
      reasonCode ??= record?.reasonCode;
      reason ??= record?.reason;
    } else {
      try {
        const parsed = JSON.parse(body) as { tenantid?: unknown; tenantId?: unknown };
        const tenant = parsed.tenantid ?? parsed.tenantId;
        if (typeof tenant === 'string') tenantId = tenant;
      } catch {
        // Not JSON: the reason attribute says why it was dead-lettered.
      }
    }
    return {
      sqsMessageId: message.MessageId ?? '',
      ...(tenantId ? { tenantId } : {}),
      ...(messageId ? { messageId } : {}),
      ...(reasonCode ? { reasonCode } : {}),
      ...(reason ? { reason } : {}),
      receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? '1'),
      bodyExcerpt: body.slice(0, 200),
    };
  }
}
