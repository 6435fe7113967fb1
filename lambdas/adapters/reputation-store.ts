import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandOutput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { TransientError } from '../domain/errors';
import type {
  ReputationCounters,
  ReputationDelta,
  ReputationStore,
} from '../domain/feedback/reputation-guard';

export interface DynamoReputationStoreOptions {
  /** Width of a counter bucket in seconds. @default 3600 (one hour) */
  readonly bucketSeconds?: number;
  /**
   * How long buckets and event-key markers are kept (TTL), in hours. Must exceed the longest window read;
   * a duplicate arriving after its marker expired would be counted again, in the bucket of its (old) event time.
   * @default 336 (14 days: twice the default 7-day window)
   */
  readonly retentionHours?: number;
  /** Attempts per transaction when it conflicts with a concurrent one on the same bucket. @default 5 */
  readonly maxConflictAttempts?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** Deltas per transaction: each needs a marker, plus one update per bucket, within DynamoDB's 100 actions. */
const DELTAS_PER_TRANSACTION = 49;

const bucketKey = (tenantId: string) => `REPUTATION#${tenantId}`;
const markerKey = (tenantId: string) => `REPUTATION-EVENT#${tenantId}`;

/**
 * Per-tenant reputation counters on the `counters` table. Buckets are `pk=REPUTATION#<tenantId>`,
 * `sk=<bucket start, ISO-8601>` with numeric `sends`, `bounces`, `complaints` added atomically (`ADD`).
 * Each delta is counted once: the bucket update and a marker item (`pk=REPUTATION-EVENT#<tenantId>`,
 * `sk=<event key>`, written only if absent) commit in one transaction, so a redelivered SNS message cannot
 * count twice, and a crash between the two writes cannot happen. Sends are added by the sender without a marker
 * (`addSends`: one `ADD`, for the emails of a batch whose SENT was recorded).
 */
export class DynamoReputationStore implements ReputationStore {
  private readonly bucketMs: number;
  private readonly retentionSeconds: number;
  private readonly maxConflictAttempts: number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoReputationStoreOptions = {},
  ) {
    this.bucketMs = (options.bucketSeconds ?? 3_600) * 1000;
    this.retentionSeconds = (options.retentionHours ?? 336) * 3_600;
    this.maxConflictAttempts = options.maxConflictAttempts ?? 5;
  }

  async addSends(tenantId: string, at: string, count: number): Promise<void> {
    if (count <= 0) return;
    const sk = this.bucketStart(at);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: bucketKey(tenantId), sk },
          UpdateExpression: 'ADD sends :s SET expiresAt = :e',
          ExpressionAttributeValues: {
            ':s': count,
            ':e': Math.floor(new Date(sk).getTime() / 1000) + this.retentionSeconds,
          },
        }),
      );
    } catch (error) {
      throw new TransientError('REPUTATION_STORE_UNAVAILABLE', 'counting sends failed', { cause: error });
    }
  }

  /** ISO start of the bucket holding `at`. */
  bucketStart(at: Date | string): string {
    const ms = new Date(at).getTime();
    return new Date(Math.floor(ms / this.bucketMs) * this.bucketMs).toISOString();
  }

  /**
   * Counts every delta whose event key has not been counted before. Deltas of one call commit together when
   * none is a duplicate; if one is, each is retried alone so the new ones still count exactly once.
   */
  async record(tenantId: string, deltas: readonly ReputationDelta[]): Promise<{ counted: number }> {
    const unique = [...new Map(deltas.map((delta) => [delta.eventKey, delta])).values()];
    let counted = 0;
    for (let start = 0; start < unique.length; start += DELTAS_PER_TRANSACTION) {
      const chunk = unique.slice(start, start + DELTAS_PER_TRANSACTION);
      if (await this.commit(tenantId, chunk)) {
        counted += chunk.length;
        continue;
      }
      for (const delta of chunk) {
        if (await this.commit(tenantId, [delta])) counted += 1;
      }
    }
    return { counted };
  }

  /** Sums the buckets that start within the `windowHours` ending at `now` (the window is rounded to buckets). */
  async readWindow(tenantId: string, now: Date, windowHours: number): Promise<ReputationCounters> {
    const from = this.bucketStart(new Date(now.getTime() - windowHours * 3_600_000 + this.bucketMs));
    const to = this.bucketStart(now);
    const totals = { sends: 0, bounces: 0, complaints: 0 };
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      let page: QueryCommandOutput;
      try {
        page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: { ':pk': bucketKey(tenantId), ':from': from, ':to': to },
            ProjectionExpression: 'sends, bounces, complaints',
            ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
          }),
        );
      } catch (error) {
        throw new TransientError('REPUTATION_STORE_UNAVAILABLE', 'reading reputation counters failed', {
          cause: error,
        });
      }
      for (const item of page.Items ?? []) {
        totals.sends += Number(item.sends ?? 0);
        totals.bounces += Number(item.bounces ?? 0);
        totals.complaints += Number(item.complaints ?? 0);
      }
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return totals;
  }

  /** Commits markers and bucket increments for the deltas; false when a marker already existed. */
  private async commit(tenantId: string, deltas: readonly ReputationDelta[]): Promise<boolean> {
    const expiresAt = Math.floor(Date.now() / 1000) + this.retentionSeconds;
    const buckets = new Map<string, { sends: number; bounces: number; complaints: number }>();
    const items: TransactItem[] = [];
    for (const delta of deltas) {
      items.push({
        Put: {
          TableName: this.tableName,
          Item: { pk: markerKey(tenantId), sk: delta.eventKey, at: delta.at, expiresAt },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
      const sk = this.bucketStart(delta.at);
      const sum = buckets.get(sk) ?? { sends: 0, bounces: 0, complaints: 0 };
      sum.sends += delta.sends;
      sum.bounces += delta.bounces;
      sum.complaints += delta.complaints;
      buckets.set(sk, sum);
    }
    for (const [sk, sum] of buckets) {
      const bucketExpiry = Math.floor(new Date(sk).getTime() / 1000) + this.retentionSeconds;
      items.push({
        Update: {
          TableName: this.tableName,
          Key: { pk: bucketKey(tenantId), sk },
          UpdateExpression: 'ADD sends :s, bounces :b, complaints :c SET expiresAt = :e',
          ExpressionAttributeValues: {
            ':s': sum.sends,
            ':b': sum.bounces,
            ':c': sum.complaints,
            ':e': bucketExpiry,
          },
        },
      });
    }
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: items }));
        return true;
      } catch (error) {
        const reasons =
          error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
        if (reasons.some((reason) => reason.Code === 'ConditionalCheckFailed')) return false;
        // A tenant's current bucket is a hot item: concurrent invocations conflict on it. Retry briefly with
        // jitter; past that, the SQS message is retried as a whole (its markers make that safe).
        const conflict = reasons.some((reason) => reason.Code === 'TransactionConflict');
        if (!conflict || attempt >= this.maxConflictAttempts) {
          throw new TransientError('REPUTATION_STORE_UNAVAILABLE', 'recording reputation counters failed', {
            cause: error,
          });
        }
        await sleep(Math.random() * 20 * 2 ** attempt);
      }
    }
  }
}
