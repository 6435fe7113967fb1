import { DomainError, PermanentError } from '../errors';
import { MessageStatus } from '../message';
import type { JobRecord, MessageLedger } from '../message/message-ledger';
import type { LaneMessage, SendLanes } from '../message/send-lanes';
import type { Environment } from '../scope';
import { enqueueEmail, SendQueuePublishError } from '../sending/enqueue-email';
import { EnvironmentNotServedError } from '../sending/send-email';
import { laneMessage, messageIdFor, publishedBatchKey, sendRequestSchema } from '../sending/send-request';
import { type ComposedEmail, composedToSendRequest } from './composed-email-schema';
import {
  type AcceptedEmailJob,
  type EmailJob,
  expandJobs,
  fanOutSize,
  matchDefinitions,
  renderContextFor,
} from './definition-matching';
import type { NotificationDefinitionSource } from './definition-ports';
import type { Definition } from './definition-schema';
import type { NotificationEvent } from './event-schema';
import { parseInboundMessage } from './inbound-message';
import { TemplateRenderError } from './notification-errors';
import type { TemplateRenderer } from './template-renderer';
import type { Template } from './template-schema';

/**
 * CloudEvents extension attribute the dispatcher adds to a continuation: `<definitionId>:<offset>`, the first
 * fan-out element still to dispatch. Definitions are processed in id order, so the cursor survives a definition
 * being added or removed between two chunks (job ids are deterministic; an element dispatched twice is deduped).
 */
export const DISPATCH_CURSOR_ATTRIBUTE = 'dispatchcursor';

/** One events-queue record as the use case needs it. */
export interface DispatchRecord {
  readonly body: string;
  /** SQS message id: kept across redeliveries, so records of an invalid message are overwritten, not duplicated. */
  readonly sqsMessageId: string;
  /** Milliseconds left before the function times out (Lambda's `getRemainingTimeInMillis`). */
  readonly remainingTimeMs?: () => number;
}

/** The messages table as the dispatcher sees it (the one message ledger). */
export type DispatchLedger = Pick<
  MessageLedger,
  'createJobRecords' | 'recordInvalid' | 'wasPublished' | 'markPublished'
>;

/** The events queue itself (continuations) and its dead-letter queue (invalid messages). */
export interface EventsQueue {
  /** Puts a continuation of a large event back on the events queue. */
  continueLater(body: string): Promise<void>;
  /** Sends the original body to the events DLQ with the reason as message attributes. */
  deadLetter(body: string, reason: { readonly code: string; readonly reason: string }): Promise<void>;
}

/** The dispatcher's per-invocation limits when the environment sets none. */
export const DEFAULT_DISPATCH_LIMITS = {
  chunkSize: 50,
  renderBudgetMs: 20_000,
  safetyMarginMs: 15_000,
} as const;

export interface DispatchSettings {
  readonly servedEnvironments: readonly Environment[];
  /**
   * Fan-out elements (≈ email jobs) dispatched per invocation for one event; the rest goes back on the events
   * queue as a continuation, so a bill run never runs into the function timeout. @default 500
   */
  readonly maxItemsPerInvocation: number;
  /** Jobs rendered, recorded and published together. @default 50 */
  readonly chunkSize: number;
  /**
   * Rendering time one event (one tenant) may use in one invocation; the rest continues in a later one, so a
   * tenant whose templates are slow cannot hold the dispatcher that every tenant shares. @default 20,000 ms
   */
  readonly renderBudgetMs: number;
  /** Time left before the function timeout at which the event continues later instead. @default 15,000 ms */
  readonly safetyMarginMs: number;
}

export interface DispatchDeps {
  readonly definitions: NotificationDefinitionSource;
  readonly renderer: TemplateRenderer;
  readonly ledger: DispatchLedger;
  readonly lanes: SendLanes;
  readonly eventsQueue: EventsQueue;
  readonly settings: DispatchSettings;
  /** For the render budget. @default the system clock */
  readonly clock?: { now(): Date };
}

/** What one record came to; logged by the handler. */
export interface DispatchOutcome {
  readonly kind: 'event' | 'composed-email' | 'dead-lettered';
  /** New jobs handed to a send lane. */
  readonly queued: number;
  /** Jobs an earlier delivery created but did not hand to the queue (a crash between the two): sent again. */
  readonly requeued: number;
  /** Jobs an earlier delivery already handled. */
  readonly duplicates: number;
  /** Jobs recorded REJECTED (recipient, template or rendering problems). */
  readonly rejected: number;
  /** Cursor of the continuation put back on the events queue, when the event was not finished. */
  readonly continuation?: string;
  readonly reasonCode?: string;
  /** The event's tenant (events only): the handler reports tenants whose jobs keep being rejected. */
  readonly tenantId?: string;
}

