import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { TransientError } from '../../domain/errors';
import { type Correlation, type FeedbackEvent, feedbackEventKey } from '../../domain/feedback/feedback-event';
import { verifyFeedbackRecord } from '../../domain/feedback/feedback-trust';
import {
  applyFeedback as applyFeedbackRules,
  type MessageFeedbackState,
  recipientStates,
  type TimelineEntry,
} from '../../domain/feedback/message-timeline';
import { LedgerUnavailableError } from '../../domain/message/errors';
import type { TimelineOutcome } from '../../domain/message/message-ledger';
import { isAccepted, MessageStatus } from '../../domain/message/message-status';
import { assertTransition } from '../../domain/message/transitions';
import { type LedgerContext, UpdateBuilder } from './ledger-context';

/**
 * What records written before the feedback state lived on the timeline alone carry: a `feedback` map with the
 * applied events (with their keys; the recipients' statuses there follow from them). Still read; never written.
 */
interface OlderFeedback {
  readonly timeline?: TimelineEntry[];
}

/** A line of the record's timeline as stored (`timeline`), of which feedback reads the event lines. */
interface StoredTimelineLine {
  readonly status?: MessageStatus;
  readonly event?: TimelineEntry['eventType'];
  readonly recipient?: string;
  readonly at: string;
  readonly detail?: string;
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
  // Our sends always carry the `message-id` tag, and SES puts every message tag in every event it publishes:
  // an event without it is not about an email of ours. (An index by SES message id to look such events up
  // would cost a write per email.)
  if (correlation.via === 'ses-message-id') return { result: 'not-found' };
  const { messageId } = correlation;
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
    const older = item.feedback as OlderFeedback | undefined;
    const applied = appliedEvents(correlation.sesMessageId, item.timeline, older?.timeline);
    const accepted = isAccepted(status) || applied.length > 0;
    if (!accepted && typeof item.acceptedAt !== 'string' && PROVIDER_NEVER_HAD.includes(status)) {
      return { result: 'ignored', messageId, tenantId, status };
    }
    const current: MessageFeedbackState = {
      status,
      accepted,
      recipients: recipientStates(applied),
      timeline: applied,
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

/** Statuses of a record whose email the provider never had (the sender rejected or suppressed it). */
const PROVIDER_NEVER_HAD: readonly MessageStatus[] = [MessageStatus.REJECTED, MessageStatus.SUPPRESSED];

/**
 * The events already applied to a record, with the keys `toFeedbackEvent` gives them: from its timeline's event
 * lines (all of one SES message, so its id completes the key), and from a record of the older shape.
 */
function appliedEvents(
  sesMessageId: string,
  timeline: unknown,
  older: readonly TimelineEntry[] = [],
): TimelineEntry[] {
  const lines = Array.isArray(timeline) ? (timeline as StoredTimelineLine[]) : [];
  const fromLines = lines.flatMap((line): TimelineEntry[] =>
    line.event && line.recipient
      ? [
          {
            eventKey: feedbackEventKey(sesMessageId, line.event, line.at, line.recipient),
            eventType: line.event,
            recipient: line.recipient,
            at: line.at,
            ...(line.status ? { status: line.status as TimelineEntry['status'] } : {}),
          },
        ]
      : [],
  );
  return [...older, ...fromLines];
}

async function read(ctx: LedgerContext, messageId: string): Promise<Record<string, unknown> | undefined> {
  try {
    const { Item } = await ctx.client.send(
      new GetCommand({
        TableName: ctx.tableName,
        Key: { messageId },
        ConsistentRead: true,
        ProjectionExpression:
          'messageId, tenantId, recipients, #status, feedback, feedbackVersion, acceptedAt, timeline',
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
  const entries = added.map((entry) => ({
    ...(entry.status ? { status: entry.status } : {}),
    event: entry.eventType,
    recipient: entry.recipient,
    at: entry.at,
    ...(entry.detail ? { detail: entry.detail } : {}),
  }));
  const update = new UpdateBuilder()
    // The recipients' statuses are not stored apart: they are rebuilt from the timeline's event lines.
    .set('status', state.status)
    .set('feedbackVersion', (readVersion ?? 0) + 1)
    .set('updatedAt', now)
    .setIfAbsent('acceptedAt', now)
    // A pending record this completes keeps its `byPending` entry: the sweeper's cursor passes it once.
    .append('timeline', entries)
    .when((b) => `${b.name('status')} = ${b.value(readStatus)}`)
    .when((b) =>
      readVersion === undefined
        ? `attribute_not_exists(${b.name('feedbackVersion')})`
        : `${b.name('feedbackVersion')} = ${b.value(readVersion)}`,
    );
  const result = await ctx.update(messageId, update, 'apply feedback');
  return result.ok;
}
