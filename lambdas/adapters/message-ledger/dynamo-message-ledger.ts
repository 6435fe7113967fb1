import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Correlation, FeedbackEvent } from '../../domain/feedback/feedback-event';
import { LeaseLostError, LedgerUnavailableError } from '../../domain/message/errors';
import type {
  ClaimInput,
  ClaimResult,
  HeldMessage,
  JobRecord,
  JobRecordResult,
  Lease,
  MessageLedger,
  OutcomeDetail,
  SentDetail,
  StuckRecord,
  StuckScan,
  SweepPosition,
  TimelineOutcome,
} from '../../domain/message/message-ledger';
import type { MessageRecord } from '../../domain/message/message-record';
import { MessageStatus, PENDING_STATUSES } from '../../domain/message/message-status';
import { assertTransition, fromStatuses } from '../../domain/message/transitions';
import { Coalescer } from '../../shared/coalescer';
import { createJobRecords, keepRequests } from './dispatch-writes';
import { applyFeedback } from './feedback-writes';
import { type HistoryPage, type HistoryQuery, queryHistory } from './history-reads';
import {
  type DynamoMessageLedgerOptions,
  feedbackEventKey,
  LedgerContext,
  pendingShard,
  publishedKey,
  requestKey,
  UpdateBuilder,
} from './ledger-context';
import { advanceSweep, stuck } from './sweep-walk';
import {
  completeAccepted,
  held,
  markReleased,
  markRequeued,
  markUnrecoverable,
  postpone,
} from './sweep-writes';

export type { DynamoMessageLedgerOptions } from './ledger-context';

/** An item beside a record: its id (`<messageId>#request`), the body, and when it expires with the record. */
interface KeptItem {
  readonly messageId: string;
  readonly body: string;
  readonly expiresAt: number;
}

/**
 * The messages table behind the `MessageLedger` port: the only code that writes message records. Every status
 * change is a conditional UpdateItem whose allowed previous statuses come from `TRANSITIONS`; the sender's
 * writes are also conditional on its lease token, so an attempt that lost its lease can never overwrite
 * another's outcome. A failed condition returns the old item in the same call (no extra read).
 */
export class DynamoMessageLedger implements MessageLedger {
  private readonly ctx: LedgerContext;
  /**
   * The kept requests of one SQS batch, written together (see `keepRequest`). Serial: while a write runs, the
   * bodies that arrive gather into the next, so a slow table batches more instead of taking more requests.
   */
  private readonly keeps: Coalescer<KeptItem, true>;

  constructor(client: DynamoDBDocumentClient, options: DynamoMessageLedgerOptions) {
    this.ctx = new LedgerContext(client, options);
    this.keeps = new Coalescer(
      async (_, items) => {
        // One item per key in a BatchWriteItem (DynamoDB refuses duplicates): the later copy wins, as a later put would.
        await keepRequests(this.ctx, [...new Map(items.map((item) => [item.messageId, item])).values()]);
        return items.map(() => true as const);
      },
      options.keepCoalesceMs ?? 5,
      { serial: true },
    );
  }

