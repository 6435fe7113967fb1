import type { HistoryPage, HistoryRow } from '../lambdas/adapters/message-ledger/history-reads';
import {
  ALL_STATUSES,
  DEFAULT_SWEEP_ENTRIES,
  isFinal,
  type MessageRecord,
  MessageStatus,
  type StuckRecord,
} from '../lambdas/domain/message';
import { enqueueEmail } from '../lambdas/domain/sending/enqueue-email';
import { describeIssues, type SendRequest, sendRequestSchema } from '../lambdas/domain/sending/send-request';
import type { AdminContext } from './admin-context';
import { AdminInputError, AdminNotFoundError } from './admin-errors';
import { FAILED_STATUSES, MAX_HISTORY_DAYS, MAX_HISTORY_PAGE } from './history-rules';
import type { SuppressionsApi } from './suppressions';

export type { HistoryPage, HistoryRow };
export { FAILED_STATUSES, MAX_HISTORY_DAYS, MAX_HISTORY_PAGE };

export interface HistoryFilter {
  readonly tenantId: string;
  readonly env?: string;
  readonly status?: string;
  /** Only failed emails (FAILED_STATUSES); not with `status`. */
  readonly failed?: boolean;
  readonly recipient?: string;
  readonly eventType?: string;
  /** The business object: an invoice id (a fan-out item key) or the event id. */
  readonly objectId?: string;
  /** ISO date or time. @default `until` − 3 days */
  readonly since?: string;
  /** ISO date or time (a date means its end). @default now */
  readonly until?: string;
  /** Search the whole retention period, not 3 days. */
  readonly all?: boolean;
  /** @default 40, at most 40 */
  readonly limit?: number;
  readonly pageToken?: string;
}

export interface MessageDetail {
  readonly record: MessageRecord;
  /** The message id this email is a resend of (from its idempotency key). */
  readonly resendOf?: string;
  /** The feedback entry (SES event) behind the final status, when feedback decided it. */
  readonly cause?: MessageRecord['timeline'][number];
  /** The provider's event behind a bounce, complaint or reject, whole as it was published. */
  readonly event?: Record<string, unknown>;
}

export interface ResendResult {
  readonly originalMessageId: string;
  readonly messageId: string;
  readonly idempotencyKey: string;
  /** Suppression entries lifted by `force`. */
  readonly liftedSuppressions: readonly string[];
}

/** Final statuses that feedback (an SES event) decides. */
const FEEDBACK_STATUSES = [MessageStatus.BOUNCED, MessageStatus.COMPLAINED, MessageStatus.SUPPRESSED];

/** Resend keys: `resend:<original message id>:<time>`. */
const RESEND_KEY = /^resend:([0-9a-f]{32}):/;
const DAY_MS = 86_400_000;

function time(value: string, name: string, endOfDay: boolean): Date {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value)
    ? new Date(`${value}T${endOfDay ? '23:59:59.999' : '00:00:00.000'}Z`)
    : new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new AdminInputError(`${name} "${value}" is not an ISO date or time`, 'INVALID_TIME');
  return date;
}

/** Email history, one email in full, resend, and the records past their deadline. */
export class MessagesApi {
  constructor(
    private readonly ctx: AdminContext,
    private readonly suppressions: SuppressionsApi,
  ) {}