/** The continuation cursor on a message is malformed (code `INVALID_EVENT`). */
export class InvalidCursorError extends PermanentError {
  constructor(value: unknown) {
    super(
      'INVALID_EVENT',
      `invalid event: ${DISPATCH_CURSOR_ATTRIBUTE}: ${JSON.stringify(value)} is not "<definitionId>:<offset>"`,
    );
    this.name = 'InvalidCursorError';
  }
}

interface Cursor {
  readonly definitionId: string;
  readonly offset: number;
}

function readCursor(body: string): Cursor | undefined {
  // Only continuations carry the attribute; a cheap substring test spares a second parse of every event.
  if (!body.includes(`"${DISPATCH_CURSOR_ATTRIBUTE}"`)) return undefined;
  const raw = (JSON.parse(body) as Record<string, unknown>)[DISPATCH_CURSOR_ATTRIBUTE];
  if (raw === undefined) return undefined;
  const match = typeof raw === 'string' ? /^([A-Za-z0-9][A-Za-z0-9_-]{0,63}):(\d{1,9})$/.exec(raw) : null;
  if (!match?.[1] || match[2] === undefined) throw new InvalidCursorError(raw);
  return { definitionId: match[1], offset: Number(match[2]) };
}

const formatCursor = (cursor: Cursor) => `${cursor.definitionId}:${cursor.offset}`;

/**
 * Dispatches one events-queue message. A composed email becomes one send-queue message. An event is matched
 * against the tenant's definitions, expanded into email jobs, rendered, recorded (QUEUED, or REJECTED with the
 * reason) with a conditional put per job, and the newly created jobs are published on their lane. A bill run
 * larger than `maxItemsPerInvocation` is dispatched in chunks: the rest goes back on the events queue with a
 * cursor. An invalid message, or one for an environment this scope does not serve, is recorded REJECTED and sent
 * to the events DLQ, then acknowledged. Any other failure throws (a batch item failure: SQS redelivers).
 *
 * Crash safety: records are written before the send-queue messages. A redelivery that finds a record still
 * QUEUED publishes it again (nothing records that SQS accepted the first one: that would be a write per email);
 * if the first publish did reach SQS, the sender's ledger (keyed by the same message id) sends the email once.
 * Records in any other state are left alone, so a redelivered event never creates a second job or resends a
 * SENT one.
 */
export async function dispatchEvents(record: DispatchRecord, deps: DispatchDeps): Promise<DispatchOutcome> {
  let tenantHint: string | undefined;
  try {
    const message = parseInboundMessage(record.body);
    const environment = message.kind === 'event' ? message.event.environment : message.email.environment;
    tenantHint = message.kind === 'event' ? message.event.tenantid : message.email.tenantId;
    if (!deps.settings.servedEnvironments.includes(environment)) {
      throw new EnvironmentNotServedError(environment, deps.settings.servedEnvironments);
    }
    if (message.kind === 'composed-email') return await dispatchComposed(message.email, deps);
    return await dispatchEvent(message.event, readCursor(record.body), record, deps);
  } catch (error) {
    if (error instanceof DomainError && error.kind === 'permanent') {
      return deadLetter(record, error, tenantHint ?? tenantOf(record.body), deps);
    }
    throw error;
  }
}

function tenantOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { tenantid?: unknown; tenantId?: unknown } | null;
    const tenant = parsed?.tenantid ?? parsed?.tenantId;
    return typeof tenant === 'string' && tenant.length <= 64 ? tenant : undefined;
  } catch {
    return undefined;
  }
}

async function deadLetter(
  record: DispatchRecord,
  error: DomainError,
  tenantId: string | undefined,
  deps: DispatchDeps,
): Promise<DispatchOutcome> {
  const reason = error.message;
  await deps.ledger.recordInvalid(messageIdFor('_invalid', `events:sqs:${record.sqsMessageId}`), {
    code: error.code,
    reason,
    body: record.body,
    ...(tenantId ? { tenantId } : {}),
  });
  await deps.eventsQueue.deadLetter(record.body, { code: error.code, reason });
  return {
    kind: 'dead-lettered',
    queued: 0,
    requeued: 0,
    duplicates: 0,
    rejected: 0,
    reasonCode: error.code,
  };
}