  async claim(input: ClaimInput): Promise<ClaimResult> {
    const now = this.ctx.clock.now();
    const lease: Lease = { token: randomUUID(), until: now.getTime() + this.ctx.leaseMs };
    const claimable: readonly MessageStatus[] = fromStatuses(MessageStatus.SENDING, 'sender').filter(
      (s) => s !== MessageStatus.SENDING,
    );
    const pending = claimable.filter((s) => PENDING_STATUSES.includes(s));
    const first = this.claimUpdate(input, now, lease, 'keep').when(
      (b) =>
        `attribute_not_exists(${b.name('messageId')}) OR ${b.in('status', pending)} OR ` +
        `(${b.name('status')} = ${b.value(MessageStatus.SENDING)} AND ${b.name('leaseUntil')} < ${b.value(now.getTime())})`,
    );
    let result = await this.ctx.update(input.messageId, first, 'claim', 'ALL_OLD');
    const left = result.ok ? undefined : (result.old?.status as MessageStatus | undefined);
    if (left && claimable.includes(left) && !pending.includes(left)) {
      // PAUSED or DEAD_LETTERED (a redrive): the record's `byPending` entry is an old place (the HELD partition,
      // or one the sweeper's cursor may have passed), so this claim gives it a new one. Rare: one more write.
      const again = this.claimUpdate(input, now, lease, 'renew').when(
        (b) => `${b.name('status')} = ${b.value(left)}`,
      );
      result = await this.ctx.update(input.messageId, again, 'claim', 'ALL_OLD');
    }
    if (!result.ok) {
      return {
        claimed: false,
        status: (result.old?.status as MessageStatus | undefined) ?? MessageStatus.SENDING,
      };
    }
    const old = result.item;
    return {
      claimed: true,
      attempt: Number(old?.attempts ?? 0) + 1,
      lease,
      previous: (old?.status as MessageStatus | undefined) ?? null,
      requestKept: old?.requestKept === true,
    };
  }

  /**
   * The claim's write, without its condition. `keep`: the sweeper's deadline stays where it is (the record's
   * lease tells the sweeper a claim is alive; moving the index's sort key would cost two index writes per
   * email), and a record new to the index (created by this claim) gets one. `renew`: a new deadline, for a
   * record coming back from a status outside the pending ones.
   */
  private claimUpdate(input: ClaimInput, now: Date, lease: Lease, deadline: 'keep' | 'renew'): UpdateBuilder {
    const update = new UpdateBuilder()
      .set('status', MessageStatus.SENDING)
      .set('leaseToken', lease.token)
      .set('leaseUntil', lease.until)
      .set('updatedAt', now.toISOString())
      .set('tenantId', input.tenantId)
      .set('environment', input.environment)
      .set('category', input.category)
      .set('recipients', input.recipients)
      .set('subject', input.subject)
      .set('eventId', input.eventId)
      .set('definitionId', input.definitionId)
      .setIfAbsent('createdAt', now.toISOString())
      .setIfAbsent('expiresAt', this.ctx.expiresAt(now))
      .append('timeline', [{ status: MessageStatus.SENDING, at: now.toISOString() }])
      .remove('eligibleAt')
      .add('attempts', 1)
      .set('pendingShard', pendingShard(input.messageId));
    const sweepAt = this.ctx.dueAfter(lease.until).toISOString();
    return deadline === 'keep' ? update.setIfAbsent('sweepAt', sweepAt) : update.set('sweepAt', sweepAt);
  }

  async settle(messageId: string, lease: Lease, status: MessageStatus, detail: OutcomeDetail): Promise<void> {
    assertTransition(messageId, MessageStatus.SENDING, status, 'sender');
    const now = this.ctx.clock.now();
    const update = new UpdateBuilder()
      .set('status', status)
      .set('updatedAt', now.toISOString())
      .set('reason', detail.reason)
      .set('reasonCode', detail.code)
      .set('eligibleAt', detail.eligibleAt)
      .set('requestKept', detail.requestKept ? true : undefined)
      .append('timeline', [{ status, at: now.toISOString(), detail: `${detail.code}: ${detail.reason}` }])
      .remove('leaseToken', 'leaseUntil');
    this.ctx.pendingFields(
      update,
      messageId,
      status,
      detail.eligibleAt ? new Date(detail.eligibleAt) : now,
      detail.tenantId,
    );
    this.heldBy(update, lease);
    const result = await this.ctx.update(messageId, update, `settle ${status}`);
    if (!result.ok) throw new LeaseLostError(messageId, result.old?.status as string | undefined);
  }

