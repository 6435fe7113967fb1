import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TransientError } from '../domain/errors';
import type { Correlation, FeedbackEvent } from '../domain/feedback/feedback-event';
import {
  applyFeedback,
  type MessageFeedbackState,
  type RecipientState,
  type TimelineEntry,
} from '../domain/feedback/message-timeline';
import type { MessageFeedbackStore, TimelineOutcome } from '../domain/feedback/process-feedback';
import { MessageStatus } from '../domain/message';
import type { Clock } from '../domain/sending/ports';

export interface DynamoMessageFeedbackStoreOptions {
  readonly tableName: string;
  /** GSI on `sesMessageId`, for feedback without our `message-id` tag. @default 'bySesMessageId' */
  readonly sesMessageIdIndex?: string;
  /** Read-apply-write rounds when concurrent feedback for the same message wins the race. @default 8 */
  readonly maxAttempts?: number;
  readonly clock?: Clock;
}

/** The feedback part of a message item, as stored. */
interface StoredFeedback {
  readonly recipients: Record<string, RecipientState>;
  readonly timeline: TimelineEntry[];
}

/** The sender has claimed the message but not recorded the send yet; its `markSent` would undo our write. */
export class MessageNotSettledError extends TransientError {
  constructor(messageId: string) {
    super('MESSAGE_NOT_SETTLED', `message ${messageId} is still being sent; feedback is applied on a retry`);
    this.name = 'MessageNotSettledError';
  }
}

function unavailable(operation: string, cause: unknown): TransientError {
  return new TransientError('MESSAGES_TABLE_UNAVAILABLE', `messages table ${operation} failed`, { cause });
}

/**
 * Applies feedback to message items in the messages table. Each item keeps its feedback state in `feedback`
 * (`recipients` per address, the de-duplicated `timeline` sorted by event time) and a `feedbackVersion`; the
 * aggregate goes to `status`, and every new fact is also appended to the operator's `timeline`.
 *
 * Concurrency: read, apply the pure `applyFeedback` rules, then write only if `feedbackVersion` and `status`
 * are still what was read; on a lost race, read again. Two events for the same message arriving at once both
 * land, whatever their order, and a redelivered event writes nothing.
 */
export class DynamoMessageFeedbackStore implements MessageFeedbackStore {
  private readonly index: string;
  private readonly maxAttempts: number;
  private readonly clock: Clock;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: DynamoMessageFeedbackStoreOptions,
  ) {
    this.index = options.sesMessageIdIndex ?? 'bySesMessageId';
    this.maxAttempts = options.maxAttempts ?? 8;
    this.clock = options.clock ?? { now: () => new Date() };
  }

  async apply(correlation: Correlation, event: FeedbackEvent): Promise<TimelineOutcome> {
    const messageId =
      correlation.via === 'ses-message-id'
        ? await this.findBySesMessageId(correlation.sesMessageId)
        : correlation.messageId;
    if (!messageId) return { result: 'not-found' };
    for (let attempt = 1; attempt <= this.maxAttempts; attempt += 1) {
      const item = await this.read(messageId);
      if (!item) return { result: 'not-found' };
      const status = item.status as MessageStatus;
      const tenantId = String(item.tenantId);
      if (status === MessageStatus.SENDING) throw new MessageNotSettledError(messageId);
      const stored = item.feedback as StoredFeedback | undefined;
      const current: MessageFeedbackState = {
        status,
        recipients: stored?.recipients ?? {},
        timeline: stored?.timeline ?? [],
      };
      const application = applyFeedback(current, event);
      if (!application.changed) return { result: 'duplicate', messageId, tenantId, status };
      const version = typeof item.feedbackVersion === 'number' ? item.feedbackVersion : undefined;
      if (await this.write(messageId, status, version, application.state, application.added)) {
        return { result: 'applied', messageId, tenantId, status: application.state.status };
      }
    }
    throw new TransientError(
      'FEEDBACK_WRITE_CONFLICT',
      `message ${messageId}: feedback lost the write race ${this.maxAttempts} times; retrying the record`,
    );
  }

  private async findBySesMessageId(sesMessageId: string): Promise<string | undefined> {
    try {
      const { Items = [] } = await this.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          IndexName: this.index,
          KeyConditionExpression: 'sesMessageId = :id',
          ExpressionAttributeValues: { ':id': sesMessageId },
          ProjectionExpression: 'messageId',
          Limit: 1,
        }),
      );
      const id = Items[0]?.messageId;
      return typeof id === 'string' ? id : undefined;
    } catch (error) {
      throw unavailable('query by SES message id', error);
    }
  }

  private async read(messageId: string): Promise<Record<string, unknown> | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetCommand({
          TableName: this.options.tableName,
          Key: { messageId },
          ConsistentRead: true,
          ProjectionExpression: 'messageId, tenantId, #status, feedback, feedbackVersion',
          ExpressionAttributeNames: { '#status': 'status' },
        }),
      );
      return Item;
    } catch (error) {
      throw unavailable('read', error);
    }
  }

  /** One conditional write; false when another writer changed the item since it was read. */
  private async write(
    messageId: string,
    readStatus: MessageStatus,
    readVersion: number | undefined,
    state: MessageFeedbackState,
    added: readonly TimelineEntry[],
  ): Promise<boolean> {
    const feedback: StoredFeedback = { recipients: { ...state.recipients }, timeline: [...state.timeline] };
    const entries = added.map((entry) => ({
      ...(entry.status ? { status: entry.status } : {}),
      event: entry.eventType,
      recipient: entry.recipient,
      at: entry.at,
      ...(entry.detail ? { detail: entry.detail } : {}),
    }));
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { messageId },
          UpdateExpression:
            'SET #status = :status, feedback = :feedback, feedbackVersion = :next, updatedAt = :now, ' +
            'timeline = list_append(if_not_exists(timeline, :empty), :entries)',
          ConditionExpression:
            `#status = :readStatus AND ` +
            (readVersion === undefined
              ? 'attribute_not_exists(feedbackVersion)'
              : 'feedbackVersion = :version'),
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':status': state.status,
            ':feedback': feedback,
            ':next': (readVersion ?? 0) + 1,
            ':now': this.clock.now().toISOString(),
            ':empty': [],
            ':entries': entries,
            ':readStatus': readStatus,
            ...(readVersion === undefined ? {} : { ':version': readVersion }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw unavailable('update', error);
    }
  }
}
