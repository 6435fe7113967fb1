import type { HeldMessage, StuckRecord } from '../../domain/message/message-ledger';
import { MessageStatus } from '../../domain/message/message-status';
import { assertTransition } from '../../domain/message/transitions';
import { heldShard, type LedgerContext, queryItems, readRecords, UpdateBuilder } from './ledger-context';

/** The sweeper acts only on the record it read: same status, same deadline. */
function unchanged(update: UpdateBuilder, record: StuckRecord): UpdateBuilder {
  return update.when(
    (b) =>
      `${b.name('status')} = ${b.value(record.status)} AND ${b.name('sweepAt')} = ${b.value(record.sweepAt)}`,
  );
}

export async function markRequeued(
  ctx: LedgerContext,
  record: StuckRecord,
  detail: string,
): Promise<boolean> {
  assertTransition(record.messageId, record.status, MessageStatus.QUEUED, 'sweeper');
  const now = ctx.clock.now();
  const update = new UpdateBuilder()
    .set('status', MessageStatus.QUEUED)
    .set('updatedAt', now.toISOString())
    .append('timeline', [{ status: MessageStatus.QUEUED, at: now.toISOString(), detail: `SWEPT: ${detail}` }])
    .remove('leaseToken', 'leaseUntil', 'eligibleAt')
    .add('sweeps', 1);
  ctx.pendingFields(update, record.messageId, MessageStatus.QUEUED, now);
  return (await ctx.update(record.messageId, unchanged(update, record), 'mark requeued')).ok;
}

export async function postpone(ctx: LedgerContext, record: StuckRecord, until: Date): Promise<boolean> {
  const update = new UpdateBuilder().set('sweepAt', until.toISOString());
  return (await ctx.update(record.messageId, unchanged(update, record), 'postpone sweep')).ok;
}

export async function completeAccepted(ctx: LedgerContext, record: StuckRecord): Promise<boolean> {
  assertTransition(record.messageId, record.status, MessageStatus.SENT, 'sweeper');
  const now = ctx.clock.now().toISOString();
  const update = new UpdateBuilder()
    .set('status', MessageStatus.SENT)
    .set('updatedAt', now)
    .append('timeline', [
      {
        status: MessageStatus.SENT,
        at: now,
        detail: `SWEPT: accepted as ${record.providerMessageId}, recorded by the sweeper`,
      },
    ])
    // The `byPending` entry stays (the cursor passes it once): removing it would cost an index write.
    .remove('leaseToken', 'leaseUntil')
    .when((b) => `attribute_exists(${b.name('acceptedAt')})`);
  return (await ctx.update(record.messageId, unchanged(update, record), 'complete accepted')).ok;
}

export async function markUnrecoverable(
  ctx: LedgerContext,
  record: StuckRecord,
  reason: string,
): Promise<boolean> {
  assertTransition(record.messageId, record.status, MessageStatus.DEAD_LETTERED, 'sweeper');
  const now = ctx.clock.now().toISOString();
  const update = new UpdateBuilder()
    .set('status', MessageStatus.DEAD_LETTERED)
    .set('updatedAt', now)
    .set('reason', reason)
    .set('reasonCode', 'STUCK')
    .append('timeline', [{ status: MessageStatus.DEAD_LETTERED, at: now, detail: `STUCK: ${reason}` }])
    // The entry stays: a DLQ redrive's claim gives the record a new place (`claim`).
    .remove('leaseToken', 'leaseUntil');
  return (await ctx.update(record.messageId, unchanged(update, record), 'mark unrecoverable')).ok;
}

/**
 * A tenant's PAUSED records with their kept requests: the `byPending` index's `HELD#<tenant>` partition names
 * them, and the table says which are still PAUSED (a claim may have moved one since).
 */
export async function* held(
  ctx: LedgerContext,
  tenantId: string,
  request: (messageId: string) => Promise<string | undefined>,
): AsyncGenerator<HeldMessage> {
  const entries: Record<string, unknown>[] = [];
  for await (const item of queryItems(
    ctx,
    {
      IndexName: ctx.indexes.pending,
      KeyConditionExpression: 'pendingShard = :held',
      ExpressionAttributeValues: { ':held': heldShard(tenantId) },
    },
    'query held messages',
  )) {
    if (typeof item.messageId === 'string') entries.push(item);
  }
  const records = await readRecords(
    ctx,
    entries.map((entry) => String(entry.messageId)),
    ['status'],
    { consistent: true, operation: 'read held messages' },
  );
  for (const entry of entries) {
    const messageId = String(entry.messageId);
    if (records.get(messageId)?.status !== MessageStatus.PAUSED) continue;
    const body = await request(messageId);
    yield {
      messageId,
      category: entry.category === 'bulk' ? 'bulk' : 'transactional',
      ...(body ? { request: body } : {}),
    };
  }
}

/** PAUSED → QUEUED; false when the sender (or another release) got there first. */
export async function markReleased(ctx: LedgerContext, messageId: string): Promise<boolean> {
  const now = ctx.clock.now();
  const update = new UpdateBuilder()
    .set('status', MessageStatus.QUEUED)
    .set('updatedAt', now.toISOString())
    .set('reason', 'released: the tenant was resumed')
    .set('reasonCode', 'TENANT_RESUMED')
    .append('timeline', [
      { status: MessageStatus.QUEUED, at: now.toISOString(), detail: 'TENANT_RESUMED: released on resume' },
    ])
    .when((b) => `${b.name('status')} = ${b.value(MessageStatus.PAUSED)}`);
  ctx.pendingFields(update, messageId, MessageStatus.QUEUED, now);
  return (await ctx.update(messageId, update, 'mark released')).ok;
}