  async recordSent(messageId: string, lease: Lease, detail: SentDetail): Promise<'recorded' | 'merged'> {
    const now = this.ctx.clock.now().toISOString();
    const sent = (update: UpdateBuilder) =>
      update
        .set('updatedAt', now)
        .setIfAbsent('acceptedAt', now)
        .set('method', detail.method)
        .set('fromAddress', detail.from)
        .set('sesMessageId', detail.providerMessageId)
        .set('dkim', detail.dkim)
        .set(
          'suppressedRecipients',
          detail.suppressedRecipients?.length ? detail.suppressedRecipients : undefined,
        )
        .set('rejectedRecipients', detail.rejectedRecipients?.length ? detail.rejectedRecipients : undefined)
        // The record keeps its `byPending` entry (the sweeper's cursor passes it once): removing the index's
        // keys would cost an index write per email.
        .remove('leaseToken', 'leaseUntil');
    const first = sent(new UpdateBuilder())
      .set('status', MessageStatus.SENT)
      .remove('reason', 'reasonCode')
      // Method and provider id are the record's own fields: the line repeats neither (each byte is billed
      // again by every later write of the record).
      .append('timeline', [{ status: MessageStatus.SENT, at: now }]);
    this.heldBy(first, lease);
    const recorded = await this.ctx.update(messageId, first, 'record SENT');
    if (recorded.ok) return 'recorded';
    // Feedback may have completed the record first (it proves the provider accepted): add our details only.
    const status = recorded.old?.status as MessageStatus | undefined;
    if (recorded.old?.leaseToken !== lease.token || !status) throw new LeaseLostError(messageId, status);
    assertTransition(messageId, status, status, 'sender');
    const merge = sent(new UpdateBuilder())
      .append('timeline', [
        { at: now, detail: `sender recorded ${detail.method} ${detail.providerMessageId}` },
      ])
      .when((b) => `${b.name('leaseToken')} = ${b.value(lease.token)}`);
    const merged = await this.ctx.update(messageId, merge, 'merge SENT');
    if (!merged.ok) throw new LeaseLostError(messageId, merged.old?.status as string | undefined);
    return 'merged';
  }

  async recordAccepted(messageId: string, lease: Lease, providerMessageId: string): Promise<void> {
    const now = this.ctx.clock.now().toISOString();
    const update = new UpdateBuilder()
      .set('sesMessageId', providerMessageId)
      .setIfAbsent('acceptedAt', now)
      // Due at once: the sweeper completes it to SENT on its next run.
      .set('sweepAt', now)
      .append('timeline', [
        { at: now, detail: `accepted by the provider as ${providerMessageId}; SENT not recorded yet` },
      ]);
    this.heldBy(update, lease);
    await this.ctx.update(messageId, update, 'record accepted');
  }

