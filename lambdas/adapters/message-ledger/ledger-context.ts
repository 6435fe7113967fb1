import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { LedgerUnavailableError } from '../../domain/message/errors';
import { MessageStatus, PENDING_STATUSES } from '../../domain/message/message-status';
import type { Clock } from '../../domain/sending/ports';
import { UpdateBuilder } from './update-builder';

export interface DynamoMessageLedgerOptions {
  readonly tableName: string;
  /**
   * Days a record is kept (DynamoDB TTL on `expiresAt`); the functions pass the scope's setting, tools that
   * never create records may leave it. @default 90
   */
  readonly retentionDays?: number;
  /**
   * How long a claim protects a message from a parallel redelivery. Must outlast the sender's function timeout
   * (the stack checks it) and stay under the send queue's visibility timeout. @default 120 s
   */
  readonly leaseSeconds?: number;
  /** How long past its deadline a pending record waits before the sweeper acts on it. @default 900 s */
  readonly sweepGraceSeconds?: number;
  /**
   * How far behind its clock the sweeper's walk of `byPending` stops (index propagation and clock skew; see
   * `DEFAULT_SWEEP_LAG_SECONDS`). @default 60 s
   */
  readonly sweepLagSeconds?: number;
  readonly clock?: Clock;
  /** Conditional writes kept in flight at once (dispatcher). @default 16 */
  readonly writeConcurrency?: number;
  /**
   * The sender's `keepRequest` calls that arrive within this many milliseconds (the records of one SQS batch,
   * which the sender works on concurrently), or while the previous write runs, share one BatchWriteItem. @default 5
   */
  readonly keepCoalesceMs?: number;
  /** GSIs. @default 'byTenant', 'byPending' */
  readonly indexes?: { readonly tenant?: string; readonly pending?: string };
}

/** Shards of the sparse `byPending` index: spreads the writes of a large bill run over several partitions. */
export const PENDING_SHARDS = 4;

/** Everything the ledger's parts share. */
export class LedgerContext {
  readonly leaseMs: number;
  readonly graceMs: number;
  readonly clock: Clock;
  readonly indexes: { readonly tenant: string; readonly pending: string };

  constructor(
    readonly client: DynamoDBDocumentClient,
    readonly options: DynamoMessageLedgerOptions,
  ) {
    this.leaseMs = (options.leaseSeconds ?? 120) * 1000;
    this.graceMs = (options.sweepGraceSeconds ?? 900) * 1000;
    this.clock = options.clock ?? { now: () => new Date() };
    this.indexes = {
      tenant: options.indexes?.tenant ?? 'byTenant',
      pending: options.indexes?.pending ?? 'byPending',
    };
  }

  get tableName(): string {
    return this.options.tableName;
  }

  expiresAt(now: Date): number {
    return Math.floor(now.getTime() / 1000) + (this.options.retentionDays ?? 90) * 86_400;
  }

  /**
   * Sets the sweeper's fields for a record moving to `status`: pending statuses get `sweepAt` (`deadline` +
   * grace) and a shard; PAUSED records the `HELD#<tenant>` partition (found on resume, never by the sweeper),
   * which needs `tenantId`. Every other status keeps the record's entry where it is: removing it would cost an
   * index write per email, and the sweeper's cursor passes it once (it reads the status). A record leaves such a
   * status for a pending one only with a new `sweepAt` (release, requeue, or a claim from PAUSED or
   * DEAD_LETTERED), always at the writer's time or later, so never behind the sweeper's cursor.
   */
  pendingFields(
    update: UpdateBuilder,
    messageId: string,
    status: MessageStatus,
    deadline: Date,
    tenantId?: string,
  ): UpdateBuilder {
    if (status === MessageStatus.PAUSED) {
      if (!tenantId)
        throw new Error(`message ${messageId}: a PAUSED record needs its tenant (held by tenant)`);
      return update.set('sweepAt', deadline.toISOString()).set('pendingShard', heldShard(tenantId));
    }
    if (!PENDING_STATUSES.includes(status)) return update;
    return update
      .set('sweepAt', new Date(deadline.getTime() + this.graceMs).toISOString())
      .set('pendingShard', pendingShard(messageId));
  }

  /** When a record whose own deadline is `deadline` (epoch ms) counts as stuck: deadline + grace. */
  dueAfter(deadline: number): Date {
    return new Date(deadline + this.graceMs);
  }

  /**
   * One conditional UpdateItem. Returns the old item when the condition failed (`ok: false`), and what
   * `returnValues` asks for otherwise; any other failure is a LedgerUnavailableError.
   */
  async update(
    messageId: string,
    update: UpdateBuilder,
    operation: string,
    returnValues?: 'ALL_NEW' | 'ALL_OLD',
  ): Promise<{ ok: true; item?: Record<string, unknown> } | { ok: false; old?: Record<string, unknown> }> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { messageId },
          ...update.build(),
          ...(returnValues ? { ReturnValues: returnValues } : {}),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true, ...(result.Attributes ? { item: result.Attributes } : {}) };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return { ok: false, ...(error.Item ? { old: unmarshallLoose(error.Item) } : {}) };
      }
      throw new LedgerUnavailableError(operation, error);
    }
  }
}

