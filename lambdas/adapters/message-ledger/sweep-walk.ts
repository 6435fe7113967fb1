import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { LedgerUnavailableError } from '../../domain/message/errors';
import type { StuckRecord, StuckScan, SweepPosition } from '../../domain/message/message-ledger';
import { MessageStatus, PENDING_STATUSES } from '../../domain/message/message-status';
import { type LedgerContext, PENDING_SHARDS, queryItems, readRecords, UpdateBuilder } from './ledger-context';

/**
 * The item that keeps the sweeper's place in the `byPending` index: per shard (`P0`…), the last entry it
 * finished (`{ sweepAt, messageId }`), and a `version` that each move increments (two runs at once: the second
 * writer's condition fails and the first one's position stands). It never expires, carries no `tenantId` or
 * `status` (so neither index nor the status-event stream sees it), and costs one write per run that moved.
 */
export const SWEEP_CURSOR_KEY = 'sweeper#cursor';

/**
 * How far behind `now` the walk stops (and so the furthest the cursor can move): an index entry is written a
 * moment after its record (DynamoDB propagates GSI writes asynchronously, normally within a second), and every
 * writer's clock may differ a little from the sweeper's. Each writer puts an entry at its own `now` or later, so
 * an entry missing from a query that stops 60 s in the past would have to be over 60 s late — 60 times the usual
 * delay. The cost: a record is found at most 60 s later than its deadline (which already carries 15 min of grace).
 * @default 60 s
 */
export const DEFAULT_SWEEP_LAG_SECONDS = 60;

interface Cursor {
  readonly version: number;
  readonly positions: ReadonlyMap<string, SweepPosition>;
}

async function readCursor(ctx: LedgerContext): Promise<Cursor> {
  let item: Record<string, unknown> | undefined;
  try {
    ({ Item: item } = await ctx.client.send(
      new GetCommand({
        TableName: ctx.tableName,
        Key: { messageId: SWEEP_CURSOR_KEY },
        ConsistentRead: true,
      }),
    ));
  } catch (error) {
    throw new LedgerUnavailableError('read sweep cursor', error);
  }
  const positions = new Map<string, SweepPosition>();
  for (let n = 0; n < PENDING_SHARDS; n += 1) {
    const at = item?.[`P${n}`] as Partial<SweepPosition> | undefined;
    if (typeof at?.sweepAt === 'string' && typeof at.messageId === 'string')
      positions.set(`P${n}`, { sweepAt: at.sweepAt, messageId: at.messageId });
  }
  return { version: typeof item?.version === 'number' ? item.version : 0, positions };
}

/**
 * The entries of each shard past the sweeper's cursor whose `sweepAt` is at least the lag behind `now`, in index
 * order, at most `entries` in all (a quarter per shard), with each record's status, deadline and shard read from
 * the table (consistent). An entry counts as a stuck record only when its record is still pending and still at
 * that place (same `sweepAt`, same shard); any other entry was left by a record that moved on (sent, final, or
 * postponed: its new place is later) and is passed. At most `limit` records: the walk of a shard ends before the
 * first record past the limit.
 */