  async recordInvalid(
    messageId: string,
    detail: OutcomeDetail & { readonly tenantId?: string; readonly body: string },
  ): Promise<void> {
    const now = this.ctx.clock.now();
    try {
      await this.ctx.client.send(
        new PutCommand({
          TableName: this.ctx.tableName,
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
            expiresAt: this.ctx.expiresAt(now),
            timeline: [
              {
                status: MessageStatus.REJECTED,
                at: now.toISOString(),
                detail: `${detail.code}: ${detail.reason}`,
              },
            ],
          },
          ConditionExpression: 'attribute_not_exists(messageId) OR #status = :rejected',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':rejected': MessageStatus.REJECTED },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw new LedgerUnavailableError('record invalid', error);
    }
  }

  /**
   * Keeps a send-lane body beside its record. The sender keeps one for every body that reached its lane without a
   * record (the records of one SQS batch, concurrently): calls within `keepCoalesceMs` share one BatchWriteItem,
   * and each resolves once its own item is written, so the body is kept before its email's provider call.
   */
  async keepRequest(messageId: string, body: string): Promise<void> {
    await this.keeps.add('requests', {
      messageId: requestKey(messageId),
      body,
      expiresAt: this.ctx.expiresAt(this.ctx.clock.now()),
    });
  }

  keepFeedbackEvent(messageId: string, raw: string): Promise<void> {
    return this.keepBeside(feedbackEventKey(messageId), raw, 'keep feedback event');
  }

  async feedbackEvent(messageId: string): Promise<string | undefined> {
    const item = await this.read(feedbackEventKey(messageId));
    return typeof item?.body === 'string' ? item.body : undefined;
  }

  /** An item beside a record (its kept request or event): a body that expires with the record. */
  private async keepBeside(id: string, body: string, operation: string): Promise<void> {
    const now = this.ctx.clock.now();
    try {
      await this.ctx.client.send(
        new PutCommand({
          TableName: this.ctx.tableName,
          Item: { messageId: id, body, expiresAt: this.ctx.expiresAt(now) },
        }),
      );
    } catch (error) {
      throw new LedgerUnavailableError(operation, error);
    }
  }

  createJobRecords(records: readonly JobRecord[]): Promise<JobRecordResult[]> {
    return createJobRecords(this.ctx, records);
  }

  async wasPublished(batchKey: string): Promise<boolean> {
    return (await this.read(publishedKey(batchKey))) !== undefined;
  }

  async markPublished(batchKey: string): Promise<void> {
    const now = this.ctx.clock.now();
    try {
      await this.ctx.client.send(
        new PutCommand({
          TableName: this.ctx.tableName,
          Item: { messageId: publishedKey(batchKey), expiresAt: this.ctx.expiresAt(now) },
        }),
      );
    } catch (error) {
      throw new LedgerUnavailableError('mark published', error);
    }
  }

  applyFeedback(correlation: Correlation, event: FeedbackEvent): Promise<TimelineOutcome> {
    return applyFeedback(this.ctx, correlation, event);
  }

  held(tenantId: string): AsyncIterable<HeldMessage> {
    return held(this.ctx, tenantId, (id) => this.request(id));
  }

  markReleased(messageId: string): Promise<boolean> {
    return markReleased(this.ctx, messageId);
  }

  stuck(now: Date, limit: number, entries: number): Promise<StuckScan> {
    return stuck(this.ctx, now, limit, entries);
  }

  advanceSweep(scan: StuckScan, to: ReadonlyMap<string, SweepPosition>): Promise<boolean> {
    return advanceSweep(this.ctx, scan, to);
  }

  markRequeued(record: StuckRecord, detail: string): Promise<boolean> {
    return markRequeued(this.ctx, record, detail);
  }

  postpone(record: StuckRecord, until: Date): Promise<boolean> {
    return postpone(this.ctx, record, until);
  }

  completeAccepted(record: StuckRecord): Promise<boolean> {
    return completeAccepted(this.ctx, record);
  }

  markUnrecoverable(record: StuckRecord, reason: string): Promise<boolean> {
    return markUnrecoverable(this.ctx, record, reason);
  }

  async get(messageId: string): Promise<MessageRecord | undefined> {
    const item = await this.read(messageId);
    return item as MessageRecord | undefined;
  }

  /** A tenant's emails newest first, filtered and paged: the `byTenant` index, then the rows' status. */
  history(query: HistoryQuery): Promise<HistoryPage> {
    return queryHistory(this.ctx, query);
  }

  async request(messageId: string): Promise<string | undefined> {
    const item = await this.read(requestKey(messageId));
    return typeof item?.body === 'string' ? item.body : undefined;
  }

  private async read(messageId: string): Promise<Record<string, unknown> | undefined> {
    try {
      const { Item } = await this.ctx.client.send(
        new GetCommand({ TableName: this.ctx.tableName, Key: { messageId }, ConsistentRead: true }),
      );
      return Item;
    } catch (error) {
      throw new LedgerUnavailableError('read', error);
    }
  }

  /** The sender's writes: only while the record is SENDING under this attempt's lease. */
  private heldBy(update: UpdateBuilder, lease: Lease): void {
    update.when(
      (b) =>
        `${b.name('status')} = ${b.value(MessageStatus.SENDING)} AND ${b.name('leaseToken')} = ${b.value(lease.token)}`,
    );
  }
}