async function dispatchComposed(email: ComposedEmail, deps: DispatchDeps): Promise<DispatchOutcome> {
  // A QUEUED record with the kept request, like an event's job: the sweeper finds it if its lane message is lost.
  const { outcome } = await enqueueEmail(composedToSendRequest(email), email.idempotencyKey, deps, {
    jobId: email.idempotencyKey,
  });
  return {
    kind: 'composed-email',
    queued: outcome === 'queued' ? 1 : 0,
    requeued: outcome === 'requeued' ? 1 : 0,
    duplicates: outcome === 'duplicate' ? 1 : 0,
    rejected: 0,
  };
}

interface Prepared {
  readonly record: JobRecord;
  readonly message?: LaneMessage;
}

async function dispatchEvent(
  event: NotificationEvent,
  cursor: Cursor | undefined,
  record: DispatchRecord,
  deps: DispatchDeps,
): Promise<DispatchOutcome> {
  const { settings } = deps;
  const candidates = await deps.definitions.definitionsFor(event.tenantid, event.environment, event.type);
  const matched = matchDefinitions(event, candidates).filter(
    (definition) => !cursor || definition.definitionId >= cursor.definitionId,
  );
  const tally = { queued: 0, requeued: 0, duplicates: 0, rejected: 0 };
  const clock = deps.clock ?? { now: () => new Date() };
  let rendering = 0;
  // Each chunk is rendered, recorded and published before the next, so a stop (budget, timeout) loses nothing:
  // the continuation starts after the last recorded job.
  const runChunk = async (definition: Definition, jobs: readonly EmailJob[], fanOut: boolean) => {
    const started = clock.now().getTime();
    const prepared = await prepareJobs(event, definition, jobs, deps);
    rendering += clock.now().getTime() - started;
    await recordAndPublish(prepared, tally, deps, fanOut);
  };
  const outOfTime = () =>
    rendering >= settings.renderBudgetMs ||
    (record.remainingTimeMs !== undefined && record.remainingTimeMs() < settings.safetyMarginMs);

  let budget = settings.maxItemsPerInvocation;
  let next: Cursor | undefined;
  definitions: for (const [index, definition] of matched.entries()) {
    const following = matched[index + 1];
    if (budget <= 0 || (index > 0 && outOfTime())) {
      next = { definitionId: definition.definitionId, offset: 0 };
      break;
    }
    const size = fanOutSize(event, definition);
    const start = cursor && definition.definitionId === cursor.definitionId ? cursor.offset : 0;
    if (!definition.forEach || size === 0) {
      // One unit of work (no fan-out, or a fan-out path that is not an array: one rejected job).
      if (start > 0) continue;
      await runChunk(definition, expandJobs(event, definition), false);
      budget -= 1;
      continue;
    }
    const end = Math.min(size, start + budget);
    for (let offset = start; offset < end; ) {
      // Chunks sit on whole multiples of the chunk size, wherever a continuation starts: a redelivery cuts the
      // same chunks, so it finds each one's published note.
      const chunkEnd = Math.min(end, (Math.floor(offset / settings.chunkSize) + 1) * settings.chunkSize);
      await runChunk(
        definition,
        expandJobs(event, definition, { itemRange: { start: offset, end: chunkEnd } }),
        true,
      );
      budget -= chunkEnd - offset;
      offset = chunkEnd;
      if (offset < size && (offset === end || outOfTime())) {
        next = { definitionId: definition.definitionId, offset };
        break definitions;
      }
    }
    if (following && (budget <= 0 || outOfTime())) {
      next = { definitionId: following.definitionId, offset: 0 };
      break;
    }
  }
  if (next) {
    const continuation = JSON.parse(record.body) as Record<string, unknown>;
    continuation[DISPATCH_CURSOR_ATTRIBUTE] = formatCursor(next);
    await deps.eventsQueue.continueLater(JSON.stringify(continuation));
  }
  return {
    kind: 'event',
    tenantId: event.tenantid,
    ...tally,
    ...(next ? { continuation: formatCursor(next) } : {}),
  };
}

/**
 * Records one chunk of prepared jobs (a conditional put each) and publishes the new ones, plus those an earlier
 * delivery created that are still QUEUED (it may not have handed them to their lane) — unless the chunk is
 * marked published. A chunk of a fan-out (`marked`) notes, in one write, that all its lane messages reached SQS,
 * so a redelivered (or re-published) bill run does not put them on their lanes again; the single job of an
 * event without fan-out is published again instead (a write per email to avoid a duplicate lane message, which
 * the sender's claim absorbs, would cost more than it saves).
 */