  /**
   * A tenant's emails newest first, ≤ 40 a page, within 3 days (`since`..`until`) unless `all`; reads the
   * `byTenant` index, then the status of the page's rows.
   */
  async list(filter: HistoryFilter): Promise<HistoryPage> {
    const until = filter.until === undefined ? this.ctx.now() : time(filter.until, 'until', true);
    const since = filter.since === undefined ? undefined : time(filter.since, 'since', false);
    if (since && since > until) throw new AdminInputError('since is after until', 'INVALID_TIME');
    if (!filter.all && since && until.getTime() - since.getTime() > MAX_HISTORY_DAYS * DAY_MS)
      throw new AdminInputError(
        `a query covers at most ${MAX_HISTORY_DAYS} days (${since.toISOString()} to ${until.toISOString()} is longer): narrow --since/--until, or pass --all`,
        'RANGE_TOO_LONG',
      );
    const from = filter.all ? since : (since ?? new Date(until.getTime() - MAX_HISTORY_DAYS * DAY_MS));
    const limit = filter.limit ?? MAX_HISTORY_PAGE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_PAGE)
      throw new AdminInputError(
        `limit must be a whole number from 1 to ${MAX_HISTORY_PAGE}`,
        'INVALID_LIMIT',
      );
    if (filter.failed && filter.status !== undefined)
      throw new AdminInputError('give a status or failed, not both', 'INVALID_FILTER');
    if (filter.status !== undefined && !(ALL_STATUSES as readonly string[]).includes(filter.status))
      throw new AdminInputError(`status must be one of ${ALL_STATUSES.join(', ')}`, 'INVALID_STATUS');
    const statuses = filter.failed
      ? FAILED_STATUSES
      : filter.status === undefined
        ? undefined
        : [filter.status as MessageStatus];
    return this.ctx.ledger().history({
      tenantId: filter.tenantId,
      until: until.toISOString(),
      ...(from ? { since: from.toISOString() } : {}),
      ...(filter.env === undefined ? {} : { environment: this.ctx.environment(filter.env) }),
      ...(statuses ? { statuses } : {}),
      ...(filter.recipient === undefined ? {} : { recipient: filter.recipient.trim().toLowerCase() }),
      ...(filter.eventType === undefined ? {} : { eventType: filter.eventType }),
      ...(filter.objectId === undefined ? {} : { objectId: filter.objectId }),
      ...(filter.pageToken === undefined ? {} : { pageToken: filter.pageToken }),
      limit,
    });
  }

  /** One email in full: every field, the timeline, the reason, and the feedback event behind its status. */
  async show(messageId: string): Promise<MessageDetail> {
    const ledger = this.ctx.ledger();
    const record = await ledger.get(messageId);
    if (!record || record.createdAt === undefined)
      throw new AdminNotFoundError('message', `no message ${messageId} in the ${this.ctx.scope} scope`);
    const [request, event] = await Promise.all([ledger.request(messageId), ledger.feedbackEvent(messageId)]);
    const key = request ? keyOf(request) : undefined;
    const resendOf = key ? RESEND_KEY.exec(key)?.[1] : undefined;
    const cause = [...record.timeline].reverse().find((line) => line.event !== undefined);
    return {
      record,
      ...(resendOf ? { resendOf } : {}),
      ...(cause && (FEEDBACK_STATUSES as readonly string[]).includes(record.status) ? { cause } : {}),
      ...(event ? { event: JSON.parse(event) as Record<string, unknown> } : {}),
    };
  }

  /**
   * Sends a fresh copy of a final email under a new key `resend:<original id>:<time>` (so it is a new email with
   * its own record, and its kept request names the original), through the send lanes. Refused while any
   * recipient is on the tenant's suppression list, unless `force` with a reason: that lifts those entries.
   */
  async resend(
    messageId: string,
    options: { readonly force?: boolean; readonly reason?: string } = {},
  ): Promise<ResendResult> {
    if (options.force && !options.reason?.trim())
      throw new AdminInputError('force needs a reason (--reason)', 'REASON_REQUIRED');
    const ledger = this.ctx.ledger();
    const record = await ledger.get(messageId);
    if (!record || record.createdAt === undefined)
      throw new AdminNotFoundError('message', `no message ${messageId} in the ${this.ctx.scope} scope`);
    if (!isFinal(record.status))
      throw new AdminInputError(
        `message ${messageId} is ${record.status}, still on its way: resend only a final email`,
        'NOT_FINAL',
      );
    const body = await ledger.request(messageId);
    if (!body)
      throw new AdminInputError(
        `message ${messageId} has no kept request to send again (it was refused before it was queued)`,
        'NO_REQUEST',
      );
    let request: SendRequest;
    try {
      request = sendRequestSchema.parse(JSON.parse(body));
    } catch (error) {
      throw new AdminInputError(
        `the kept request of ${messageId} is not a valid email: ${error instanceof Error && 'issues' in error ? describeIssues(error as never) : String(error)}`,
        'NO_REQUEST',
      );
    }
    const recipients = [...request.to, ...request.cc, ...request.bcc];
    const suppressed = [...(await this.suppressions.find(request.tenantId, recipients)).keys()];
    if (suppressed.length > 0 && !options.force)
      throw new AdminInputError(
        `${suppressed.join(', ')} ${suppressed.length === 1 ? 'is' : 'are'} on the suppression list of ${request.tenantId}: remove ${suppressed.length === 1 ? 'it' : 'them'} (suppression remove), or resend with --force --reason`,
        'RECIPIENT_SUPPRESSED',
      );
    for (const address of suppressed) await this.suppressions.remove(request.tenantId, address);
    const key = `resend:${messageId}:${this.ctx.now().toISOString()}`;
    // The copy goes the way every email does: a QUEUED record with its kept request (so it can be swept, and
    // resent in turn), then the lane message. It stays under the original's event, definition and object.
    const { eventId, eventType, definitionId, itemKey } = record;
    const enqueued = await enqueueEmail(
      { ...request, category: record.category ?? request.category },
      key,
      { ledger, lanes: await this.ctx.lanes() },
      { jobId: key, eventId, eventType, definitionId, itemKey },
    );
    return {
      originalMessageId: messageId,
      messageId: enqueued.messageId,
      idempotencyKey: key,
      liftedSuppressions: suppressed,
    };
  }

  /**
   * Emails left QUEUED, SENDING or DEFERRED past their deadline (what the sweeper will finish), among the
   * `byPending` entries past the sweeper's cursor (as many as one sweep reads); the cursor does not move.
   */
  async stuck(limit = 100): Promise<readonly StuckRecord[]> {
    if (!Number.isInteger(limit) || limit < 1)
      throw new AdminInputError('limit must be a whole number ≥ 1', 'INVALID_LIMIT');
    return (await this.ctx.ledger().stuck(this.ctx.now(), limit, DEFAULT_SWEEP_ENTRIES)).records;
  }
}

function keyOf(body: string): string | undefined {
  try {
    const key = (JSON.parse(body) as { idempotencyKey?: unknown }).idempotencyKey;
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}
