import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { MessageStatus } from '../domain/message';
import type { DispatchLedger, JobRecord, JobRecordResult } from '../domain/notifications/dispatch-events';
import type {
  ClaimInput,
  ClaimResult,
  Clock,
  MessageLedger,
  OutcomeDetail,
  SentDetail,
} from '../domain/sending/ports';

export interface DynamoMessageLedgerOptions {
  readonly tableName: string;
  /** Days a record is kept (DynamoDB TTL on `expiresAt`). */
  readonly retentionDays: number;
  /** How long a claim protects a message from a parallel redelivery. @default 120 s (well under the visibility timeout) */
  readonly leaseSeconds?: number;
  readonly clock?: Clock;
  /** Conditional writes the dispatcher keeps in flight at once. @default 16 */
  readonly writeConcurrency?: number;
}

/** Statuses from which a message may be claimed: never sent, waiting, held, or a failed attempt. */
const CLAIMABLE = [MessageStatus.QUEUED, MessageStatus.DEFERRED, MessageStatus.PAUSED];

/**
 * The messages table as idempotency ledger and status timeline. A claim is one conditional UpdateItem that
 * returns the old item when it fails, so a duplicate costs one write and no read.
 */
export class DynamoMessageLedger implements MessageLedger, DispatchLedger {
  private readonly leaseSeconds: number;
  private readonly clock: Clock;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: DynamoMessageLedgerOptions,
  ) {
    this.leaseSeconds = options.leaseSeconds ?? 120;
    this.clock = options.clock ?? { now: () => new Date() };
  }

  async claim(input: ClaimInput): Promise<ClaimResult> {
    const now = this.clock.now();
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { messageId: input.messageId },
          UpdateExpression:
            'SET #status = :sending, leaseUntil = :lease, updatedAt = :now, tenantId = :tenant, environment = :env, ' +
            'category = :category, recipients = :recipients, subject = :subject, ' +
            'createdAt = if_not_exists(createdAt, :now), expiresAt = if_not_exists(expiresAt, :expires), ' +
            'timeline = list_append(if_not_exists(timeline, :empty), :entry)' +
            (input.eventId ? ', eventId = :eventId' : '') +
            (input.definitionId ? ', definitionId = :definitionId' : '') +
            ' ADD attempts :one',
          ConditionExpression:
            'attribute_not_exists(messageId) OR #status IN (:queued, :deferred, :paused) OR (#status = :sending AND leaseUntil < :nowMs)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':sending': MessageStatus.SENDING,
            ':queued': CLAIMABLE[0],
            ':deferred': CLAIMABLE[1],
            ':paused': CLAIMABLE[2],
            ':lease': now.getTime() + this.leaseSeconds * 1000,
            ':nowMs': now.getTime(),
            ':now': now.toISOString(),
            ':tenant': input.tenantId,
            ':env': input.environment,
            ':category': input.category,
            ':recipients': input.recipients,
            ':subject': input.subject,
            ':expires': this.expiresAt(now),
            ':empty': [],
            ':entry': [{ status: MessageStatus.SENDING, at: now.toISOString() }],
            ':one': 1,
            ...(input.eventId ? { ':eventId': input.eventId } : {}),
            ...(input.definitionId ? { ':definitionId': input.definitionId } : {}),
          },
          ReturnValues: 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { claimed: true, attempt: Number(result.Attributes?.attempts ?? 1) };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        const status = (error.Item?.status as { S?: string } | undefined)?.S as MessageStatus | undefined;
        return { claimed: false, status: status ?? MessageStatus.SENDING };
      }
      throw error;
    }
  }

  async markSent(messageId: string, detail: SentDetail): Promise<void> {
    const now = this.clock.now().toISOString();
    const optional: Record<string, unknown> = {
      ...(detail.dkim ? { ':dkim': detail.dkim } : {}),
      ...(detail.suppressedRecipients ? { ':suppressed': detail.suppressedRecipients } : {}),
      ...(detail.rejectedRecipients ? { ':rejected': detail.rejectedRecipients } : {}),
    };
    await this.client.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: { messageId },
        UpdateExpression:
          'SET #status = :sent, updatedAt = :now, sentAt = :now, #method = :method, fromAddress = :from, ' +
          'sesMessageId = :providerId, timeline = list_append(timeline, :entry)' +
          (detail.dkim ? ', dkim = :dkim' : '') +
          (detail.suppressedRecipients ? ', suppressedRecipients = :suppressed' : '') +
          (detail.rejectedRecipients ? ', rejectedRecipients = :rejected' : '') +
          ' REMOVE leaseUntil, reason, reasonCode',
        ExpressionAttributeNames: { '#status': 'status', '#method': 'method' },
        ExpressionAttributeValues: {
          ':sent': MessageStatus.SENT,
          ':now': now,
          ':method': detail.method,
          ':from': detail.from,
          ':providerId': detail.providerMessageId,
          ':entry': [
            { status: MessageStatus.SENT, at: now, detail: `${detail.method} ${detail.providerMessageId}` },
          ],
          ...optional,
        },
      }),
    );
  }

  async markOutcome(messageId: string, status: MessageStatus, detail: OutcomeDetail): Promise<void> {
    const now = this.clock.now().toISOString();
    await this.client.send(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: { messageId },
        UpdateExpression:
          'SET #status = :status, updatedAt = :now, reason = :reason, reasonCode = :code, ' +
          'timeline = list_append(if_not_exists(timeline, :empty), :entry)' +
          (detail.eligibleAt ? ', eligibleAt = :eligibleAt' : '') +
          (detail.heldRequest ? ', heldRequest = :held' : '') +
          ' REMOVE leaseUntil',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':status': status,
          ':now': now,
          ':reason': detail.reason,
          ':code': detail.code,
          ':empty': [],
          ':entry': [{ status, at: now, detail: `${detail.code}: ${detail.reason}` }],
          ...(detail.eligibleAt ? { ':eligibleAt': detail.eligibleAt } : {}),
          ...(detail.heldRequest ? { ':held': detail.heldRequest } : {}),
        },
      }),
    );
  }

  async recordInvalid(
    messageId: string,
    detail: OutcomeDetail & { readonly tenantId?: string; readonly body: string },
  ): Promise<void> {
    const now = this.clock.now();
    await this.client.send(
      new PutCommand({
        TableName: this.options.tableName,
        Item: {
          messageId,
          tenantId: detail.tenantId ?? '(unknown)',
          status: MessageStatus.REJECTED,
          reasonCode: detail.code,
          reason: detail.reason,
          // Enough of the body for an operator to recognise the message, never the whole of a huge one.
          bodyExcerpt: detail.body.slice(0, 2048),
          createdAt: now.toISOString(),
          updatedAt: now.toISOString(),
          expiresAt: this.expiresAt(now),
          timeline: [
            {
              status: MessageStatus.REJECTED,
              at: now.toISOString(),
              detail: `${detail.code}: ${detail.reason}`,
            },
          ],
        },
      }),
    );
  }

  /**
   * Creates one record per email job with a conditional put (`attribute_not_exists(messageId)`), so a
   * redelivered event never creates a second job and never overwrites a record the sender already moved on
   * (SENDING, SENT…). A failed condition returns the existing item in the same call (no extra read).
   */
  async createJobRecords(records: readonly JobRecord[]): Promise<JobRecordResult[]> {
    const now = this.clock.now();
    const at = now.toISOString();
    return mapConcurrently(records, this.options.writeConcurrency ?? 16, async (record) => {
      const detail =
        record.status === MessageStatus.REJECTED
          ? `${record.reasonCode}: ${record.reason}`
          : `event ${record.eventId}, definition ${record.definitionId}`;
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.options.tableName,
            Item: {
              messageId: record.messageId,
              jobId: record.jobId,
              tenantId: record.tenantId,
              environment: record.environment,
              category: record.category,
              status: record.status,
              eventId: record.eventId,
              eventType: record.eventType,
              definitionId: record.definitionId,
              recipients: record.recipients,
              ...(record.subject === undefined ? {} : { subject: record.subject }),
              ...(record.itemKey === undefined ? {} : { itemKey: record.itemKey }),
              ...(record.reasonCode === undefined ? {} : { reasonCode: record.reasonCode }),
              ...(record.reason === undefined ? {} : { reason: record.reason }),
              createdAt: at,
              updatedAt: at,
              expiresAt: this.expiresAt(now),
              timeline: [{ status: record.status, at, detail }],
            },
            ConditionExpression: 'attribute_not_exists(messageId)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { created: true } as const;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const item = error.Item as Record<string, { S?: string }> | undefined;
        return {
          created: false,
          status: (item?.status?.S as MessageStatus | undefined) ?? MessageStatus.SENDING,
          enqueued: item?.enqueuedAt !== undefined,
        } as const;
      }
    });
  }

  /** Sets `enqueuedAt` on records whose send-queue message SQS accepted (never creates a record). */
  async markEnqueued(messageIds: readonly string[]): Promise<void> {
    const at = this.clock.now().toISOString();
    await mapConcurrently(messageIds, this.options.writeConcurrency ?? 16, async (messageId) => {
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.options.tableName,
            Key: { messageId },
            UpdateExpression: 'SET enqueuedAt = if_not_exists(enqueuedAt, :at)',
            ConditionExpression: 'attribute_exists(messageId)',
            ExpressionAttributeValues: { ':at': at },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    });
  }

  private expiresAt(now: Date): number {
    return Math.floor(now.getTime() / 1000) + this.options.retentionDays * 86_400;
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
