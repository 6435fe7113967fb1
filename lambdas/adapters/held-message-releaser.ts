import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { TransientError } from '../domain/errors';
import type { HeldMessageReleaser } from '../domain/feedback/tenant-pause';
import { MessageStatus } from '../domain/message';
import type { Clock } from '../domain/sending/ports';

export interface SqsHeldMessageReleaserOptions {
  readonly tableName: string;
  /** The messages table's index on `tenantId` (sort key `createdAt`). @default 'byTenant' */
  readonly tenantIndex?: string;
  readonly queueUrls: { readonly transactional: string; readonly bulk: string };
  readonly clock?: Clock;
}

interface HeldItem {
  readonly messageId: string;
  readonly heldRequest?: string;
}

/** The lane a held request goes back to: its `category`, transactional when absent or unreadable. */
function categoryOf(body: string): 'transactional' | 'bulk' {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && 'category' in parsed && parsed.category === 'bulk') {
      return 'bulk';
    }
  } catch {
    // Unparseable held bodies go back as they were: the sender records them REJECTED with the reason.
  }
  return 'transactional';
}

/**
 * Releases a tenant's PAUSED messages: queries the `byTenant` index (status PAUSED), puts each kept request
 * (`heldRequest`, the original send-queue body) back on its lane, then marks the item QUEUED only if it is
 * still PAUSED. Enqueue first, mark second: a crash in between leaves the message PAUSED and a second release
 * enqueues it again, which the sender's ledger claim turns into one send (same idempotency key, same message id).
 */
export class SqsHeldMessageReleaser implements HeldMessageReleaser {
  private readonly index: string;
  private readonly clock: Clock;

  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly sqs: SQSClient,
    private readonly options: SqsHeldMessageReleaserOptions,
  ) {
    this.index = options.tenantIndex ?? 'byTenant';
    this.clock = options.clock ?? { now: () => new Date() };
  }

  async release(tenantId: string): Promise<{ released: number; skipped: number }> {
    let released = 0;
    let skipped = 0;
    for await (const item of this.held(tenantId)) {
      if (!item.heldRequest) {
        skipped += 1;
        continue;
      }
      await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.options.queueUrls[categoryOf(item.heldRequest)],
          MessageBody: item.heldRequest,
        }),
      );
      released += 1;
      // False when the sender already claimed the released copy: nothing to mark then.
      await this.markQueued(item.messageId);
    }
    return { released, skipped };
  }

  private async *held(tenantId: string): AsyncGenerator<HeldItem> {
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      let page: QueryCommandOutput;
      try {
        page = await this.documents.send(
          new QueryCommand({
            TableName: this.options.tableName,
            IndexName: this.index,
            KeyConditionExpression: 'tenantId = :tenant',
            FilterExpression: '#status = :paused',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':tenant': tenantId, ':paused': MessageStatus.PAUSED },
            ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
          }),
        );
      } catch (error) {
        throw new TransientError('MESSAGES_TABLE_UNAVAILABLE', 'querying held messages failed', {
          cause: error,
        });
      }
      for (const item of page.Items ?? []) {
        if (typeof item.messageId !== 'string') continue;
        yield {
          messageId: item.messageId,
          ...(typeof item.heldRequest === 'string' ? { heldRequest: item.heldRequest } : {}),
        };
      }
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey);
  }

  /** PAUSED → QUEUED; false when the sender (or another release) got there first. */
  private async markQueued(messageId: string): Promise<boolean> {
    const now = this.clock.now().toISOString();
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { messageId },
          UpdateExpression:
            'SET #status = :queued, updatedAt = :now, reason = :reason, reasonCode = :code, ' +
            'timeline = list_append(if_not_exists(timeline, :empty), :entry)',
          ConditionExpression: '#status = :paused',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':queued': MessageStatus.QUEUED,
            ':paused': MessageStatus.PAUSED,
            ':now': now,
            ':reason': 'released: the tenant was resumed',
            ':code': 'TENANT_RESUMED',
            ':empty': [],
            ':entry': [
              { status: MessageStatus.QUEUED, at: now, detail: 'TENANT_RESUMED: released on resume' },
            ],
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new TransientError('MESSAGES_TABLE_UNAVAILABLE', `marking ${messageId} QUEUED failed`, {
        cause: error,
      });
    }
  }
}