export async function stuck(
  ctx: LedgerContext,
  now: Date,
  limit: number,
  entries: number,
): Promise<StuckScan> {
  const cursor = await readCursor(ctx);
  const to = new Date(
    now.getTime() - (ctx.options.sweepLagSeconds ?? DEFAULT_SWEEP_LAG_SECONDS) * 1000,
  ).toISOString();
  const perShard = Math.max(1, Math.ceil(entries / PENDING_SHARDS));
  const records: StuckRecord[] = [];
  const walked = new Map<string, SweepPosition[]>();
  let passed = 0;
  let caughtUp = true;
  for (let n = 0; n < PENDING_SHARDS; n += 1) {
    if (records.length >= limit) {
      caughtUp = false;
      break;
    }
    const shard = `P${n}`;
    const start = cursor.positions.get(shard);
    // A cursor later than this run's end (a clock behind an earlier run's): nothing new to read here.
    if (start && start.sweepAt > to) continue;
    const found: Record<string, unknown>[] = [];
    for await (const entry of queryItems(
      ctx,
      {
        IndexName: ctx.indexes.pending,
        // DynamoDB refuses a start key outside the key condition: the range begins at the cursor's own sweepAt.
        KeyConditionExpression: start
          ? 'pendingShard = :shard AND sweepAt BETWEEN :from AND :to'
          : 'pendingShard = :shard AND sweepAt <= :to',
        ExpressionAttributeValues: {
          ':shard': shard,
          ':to': to,
          ...(start ? { ':from': start.sweepAt } : {}),
        },
        ...(start ? { ExclusiveStartKey: { pendingShard: shard, ...start } } : {}),
        Limit: perShard,
      },
      'query stuck records',
      () => found.length >= perShard,
    )) {
      if (found.length >= perShard) break;
      found.push(entry);
    }
    // A full page may have more behind it; a shorter one is the end of the range.
    if (found.length >= perShard) caughtUp = false;
    const table = await readRecords(
      ctx,
      found.map((entry) => String(entry.messageId)),
      ['status', 'sweepAt', 'pendingShard', 'leaseUntil', 'eligibleAt', 'sesMessageId'],
      { consistent: true, operation: 'read stuck records' },
    );
    const positions: SweepPosition[] = [];
    for (const entry of found) {
      const position = { sweepAt: String(entry.sweepAt), messageId: String(entry.messageId) };
      const item = table.get(position.messageId);
      const status = item?.status as MessageStatus | undefined;
      const pendingHere =
        item !== undefined &&
        status !== undefined &&
        PENDING_STATUSES.includes(status) &&
        item.sweepAt === position.sweepAt &&
        item.pendingShard === shard;
      if (!item || !status || !pendingHere) {
        passed += 1;
      } else {
        if (records.length >= limit) {
          caughtUp = false;
          break;
        }
        records.push(stuckRecord(ctx, entry, item, status, position.sweepAt));
      }
      positions.push(position);
    }
    walked.set(shard, positions);
  }
  return { records, passed, walked, cursorVersion: cursor.version, caughtUp };
}

function stuckRecord(
  ctx: LedgerContext,
  entry: Record<string, unknown>,
  item: Record<string, unknown>,
  status: MessageStatus,
  sweepAt: string,
): StuckRecord {
  const deadline =
    status === MessageStatus.SENDING && typeof item.leaseUntil === 'number'
      ? item.leaseUntil
      : status === MessageStatus.DEFERRED && typeof item.eligibleAt === 'string'
        ? Date.parse(item.eligibleAt)
        : undefined;
  const notBefore = deadline === undefined ? undefined : ctx.dueAfter(deadline);
  return {
    messageId: String(entry.messageId),
    tenantId: String(entry.tenantId),
    status,
    category: entry.category === 'bulk' ? 'bulk' : 'transactional',
    sweepAt,
    ...(typeof item.sesMessageId === 'string' ? { providerMessageId: item.sesMessageId } : {}),
    ...(notBefore && notBefore.toISOString() > sweepAt ? { notBefore } : {}),
  };
}

/** Moves the cursor of each shard in `to`, if no other run moved it since `scan` read it. */
export async function advanceSweep(
  ctx: LedgerContext,
  scan: StuckScan,
  to: ReadonlyMap<string, SweepPosition>,
): Promise<boolean> {
  const update = new UpdateBuilder()
    .set('version', scan.cursorVersion + 1)
    .set('updatedAt', ctx.clock.now().toISOString())
    .when((b) =>
      scan.cursorVersion === 0
        ? `attribute_not_exists(${b.name('version')})`
        : `${b.name('version')} = ${b.value(scan.cursorVersion)}`,
    );
  for (const [shard, position] of to)
    update.set(shard, { sweepAt: position.sweepAt, messageId: position.messageId });
  return (await ctx.update(SWEEP_CURSOR_KEY, update, 'advance sweep cursor')).ok;
}
