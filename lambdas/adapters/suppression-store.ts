import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { PermanentError, TransientError } from '../domain/errors';
import { normalizeAddress } from '../domain/feedback/feedback-event';
import {
  isActiveSuppression,
  SUPPRESSION_REASONS,
  SUPPRESSION_STRENGTH,
  type SuppressionEntry,
  type SuppressionReason,
  type SuppressionStore,
} from '../domain/feedback/suppression-rules';
import { Coalescer } from '../shared/coalescer';

/** BatchGetItem takes at most 100 keys per request. */
const BATCH_GET_LIMIT = 100;

export interface DynamoSuppressionStoreOptions {
  /** Attempts per BatchGetItem chunk while DynamoDB returns unprocessed keys. @default 5 */
  readonly maxBatchGetAttempts?: number;
  /** Clock for expiry checks in `put`. @default () => new Date() */
  readonly clock?: () => Date;
  /**
   * Lookups that arrive within this many milliseconds (the records of one SQS batch) share one BatchGetItem.
   * 0 looks each up on its own. @default 5
   */
  readonly coalesceMs?: number;
}

interface Lookup {
  readonly tenantId: string;
  readonly addresses: readonly string[];
  readonly now: Date;
}

/** Raised when a `list` cursor was not produced by this store. */
export class InvalidCursorError extends PermanentError {
  constructor(options?: ErrorOptions) {
    super('INVALID_CURSOR', 'the suppression list cursor is not valid', options);
    this.name = 'InvalidCursorError';
  }
}

interface SuppressionItem {
  pk: string;
  sk: string;
  tenantId: string;
  address: string;
  reason: SuppressionReason;
  strength: number;
  createdAt: string;
  sourceMessageId?: string;
  expiresAt?: number;
  detail?: string;
}

const tenantKey = (tenantId: string) => `TENANT#${tenantId}`;

function toItem(entry: SuppressionEntry): SuppressionItem {
  const address = normalizeAddress(entry.address);
  return {
    pk: tenantKey(entry.tenantId),
    sk: address,
    tenantId: entry.tenantId,
    address,
    reason: entry.reason,
    strength: SUPPRESSION_STRENGTH[entry.reason],
    createdAt: entry.createdAt,
    ...(entry.sourceMessageId ? { sourceMessageId: entry.sourceMessageId } : {}),
    ...(entry.expiresAt === undefined ? {} : { expiresAt: entry.expiresAt }),
    ...(entry.detail ? { detail: entry.detail } : {}),
  };
}

function fromItem(item: Record<string, unknown>): SuppressionEntry {
  const reason = item.reason;
  if (typeof reason !== 'string' || !(SUPPRESSION_REASONS as readonly string[]).includes(reason)) {
    throw new PermanentError(
      'CORRUPT_SUPPRESSION',
      `suppression item ${String(item.sk)} has no valid reason`,
    );
  }
  return {
    tenantId: String(item.tenantId),
    address: String(item.address ?? item.sk),
    reason: reason as SuppressionReason,
    createdAt: String(item.createdAt),
    ...(typeof item.sourceMessageId === 'string' ? { sourceMessageId: item.sourceMessageId } : {}),
    ...(typeof item.expiresAt === 'number' ? { expiresAt: item.expiresAt } : {}),
    ...(typeof item.detail === 'string' ? { detail: item.detail } : {}),
  };
}

