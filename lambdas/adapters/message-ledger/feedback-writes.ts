import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { TransientError } from '../../domain/errors';
import type { Correlation, FeedbackEvent } from '../../domain/feedback/feedback-event';
import { verifyFeedbackRecord } from '../../domain/feedback/feedback-trust';
import {
  applyFeedback as applyFeedbackRules,
  type MessageFeedbackState,
  type RecipientState,
  type TimelineEntry,
} from '../../domain/feedback/message-timeline';
import { LedgerUnavailableError } from '../../domain/message/errors';
import type { TimelineOutcome } from '../../domain/message/message-ledger';
import { isAccepted, MessageStatus } from '../../domain/message/message-status';
import { assertTransition } from '../../domain/message/transitions';
import { type LedgerContext, UpdateBuilder } from './ledger-context';

/** The feedback part of a message item, as stored. */
interface StoredFeedback {
  readonly recipients: Record<string, RecipientState>;
  readonly timeline: TimelineEntry[];
}

/** Read-apply-write rounds when concurrent writers for the same message win the race. */
const MAX_ROUNDS = 8;

/**
 * Applies one SES event to its record, whatever the record's status, so no event ever waits for the sender:
 * - sent (or already refined) records move by the pure `applyFeedback` rules (most severe outcome wins);
 * - a record the sender has not recorded as sent yet (SENDING, or QUEUED/DEFERRED/DEAD_LETTERED after a crash)
 *   is completed: the event proves the provider accepted it, so its status becomes the aggregate of SENT and the
 *   event, and the sender, if it is still running, adds its details without touching the status;
 * - a record the provider never had (REJECTED or SUPPRESSED by the sender) is left alone (`ignored`).
 * An event whose `tenant-id` tag is not the record's tenant, or that reports on an address the email was not
 * sent to, is refused (`UntrustedFeedbackError`) before anything is written.
 * Each write is conditional on the status and feedback version read; a lost race reads again. The final state
 * is the same whichever of sender and feedback comes first, and a redelivered event writes nothing.
 */
export async function applyFeedback(
  ctx: LedgerContext,
  correlation: Correlation,
  event: FeedbackEvent,
): Promise<TimelineOutcome> {
  const messageId =
    correlation.via === 'ses-message-id'
      ? await findBySesMessageId(ctx, correlation.sesMessageId)
      : correlation.messageId;
  if (!messageId) return { result: 'not-found' };
  for (let round = 1; round <= MAX_ROUNDS; round += 1) {
    const item = await read(ctx, messageId);
    if (!item) return { result: 'not-found' };
    const status = item.status as MessageStatus;
    const tenantId = String(item.tenantId);
    verifyFeedbackRecord(
      { tenantId, recipients: Array.isArray(item.recipients) ? (item.recipients as string[]) : [] },
      correlation,
      event,
    );
    const accepted = isAccepted(status) || typeof item.acceptedAt === 'string' || item.feedback !== undefined;
    if (!accepted && (status === MessageStatus.REJECTED || status === MessageStatus.SUPPRESSED)) {
      return { result: 'ignored', messageId, tenantId, status };
    }
    const stored = item.feedback as StoredFeedback | undefined;
    // Before the sender recorded it, the event itself says the provider accepted the email.
    const base = isAccepted(status) || stored ? status : MessageStatus.SENT;
    const current: MessageFeedbackState = {
      status: base,
      recipients: stored?.recipients ?? {},
      timeline: stored?.timeline ?? [],
    };
    const application = applyFeedbackRules(current, event);
    if (!application.changed) return { result: 'duplicate', messageId, tenantId, status };
    const next = application.state.status;
    if (next !== status) assertTransition(messageId, status, next, 'feedback');
    const version = typeof item.feedbackVersion === 'number' ? item.feedbackVersion : undefined;
    if (await write(ctx, messageId, status, version, application.state, application.added)) {
      return { result: 'applied', messageId, tenantId, status: next };
    }
  }
  throw new TransientError(
    'FEEDBACK_WRITE_CONFLICT',
    `message ${messageId}: feedback lost the write race ${MAX_ROUNDS} times; retrying the record`,
  );
}

async function findBySesMessageId(ctx: LedgerContext, sesMessageId: string): Promise<string | undefined> {
  try {
    const { Items = [] } = await ctx.client.send(
      new QueryCommand({
        TableName: ctx.tableName,
        IndexName: ctx.indexes.sesMessageId,
        KeyConditionExpression: 'sesMessageId = :id',
        ExpressionAttributeValues: { ':id': sesMessageId },
        ProjectionExpression: 'messageId',
        Limit: 1,
      }),
    );
    const id = Items[0]?.messageId;
    return typeof id === 'string' ? id : undefined;
  } catch (error) {
    throw new LedgerUnavailableError('query by SES message id', error);
  }
}

async function read(ctx: LedgerContext, messageId: string): Promise<Record<string, unknown> | undefined> {
  try {
    const { Item } = await ctx.client.send(
      new GetCommand({
        TableName: ctx.tableName,
        Key: { messageId },
        ConsistentRead: true,
        ProjectionExpression:
          'messageId, tenantId, recipients, #status, feedback, feedbackVersion, acceptedAt',
        ExpressionAttributeNames: { '#status': 'status' },
      }),
    );
    return Item;
  } catch (error) {
    throw new LedgerUnavailableError('read', error);
  }
}

/** One conditional write; false when another writer changed the item since it was read. */
async function write(
  ctx: LedgerContext,
  messageId: string,
  readStatus: MessageStatus,
  readVersion: number | undefined,
  state: MessageFeedbackState,
  added: readonly TimelineEntry[],
): Promise<boolean> {
  const now = ctx.clock.now().toISOString();
  const feedback: StoredFeedback = { recipients: { ...state.recipients }, timeline: [...state.timeline] };
  const entries = added.map((entry) => ({
    ...(entry.status ? { status: entry.status } : {}),
    event: entry.eventType,
    recipient: entry.recipient,
    at: entry.at,
    ...(entry.detail ? { detail: entry.detail } : {}),
  }));
  const update = new UpdateBuilder()
    .set('status', state.status)
    .set('feedback', feedback)
    .set('feedbackVersion', (readVersion ?? 0) + 1)
    .set('updatedAt', now)
    .setIfAbsent('acceptedAt', now)
    .append('timeline', entries)
    .remove('sweepAt', 'pendingShard')
    .when((b) => `${b.name('status')} = ${b.value(readStatus)}`)
    .when((b) =>
      readVersion === undefined
        ? `attribute_not_exists(${b.name('feedbackVersion')})`
        : `${b.name('feedbackVersion')} = ${b.value(readVersion)}`,
    );
  const result = await ctx.update(messageId, update, 'apply feedback');
  return result.ok;
}