async function recordAndPublish(
  prepared: readonly Prepared[],
  tally: { queued: number; requeued: number; duplicates: number; rejected: number },
  deps: DispatchDeps,
  marked: boolean,
): Promise<void> {
  const results = await deps.ledger.createJobRecords(prepared.map((p) => p.record));
  const batchKey = marked ? publishedBatchKey(prepared.map((p) => p.record.messageId)) : undefined;
  const toSend: LaneMessage[] = [];
  const stillQueued: LaneMessage[] = [];
  for (const [i, { message }] of prepared.entries()) {
    const result = results[i];
    if (!result) continue;
    if (result.created) {
      if (message) {
        toSend.push(message);
        tally.queued++;
      } else {
        tally.rejected++;
      }
    } else if (message && result.status === MessageStatus.QUEUED) {
      stillQueued.push(message);
    } else {
      tally.duplicates++;
    }
  }
  if (stillQueued.length > 0) {
    if (batchKey && (await deps.ledger.wasPublished(batchKey))) {
      tally.duplicates += stillQueued.length;
    } else {
      toSend.push(...stillQueued);
      tally.requeued += stillQueued.length;
    }
  }
  if (toSend.length === 0) return;
  const { sent } = await deps.lanes.publish(toSend);
  if (batchKey && sent.length === toSend.length) await deps.ledger.markPublished(batchKey);
  if (sent.length < toSend.length) throw new SendQueuePublishError(toSend.length - sent.length);
}

async function prepareJobs(
  event: NotificationEvent,
  definition: Definition,
  jobs: readonly EmailJob[],
  deps: DispatchDeps,
): Promise<Prepared[]> {
  const accepted = jobs.filter((job): job is AcceptedEmailJob => job.status === 'accepted');
  const template: Template | undefined =
    accepted.length > 0
      ? await deps.definitions.templateFor(event.tenantid, definition.templateId)
      : undefined;
  const out: Prepared[] = [];
  for (const job of jobs) {
    const base = {
      messageId: messageIdFor(job.tenantId, job.jobId),
      jobId: job.jobId,
      tenantId: job.tenantId,
      environment: job.environment,
      category: job.category,
      eventId: job.eventId,
      eventType: job.eventType,
      definitionId: job.definitionId,
      ...(job.itemKey === undefined ? {} : { itemKey: job.itemKey }),
    };
    if (job.status === 'rejected') {
      out.push({
        record: {
          ...base,
          status: MessageStatus.REJECTED,
          recipients: [job.recipient],
          reasonCode: job.code,
          reason: job.reason,
        },
      });
      continue;
    }
    const recipients = [job.to.email, ...job.cc.map((m) => m.email), ...job.bcc.map((m) => m.email)];
    const reject = (reasonCode: string, reason: string): Prepared => ({
      record: { ...base, status: MessageStatus.REJECTED, recipients, reasonCode, reason },
    });
    if (!template) {
      out.push(
        reject(
          'TEMPLATE_NOT_FOUND',
          `definition ${definition.definitionId} sends template ${definition.templateId}, which tenant ${event.tenantid} does not have`,
        ),
      );
      continue;
    }
    let rendered: Awaited<ReturnType<TemplateRenderer['render']>>;
    try {
      rendered = await deps.renderer.render(template, renderContextFor(event, job));
    } catch (error) {
      if (error instanceof TemplateRenderError) {
        out.push(reject(error.code, error.message));
        continue;
      }
      throw error;
    }
    const request = sendRequestSchema.safeParse({
      type: 'email',
      idempotencyKey: job.jobId,
      tenantId: job.tenantId,
      environment: job.environment,
      to: [job.to.email],
      cc: job.cc.map((m) => m.email),
      bcc: job.bcc.map((m) => m.email),
      subject: rendered.subject,
      ...(rendered.html === undefined ? {} : { html: rendered.html }),
      text: rendered.text,
      category: job.category,
      headers: rendered.headers,
      eventId: job.eventId,
      definitionId: job.definitionId,
    });
    if (!request.success) {
      // Should not happen (jobs and renders are validated more strictly); reject rather than lose the reason.
      out.push(reject('INVALID_MESSAGE', request.error.issues.map((i) => i.message).join('; ')));
      continue;
    }
    const message = laneMessage(request.data, job.jobId);
    out.push({
      record: {
        ...base,
        status: MessageStatus.QUEUED,
        recipients,
        subject: rendered.subject,
        request: message.body,
      },
      message,
    });
  }
  return out;
}
