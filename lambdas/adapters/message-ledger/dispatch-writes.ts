import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, type BatchWriteCommandInput, PutCommand } from '@aws-sdk/lib-dynamodb';
import { LedgerUnavailableError } from '../../domain/message/errors';
import type { JobRecord, JobRecordResult } from '../../domain/message/message-ledger';
import { MessageStatus } from '../../domain/message/message-status';
import {
  type LedgerContext,
  mapConcurrently,
  pendingShard,
  requestKey,
  unmarshallLoose,
  untilProcessed,
} from './ledger-context';

type BatchWriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

/** DynamoDB's BatchWriteItem limit. */
const BATCH_WRITE_LIMIT = 25;

/**
 * Creates one record per email job with a conditional put (`attribute_not_exists(messageId)`), so a
 * redelivered event never creates a second job and never overwrites a record the sender already moved on.
 * The send-lane bodies are kept first (idempotent batch writes), so every QUEUED record the sweeper may find
 * has its body to send again. A failed condition returns the existing item in the same call.
 */
export async function createJobRecords(
  ctx: LedgerContext,
  records: readonly JobRecord[],
): Promise<JobRecordResult[]> {
  const now = ctx.clock.now();
  const at = now.toISOString();
  const expiresAt = ctx.expiresAt(now);
  await keepRequests(
    ctx,
    records.flatMap((r) =>
      r.request ? [{ messageId: requestKey(r.messageId), body: r.request, expiresAt }] : [],
    ),
  );
  return mapConcurrently(records, ctx.options.writeConcurrency ?? 16, async (record) => {
    // The event, definition and job are the record's own fields: a QUEUED line repeats none of them.
    const detail =
      record.status === MessageStatus.REJECTED ? `${record.reasonCode}: ${record.reason}` : undefined;
    const queued = record.status === MessageStatus.QUEUED;
    try {
      await ctx.client.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: {
            messageId: record.messageId,
            tenantId: record.tenantId,
            environment: record.environment,
            category: record.category,
            status: record.status,
            ...(record.eventId === undefined ? {} : { eventId: record.eventId }),
            ...(record.eventType === undefined ? {} : { eventType: record.eventType }),
            ...(record.definitionId === undefined ? {} : { definitionId: record.definitionId }),
            recipients: record.recipients,
            ...(record.subject === undefined ? {} : { subject: record.subject }),
            ...(record.itemKey === undefined ? {} : { itemKey: record.itemKey }),
            ...(record.reasonCode === undefined ? {} : { reasonCode: record.reasonCode }),
            ...(record.reason === undefined ? {} : { reason: record.reason }),
            ...(record.request ? { requestKept: true } : {}),
            ...(queued
              ? {
                  sweepAt: new Date(now.getTime() + ctx.graceMs).toISOString(),
                  pendingShard: pendingShard(record.messageId),
                }
              : {}),
            createdAt: at,
            updatedAt: at,
            expiresAt,
            timeline: [{ status: record.status, at, ...(detail ? { detail } : {}) }],
          },
          ConditionExpression: 'attribute_not_exists(messageId)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { created: true } as const;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException))
        throw new LedgerUnavailableError('create job', error);
      const item = error.Item ? unmarshallLoose(error.Item) : undefined;
      return {
        created: false,
        status: (item?.status as MessageStatus | undefined) ?? MessageStatus.SENDING,
      } as const;
    }
  });
}

/**
 * Puts items beside records (kept send-lane bodies) with BatchWriteItem, 25 per call, until DynamoDB processed
 * them all: unconditional and idempotent, so a retry or a second copy rewrites the same item.
 */
export async function keepRequests(
  ctx: LedgerContext,
  items: readonly { messageId: string; body: string; expiresAt: number }[],
): Promise<void> {
  const batches: (typeof items)[] = [];
  for (let i = 0; i < items.length; i += BATCH_WRITE_LIMIT)
    batches.push(items.slice(i, i + BATCH_WRITE_LIMIT));
  await mapConcurrently(batches, 4, (batch) =>
    untilProcessed<BatchWriteRequest>(
      batch.map((Item) => ({ PutRequest: { Item } })),
      'keep requests',
      async (pending) => {
        const result = await ctx.client.send(
          new BatchWriteCommand({ RequestItems: { [ctx.tableName]: [...pending] } }),
        );
        return result.UnprocessedItems?.[ctx.tableName] ?? [];
      },
    ),
  );
}