function unavailable(operation: string, cause: unknown): TransientError {
  return new TransientError('SUPPRESSION_STORE_UNAVAILABLE', `suppression store ${operation} failed`, {
    cause,
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The per-tenant suppression list on the `suppressions` table (`pk=TENANT#<id>`, `sk=<lower-cased address>`,
 * `expiresAt` as the TTL attribute). Writes are single conditional puts, so concurrent feedback for the same
 * address settles on the strongest, earliest reason without read-then-write races.
 */
export class DynamoSuppressionStore implements SuppressionStore {
  private readonly maxBatchGetAttempts: number;
  private readonly clock: () => Date;
  private readonly lookups: Coalescer<Lookup, Map<string, SuppressionEntry>>;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoSuppressionStoreOptions = {},
  ) {
    this.maxBatchGetAttempts = options.maxBatchGetAttempts ?? 5;
    this.clock = options.clock ?? (() => new Date());
    this.lookups = new Coalescer((_, batch) => this.lookUp(batch), options.coalesceMs ?? 5);
  }

  /**
   * Writes the entry unless an entry that is still active and at least as strong already stands (equal
   * strength: the earlier one stays). Writing the same entry twice stores it once.
   */
  async put(entry: SuppressionEntry): Promise<{ stored: boolean }> {
    const item = toItem(entry);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression:
            'attribute_not_exists(pk) OR (attribute_exists(expiresAt) AND expiresAt <= :now) ' +
            'OR strength < :strength OR (strength = :strength AND createdAt > :createdAt)',
          ExpressionAttributeValues: {
            ':now': Math.floor(this.clock().getTime() / 1000),
            ':strength': item.strength,
            ':createdAt': item.createdAt,
          },
        }),
      );
      return { stored: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { stored: false };
      throw unavailable('put', error);
    }
  }

  /**
   * The active entries among `addresses` of the tenant. Lookups of concurrent callers are read together, with
   * BatchGetItem (100 keys a request, unprocessed keys retried with backoff). Entries past `expiresAt` that TTL
   * has not deleted yet do not count.
   */
  isSuppressed(
    tenantId: string,
    addresses: readonly string[],
    now: Date = this.clock(),
  ): Promise<Map<string, SuppressionEntry>> {
    return this.lookups.add('lookups', { tenantId, addresses, now });
  }

  private async lookUp(batch: readonly Lookup[]): Promise<Map<string, SuppressionEntry>[]> {
    const wanted = new Map<string, { pk: string; sk: string }>();
    for (const lookup of batch) {
      for (const address of lookup.addresses.map(normalizeAddress)) {
        const key = { pk: tenantKey(lookup.tenantId), sk: address };
        wanted.set(`${key.pk}\n${key.sk}`, key);
      }
    }
    const stored = new Map<string, Record<string, unknown>>();
    const unique = [...wanted.values()];
    for (let start = 0; start < unique.length; start += BATCH_GET_LIMIT) {
      let keys: Record<string, unknown>[] = unique.slice(start, start + BATCH_GET_LIMIT);
      for (let attempt = 1; keys.length > 0; attempt += 1) {
        if (attempt > this.maxBatchGetAttempts) {
          throw unavailable('isSuppressed', new Error(`${keys.length} keys still unprocessed`));
        }
        if (attempt > 1) await sleep(25 * 2 ** attempt);
        let response: BatchGetCommandOutput;
        try {
          response = await this.client.send(
            new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
          );
        } catch (error) {
          throw unavailable('isSuppressed', error);
        }
        for (const item of response.Responses?.[this.tableName] ?? []) {
          stored.set(`${String(item.pk)}\n${String(item.sk)}`, item);
        }
        keys = response.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return batch.map((lookup) => {
      const found = new Map<string, SuppressionEntry>();
      for (const address of lookup.addresses.map(normalizeAddress)) {
        const item = stored.get(`${tenantKey(lookup.tenantId)}\n${address}`);
        if (!item) continue;
        const entry = fromItem(item);
        if (isActiveSuppression(entry, lookup.now)) found.set(entry.address, entry);
      }
      return found;
    });
  }

  /**
   * Lists a tenant's active entries in address order. A page may hold fewer than `limit` items (expired entries
   * are filtered out after the read); follow `cursor` until it is absent. `limit` defaults to 50, at most 1,000.
   */
  async list(
    tenantId: string,
    options: { limit?: number; cursor?: string; now?: Date } = {},
  ): Promise<{ items: SuppressionEntry[]; cursor?: string }> {
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 50), 1), 1_000);
    const now = options.now ?? this.clock();
    const startAfter = options.cursor ? decodeCursor(options.cursor) : undefined;
    let response: QueryCommandOutput;
    try {
      response = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          FilterExpression: 'attribute_not_exists(expiresAt) OR expiresAt > :now',
          ExpressionAttributeValues: { ':pk': tenantKey(tenantId), ':now': Math.floor(now.getTime() / 1000) },
          Limit: limit,
          ...(startAfter ? { ExclusiveStartKey: { pk: tenantKey(tenantId), sk: startAfter } } : {}),
        }),
      );
    } catch (error) {
      throw unavailable('list', error);
    }
    const items = (response.Items ?? []).map(fromItem);
    const lastSk = response.LastEvaluatedKey?.sk;
    return typeof lastSk === 'string' ? { items, cursor: encodeCursor(lastSk) } : { items };
  }

  /** Removes an address from the tenant's list (an operator action); removing an absent address is a no-op. */
  async remove(tenantId: string, address: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: tenantKey(tenantId), sk: normalizeAddress(address) },
        }),
      );
    } catch (error) {
      throw unavailable('remove', error);
    }
  }
}

function encodeCursor(sk: string): string {
  return Buffer.from(JSON.stringify({ sk }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'sk' in parsed && typeof parsed.sk === 'string') {
      return parsed.sk;
    }
  } catch (cause) {
    throw new InvalidCursorError({ cause });
  }
  throw new InvalidCursorError();
}
