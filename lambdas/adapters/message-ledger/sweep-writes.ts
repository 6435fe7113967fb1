import type { HeldMessage, StuckRecord } from '../../domain/message/message-ledger';
import { MessageStatus } from '../../domain/message/message-status';
import { assertTransition } from '../../domain/message/transitions';
import { type LedgerContext, PENDING_SHARDS, queryItems, UpdateBuilder } from './ledger-context';

/** Pending records whose `sweepAt` has passed, oldest first per shard, at most `limit` in all. */
export async function stuck(ctx: LedgerContext, now: Date, limit: number): Promise<StuckRecord[]> {
  const out: StuckRecord[] = [];
  for (let shard = 0; shard < PENDING_SHARDS && out.length < limit; shard += 1) {
    const items = queryItems(
      ctx,
      {
        IndexName: ctx.indexes.pending,
        KeyConditionExpression: 'pendingShard = :shard AND sweepAt <= :now',
        ExpressionAttributeValues: { ':shard': `P${shard}`, ':now': now.toISOString() },
        Limit: limit,
      },
      'query stuck records',
      () => out.length >= limit,
    );
    for await (const item of items) {
      if (out.length >= limit) break;
      out.push({
        messageId: String(item.messageId),
        tenantId: String(item.tenantId),
        status: item.status as MessageStatus,
        category: item.category === 'bulk' ? 'bulk' : 'transactional',
        sweepAt: String(item.sweepAt),
        ...(typeof item.sesMessageId === 'string' ? { providerMessageId: item.sesMessageId } : {}),
      });
    }
  }
  return out;
}

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
    .set('enqueuedAt', now.toISOString())
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
    .set('sentAt', now)
    .append('timeline', [
      {
        status: MessageStatus.SENT,
        at: now,
        detail: `SWEPT: accepted as ${record.providerMessageId}, recorded by the sweeper`,
      },
    ])
    .remove('leaseToken', 'leaseUntil', 'sweepAt', 'pendingShard')
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
    .remove('leaseToken', 'leaseUntil', 'sweepAt', 'pendingShard');
  return (await ctx.update(record.messageId, unchanged(update, record), 'mark unrecoverable')).ok;
}

/** A tenant's PAUSED records (the `byTenant` index) with their kept requests. */
export async function* held(
  ctx: LedgerContext,
  tenantId: string,
  request: (messageId: string) => Promise<string | undefined>,
): AsyncGenerator<HeldMessage> {
  const items = queryItems(
    ctx,
    {
      IndexName: ctx.indexes.tenant,
      KeyConditionExpression: 'tenantId = :tenant',
      FilterExpression: '#status = :paused',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':tenant': tenantId, ':paused': MessageStatus.PAUSED },
    },
    'query held messages',
  );
  for await (const item of items) {
    if (typeof item.messageId !== 'string') continue;
    const body = await request(item.messageId);
    yield {
      messageId: item.messageId,
      category: item.category === 'bulk' ? 'bulk' : 'transactional',
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