/**
 * The items of a paged Query, one page at a time (from `ExclusiveStartKey` when given), until the pages end or
 * `enough()` says stop. A failed page is a LedgerUnavailableError naming `operation`.
 */
export async function* queryItems(
  ctx: LedgerContext,
  input: Omit<QueryCommandInput, 'TableName'>,
  operation: string,
  enough: () => boolean = () => false,
): AsyncGenerator<Record<string, unknown>> {
  let start: Record<string, unknown> | undefined = input.ExclusiveStartKey;
  do {
    let page: QueryCommandOutput;
    try {
      page = await ctx.client.send(
        new QueryCommand({
          ...input,
          TableName: ctx.tableName,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
    } catch (error) {
      throw new LedgerUnavailableError(operation, error);
    }
    for (const item of page.Items ?? []) yield item;
    start = page.LastEvaluatedKey;
  } while (start && !enough());
}

/** The `byPending` partition of a tenant's PAUSED records. */
export const heldShard = (tenantId: string) => `HELD#${tenantId}`;

/** DynamoDB's BatchGetItem limit. */
const BATCH_GET_LIMIT = 100;

/**
 * The named attributes of the records `messageIds`, by id, 100 per BatchGetItem with its unprocessed keys asked
 * again; records that do not exist are absent. A failed request is a LedgerUnavailableError naming `operation`.
 */
export async function readRecords(
  ctx: LedgerContext,
  messageIds: readonly string[],
  attributes: readonly string[],
  options: { readonly consistent: boolean; readonly operation: string },
): Promise<Map<string, Record<string, unknown>>> {
  const found = new Map<string, Record<string, unknown>>();
  const names = ['messageId', ...attributes.filter((a) => a !== 'messageId')];
  for (let i = 0; i < messageIds.length; i += BATCH_GET_LIMIT) {
    const keys: Record<string, unknown>[] = messageIds
      .slice(i, i + BATCH_GET_LIMIT)
      .map((messageId) => ({ messageId }));
    await untilProcessed(keys, options.operation, async (pending) => {
      const result = await ctx.client.send(
        new BatchGetCommand({
          RequestItems: {
            [ctx.tableName]: {
              Keys: [...pending],
              ConsistentRead: options.consistent,
              ProjectionExpression: names.map((_, n) => `#a${n}`).join(', '),
              ExpressionAttributeNames: Object.fromEntries(names.map((name, n) => [`#a${n}`, name])),
            },
          },
        }),
      );
      for (const item of result.Responses?.[ctx.tableName] ?? []) found.set(String(item.messageId), item);
      return (result.UnprocessedKeys?.[ctx.tableName]?.Keys ?? []) as Record<string, unknown>[];
    });
  }
  return found;
}

/**
 * Sends a batch request (BatchGetItem, BatchWriteItem) until DynamoDB has processed all of it: `send` returns
 * what it left unprocessed, asked again after a growing wait, at most 8 rounds. A failed request, or a
 * remainder after the last round, is a LedgerUnavailableError naming `operation`.
 */
export async function untilProcessed<T>(
  first: readonly T[],
  operation: string,
  send: (pending: readonly T[]) => Promise<readonly T[]>,
): Promise<void> {
  let pending = first;
  for (let round = 0; pending.length > 0; round += 1) {
    if (round >= 8) throw new LedgerUnavailableError(`${operation} (unprocessed items)`, undefined);
    if (round > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** round));
    try {
      pending = await send(pending);
    } catch (error) {
      throw new LedgerUnavailableError(operation, error);
    }
  }
}

export function pendingShard(messageId: string): string {
  const n = Number.parseInt(messageId.slice(0, 2), 16);
  return `P${Number.isNaN(n) ? 0 : n % PENDING_SHARDS}`;
}

/** The id of the item that keeps a record's send-lane body. */
export const requestKey = (messageId: string) => `${messageId}#request`;

/** The id of the item that says a batch of jobs reached its lanes (`markPublished`). */
export const publishedKey = (batchKey: string) => `published#${batchKey}`;

/** The id of the item that keeps the provider event behind a record's failure status. */
export const feedbackEventKey = (messageId: string) => `${messageId}#event`;

/**
 * `ReturnValuesOnConditionCheckFailure` items come back in the low-level attribute format even through the
 * document client; the ledger only needs strings, numbers and booleans from them.
 */
export function unmarshallLoose(item: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) {
    const v = value as { S?: string; N?: string; BOOL?: boolean } | undefined;
    out[key] = v?.S ?? (v?.N !== undefined ? Number(v.N) : (v?.BOOL ?? value));
  }
  return out;
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapConcurrently<T, R>(
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

export { UpdateBuilder };
