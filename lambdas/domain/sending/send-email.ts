import { DomainError, PermanentError, ThrottledError, TransientError } from '../errors';
import type { IdentityStatusView } from '../identity/identity';
import { LeaseLostError } from '../message/errors';
import type { Lease, MessageLedger, SentDetail } from '../message/message-ledger';
import { isFinal, MessageStatus } from '../message/message-status';
import type { SendLanes } from '../message/send-lanes';

import {
  askAgainAt,
  assertSatisfiable,
  BULK_WAIT_IN_PLACE_MS,
  hasAnyLimit,
  paceRules,
  type RateGovernor,
  RateLimitedError,
  type RateLimits,
  type ReservationRequest,
} from '../rate-limit/rate-limits';
import type { Environment, Scope, SendingMethod } from '../scope';
import { environmentSettings, type TenantDirectory, UnknownTenantError } from '../tenant';
import { type Clock, type EmailSender, type RejectedRecipient, type SendResult, waitUntil } from './ports';
import { prepareEmail } from './prepare-email';
import {
  describeIssues,
  idempotencyKeyOf,
  laneMessage,
  messageIdFor,
  type SendRequest,
  sendRequestSchema,
} from './send-request';

export { MESSAGE_TAGS } from './message-tags';

/** One SQS record as the use case needs it. */
export interface SendRecord {
  readonly body: string;
  readonly sqsMessageId: string;
  /** SQS ApproximateReceiveCount: 1 on first delivery. */
  readonly receiveCount: number;
}

/** Reads the tenant's suppression list (every method checks it before sending). */
export interface SuppressionCheck {
  /** The subset of `addresses` that must not be mailed, keyed by normalised address. */
  isSuppressed(tenantId: string, addresses: readonly string[]): Promise<ReadonlyMap<string, unknown>>;
}

/**
 * Records what the sender itself learns about a tenant's reputation: the recipients the provider accepted
 * (sends, whatever the method), and a relay's synchronous 5xx refusals (bounces).
 */
export interface SendFeedback {
  /** Notes the recipients of an email the provider accepted as the tenant's sends (written by `flush`). */
  accepted(tenantId: string, recipients: readonly string[]): Promise<void>;
  /** Writes the sends noted so far; the handler calls it once per batch. */
  flush(): Promise<void>;
  rejected(
    messageId: string,
    tenantId: string,
    environment: string,
    rejections: readonly RejectedRecipient[],
  ): Promise<void>;
}

export interface SendEmailSettings {
  readonly scope: Scope;
  /** Environments this scope deployment serves. */
  readonly servedEnvironments: readonly Environment[];
  /** The platform's From address for the `default` method, e.g. notifications@mail.platform.com. */
  readonly platformFromAddress: string;
  /** The send queue's maxReceiveCount: the attempt that reaches it records DEAD_LETTERED. */
  readonly maxReceiveCount: number;
  /**
   * Waits between in-place retries of the records written after the provider accepted (never re-queued).
   * @default [50, 200, 800] ms
   */
  readonly recordRetryDelaysMs?: readonly number[];
}

export interface SendEmailDeps {
  readonly ledger: Pick<
    MessageLedger,
    'claim' | 'settle' | 'recordSent' | 'recordAccepted' | 'recordInvalid' | 'keepRequest'
  >;
  readonly tenants: TenantDirectory;
  /** Transport per sending method; a tenant on a method with no transport here is rejected clearly. */
  readonly senders: Partial<Record<SendingMethod, EmailSender>>;
  readonly suppressions: SuppressionCheck;
  /** The tenant's identities in this scope, for the advanced method (cached by the adapter). */
  readonly identities: {
    list(tenantId: string, options?: { readonly fresh?: boolean }): Promise<readonly IdentityStatusView[]>;
  };
  /** Paces every send to its provider's limits (the tenant's relay, or the SES account), shared by all senders. */
  readonly governor: RateGovernor;
  /** The SES account's sending limits (its maximum send rate, from GetAccount; cached by the adapter). */
  readonly sesQuota: { limits(): Promise<RateLimits> };
  readonly sendFeedback: SendFeedback;
  /** The send lanes: deferred mail goes back on its lane, with its key and tenant group. */
  readonly lanes: SendLanes;
  readonly clock: Clock;
  readonly settings: SendEmailSettings;
  /** Problems after the provider accepted that change no outcome (logged by the handler). */
  readonly warn?: (message: string, detail: Record<string, unknown>) => void;
}

export type SendOutcome =
  | 'sent'
  | 'duplicate'
  | 'rejected'
  | 'deferred'
  | 'paused'
  | 'suppressed'
  /** The provider accepted; SENT could not be recorded now (the SES event or the sweeper completes it). */
  | 'accepted-unrecorded';

export class EnvironmentNotServedError extends PermanentError {
  constructor(environment: Environment, served: readonly Environment[]) {
    super(
      'ENVIRONMENT_NOT_SERVED',
      `environment "${environment}" is not served by this scope (it serves ${served.join(', ')}): publish to the other scope's queue`,
    );
    this.name = 'EnvironmentNotServedError';
  }
}

export class MethodNotAvailableError extends PermanentError {
  constructor(method: SendingMethod) {
    super('METHOD_NOT_AVAILABLE', `sending method "${method}" is not configured in this deployment`);
    this.name = 'MethodNotAvailableError';
  }
}

export class MessageInFlightError extends TransientError {
  constructor(messageId: string) {
    super('IN_FLIGHT', `message ${messageId} is being sent by another invocation; retrying later`);
    this.name = 'MessageInFlightError';
  }
}

/** One claimed attempt: what every write of the attempt needs. */
interface Attempt {
  readonly messageId: string;
  readonly key: string;
  readonly request: SendRequest;
  readonly lease: Lease;
  /** Whether the send-lane body was kept beside the record before this attempt. */
  readonly requestKept: boolean;
  /** This attempt kept the body (the record had none): its settle marks the record as having it. */
  keptNow: boolean;
  readonly receiveCount: number;
  /** Deferred for capacity before: it holds its place in the governor's queue. */
  readonly queued: boolean;
}

/**
 * Sends one queued email at most once, and ends it in exactly one recorded state. Two phases:
 * - before the provider call, any error settles the attempt (REJECTED, DEFERRED, PAUSED, SUPPRESSED, or QUEUED
 *   again and thrown, so SQS redelivers it; DEAD_LETTERED on the last receive);
 * - after the provider accepted, nothing re-queues the email: SENT is recorded with in-place retries, and if
 *   that keeps failing the provider id is noted (`accepted-unrecorded`) for the SES event or the sweeper.
 * Returns the outcome for messages that are done (the SQS record is then deleted); throws a TransientError when
 * SQS should redeliver.
 */
export async function sendEmail(record: SendRecord, deps: SendEmailDeps): Promise<SendOutcome> {
  const { ledger } = deps;
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.body);
  } catch (error) {
    await ledger.recordInvalid(messageIdFor('_invalid', idempotencyKeyOf({}, record.body)), {
      code: 'INVALID_JSON',
      reason: `the message body is not JSON: ${(error as Error).message}`,
      body: record.body,
    });
    return 'rejected';
  }
  const validation = sendRequestSchema.safeParse(parsed);
  if (!validation.success) {
    const tenantId = (parsed as { tenantId?: unknown } | null)?.tenantId;
    await ledger.recordInvalid(messageIdFor('_invalid', idempotencyKeyOf({}, record.body)), {
      code: 'INVALID_MESSAGE',
      reason: describeIssues(validation.error),
      body: record.body,
      ...(typeof tenantId === 'string' ? { tenantId } : {}),
    });
    return 'rejected';
  }
  const request = validation.data;
  const key = idempotencyKeyOf(request, record.body);
  const messageId = messageIdFor(request.tenantId, key);

  const claim = await ledger.claim({
    messageId,
    tenantId: request.tenantId,
    environment: request.environment,
    category: request.category,
    recipients: [...request.to, ...request.cc, ...request.bcc],
    subject: request.subject,
    ...(request.eventId ? { eventId: request.eventId } : {}),
    ...(request.definitionId ? { definitionId: request.definitionId } : {}),
  });
  if (!claim.claimed) {
    if (isFinal(claim.status)) return 'duplicate';
    throw new MessageInFlightError(messageId);
  }
  const attempt: Attempt = {
    messageId,
    key,
    request,
    lease: claim.lease,
    requestKept: claim.requestKept,
    keptNow: false,
    receiveCount: record.receiveCount,
    queued: claim.previous === MessageStatus.DEFERRED,
  };

  let ready: Ready | Exclude<SendOutcome, 'sent'>;
  let result: SendResult;
  try {
    // A body that reached its lane without the dispatcher (or `enqueueEmail`) has no kept request: keep it before
    // the provider call, so a deferral or a release can put it back, the sweeper can finish it after a crash, and
    // `message resend` can copy it. Every later settle marks the record as having it.
    if (!attempt.requestKept) {
      await ledger.keepRequest(messageId, laneMessage(request, key).body);
      attempt.keptNow = true;
    }
    ready = await prepare(attempt, deps);
    if (typeof ready === 'string') return ready;
    result = await ready.sender.send(ready.email, {
      ...(ready.relay ? { settings: ready.relay } : {}),
      pace: ready.pace,
    });
  } catch (error) {
    return settle(error, attempt, deps);
  }
  return recordAcceptance(attempt, ready, result, deps);
}

type Prepared = Awaited<ReturnType<typeof prepareEmail>>;

interface Ready {
  readonly sender: EmailSender;
  readonly email: Prepared['email'];
  readonly relay?: NonNullable<Prepared['relay']>;
  readonly method: SendingMethod;
  readonly dkim?: Prepared['dkim'];
  readonly recipients: readonly string[];
  readonly suppressedRecipients: readonly string[];
  /** Books the send's slot (the transport calls it once the message is composed). */
  readonly pace: () => Promise<number | undefined>;
}

/** The pre-send phase: tenant, pause, method, suppression, From, relay capacity. Throws DomainErrors. */
async function prepare(attempt: Attempt, deps: SendEmailDeps): Promise<Ready | 'paused' | 'suppressed'> {
  const { request, messageId } = attempt;
  const { ledger, settings } = deps;
  if (!settings.servedEnvironments.includes(request.environment)) {
    throw new EnvironmentNotServedError(request.environment, settings.servedEnvironments);
  }
  const tenant = await deps.tenants.get(request.tenantId);
  if (!tenant) throw new UnknownTenantError(request.tenantId);
  const environment = environmentSettings(tenant, request.environment);
  if (environment.paused) {
    // The request is kept beside the record (with its key), so the release sends this same record.
    await ledger.settle(messageId, attempt.lease, MessageStatus.PAUSED, {
      code: 'TENANT_PAUSED',
      reason: `held: ${environment.paused.reason}`,
      requestKept: true,
      tenantId: request.tenantId,
    });
    return 'paused';
  }
  const sender = deps.senders[environment.method];
  if (!sender) throw new MethodNotAvailableError(environment.method);

  const recipients = [...request.to, ...request.cc, ...request.bcc];
  const suppressed = await deps.suppressions.isSuppressed(request.tenantId, recipients);
  const isSuppressed = (address: string) => suppressed.has(address.trim().toLowerCase());
  const suppressedRecipients = recipients.filter(isSuppressed);
  if (suppressedRecipients.length === recipients.length) {
    await ledger.settle(messageId, attempt.lease, MessageStatus.SUPPRESSED, {
      code: 'SUPPRESSED',
      reason: `every recipient is on the tenant's suppression list: ${suppressedRecipients.join(', ')}`,
      ...(attempt.keptNow ? { requestKept: true } : {}),
    });
    return 'suppressed';
  }
  const sendable = {
    ...request,
    to: request.to.filter((a) => !isSuppressed(a)),
    cc: request.cc.filter((a) => !isSuppressed(a)),
    bcc: request.bcc.filter((a) => !isSuppressed(a)),
  };
  const prepared = await prepareEmail(messageId, sendable, tenant, environment, {
    scope: settings.scope,
    platformFromAddress: settings.platformFromAddress,
    identities: (options) => deps.identities.list(request.tenantId, options),
  });
  const sendTo = [...sendable.to, ...sendable.cc, ...sendable.bcc];
  const capacity = prepared.relay
    ? { key: `smtp#${request.tenantId}#${request.environment}`, limits: prepared.relay.limits }
    : { key: 'ses', limits: await deps.sesQuota.limits() };
  const cell = {
    messages: 1,
    recipients: sendTo.length,
    priority: request.category,
    ...(attempt.queued ? { queued: true } : {}),
  };
  // A relay refuses a transaction over one of its limits whatever the pacing; SES only counts recipients.
  if (prepared.relay) assertSatisfiable(paceRules(capacity.limits), cell);
  return {
    sender,
    email: prepared.email,
    ...(prepared.relay ? { relay: prepared.relay } : {}),
    method: environment.method,
    ...(prepared.dkim ? { dkim: prepared.dkim } : {}),
    recipients: sendTo,
    suppressedRecipients,
    pace: () => pace(capacity, cell, deps),
  };
}

/**
 * Takes the send's slot from the governor (shared by every concurrent sender of the scope): returns it when it
 * is within the priority's horizon (the transport waits for it); a bulk email whose place is at most
 * `BULK_WAIT_IN_PLACE_MS` away waits here and asks again; otherwise throws `RateLimitedError` with the exact
 * wait, which defers the email.
 */
async function pace(
  capacity: { readonly key: string; readonly limits: RateLimits },
  cell: Omit<ReservationRequest, 'key' | 'limits'>,
  deps: SendEmailDeps,
): Promise<number | undefined> {
  if (!hasAnyLimit(capacity.limits)) return undefined;
  const request = { key: capacity.key, limits: capacity.limits, ...cell };
  const now = () => deps.clock.now().getTime();
  // A bulk send whose place is near waits for it here and asks again, holding its place (`queued`), for at
  // most BULK_WAIT_IN_PLACE_MS in all; a place further away defers the email through its lane.
  const waitInPlaceUntil =
    cell.priority === 'bulk' ? now() + BULK_WAIT_IN_PLACE_MS : Number.NEGATIVE_INFINITY;
  let reservation = await deps.governor.reserve(request);
  while (!reservation.granted && reservation.eligibleAtMs <= waitInPlaceUntil) {
    await waitUntil(askAgainAt(reservation.eligibleAtMs), now);
    reservation = await deps.governor.reserve({ ...request, queued: true });
  }
  if (!reservation.granted) {
    const target = capacity.key === 'ses' ? 'the SES account' : `the relay of ${capacity.key.split('#')[1]}`;
    throw new RateLimitedError(target, reservation.retryAfterSeconds, reservation.eligibleAt);
  }
  return reservation.sendAtMs;
}

/**
 * The post-send phase. The provider has the email, so nothing here may lead to a second send: SENT is recorded
 * with in-place retries; if that keeps failing, the provider id is noted for the sweeper (and SES's own Send
 * event completes the record through feedback). The accepted recipients then count as the tenant's sends, and
 * a relay's refusals as bounces (retried in place: they are keyed, so a retry cannot count them twice).
 */
async function recordAcceptance(
  attempt: Attempt,
  ready: Ready,
  result: SendResult,
  deps: SendEmailDeps,
): Promise<SendOutcome> {
  const { messageId, request, lease } = attempt;
  const detail: SentDetail = {
    method: ready.method,
    from: ready.email.from.address,
    providerMessageId: result.providerMessageId,
    ...(ready.dkim ? { dkim: ready.dkim } : {}),
    ...(ready.suppressedRecipients.length ? { suppressedRecipients: ready.suppressedRecipients } : {}),
    ...(result.rejectedRecipients?.length ? { rejectedRecipients: result.rejectedRecipients } : {}),
  };
  let outcome: SendOutcome = 'sent';
  const recorded = await retryInPlace(deps, () => deps.ledger.recordSent(messageId, lease, detail));
  if (!recorded.ok) {
    outcome = 'accepted-unrecorded';
    deps.warn?.('provider accepted but SENT was not recorded', {
      messageId,
      providerMessageId: result.providerMessageId,
      error: describe(recorded.error),
    });
    if (!(recorded.error instanceof LeaseLostError)) {
      await retryInPlace(deps, () => deps.ledger.recordAccepted(messageId, lease, result.providerMessageId));
    }
  }
  const rejected = result.rejectedRecipients ?? [];
  if (outcome === 'sent') {
    // Once per email: only the attempt that recorded SENT counts it. Not retried: the count is not idempotent,
    // and a lost count errs toward a higher bounce rate, never a lower one.
    const accepted = ready.recipients.filter((address) => !rejected.some((r) => r.recipient === address));
    try {
      await deps.sendFeedback.accepted(request.tenantId, accepted);
    } catch (error) {
      deps.warn?.('send not counted toward reputation', { messageId, error: describe(error) });
    }
  }
  if (ready.relay && rejected.length) {
    const refused = await retryInPlace(deps, () =>
      deps.sendFeedback.rejected(messageId, request.tenantId, request.environment, rejected),
    );
    if (!refused.ok) {
      deps.warn?.('relay refusals not counted toward reputation', {
        messageId,
        error: describe(refused.error),
      });
    }
  }
  return outcome;
}

async function retryInPlace<T>(
  deps: SendEmailDeps,
  write: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  const delays = deps.settings.recordRetryDelaysMs ?? [50, 200, 800];
  let error: unknown;
  for (let i = 0; i <= delays.length; i += 1) {
    try {
      return { ok: true, value: await write() };
    } catch (caught) {
      error = caught;
      // Another attempt holds the record: retrying cannot help.
      if (caught instanceof LeaseLostError || i === delays.length) break;
      await new Promise((resolve) => setTimeout(resolve, delays[i]));
    }
  }
  return { ok: false, error };
}

const describe = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/**
 * The one place a pre-send error becomes an outcome: REJECTED, DEFERRED (the request back on its lane with a
 * delay, its key and group unchanged), QUEUED for an SQS retry, or DEAD_LETTERED on the last receive.
 */
async function settle(error: unknown, attempt: Attempt, deps: SendEmailDeps): Promise<SendOutcome> {
  const { ledger, settings, clock } = deps;
  const { messageId, lease } = attempt;
  const domainError =
    error instanceof DomainError
      ? error
      : new TransientError('UNEXPECTED', error instanceof Error ? error.message : String(error), {
          cause: error,
        });
  if (domainError instanceof ThrottledError) {
    const delaySeconds = Math.min(900, Math.max(1, Math.ceil(domainError.retryAfterSeconds)));
    const lane = laneMessage(attempt.request, attempt.key);
    const { sent } = await deps.lanes.publish([lane], { delaySeconds });
    if (sent.length === 1) {
      await ledger.settle(messageId, lease, MessageStatus.DEFERRED, {
        code: domainError.code,
        reason: domainError.message,
        eligibleAt: new Date(clock.now().getTime() + delaySeconds * 1000).toISOString(),
        requestKept: true,
      });
      return 'deferred';
    }
  }
  if (domainError.kind === 'permanent') {
    await ledger.settle(messageId, lease, MessageStatus.REJECTED, {
      code: domainError.code,
      reason: domainError.message,
      ...(attempt.keptNow ? { requestKept: true } : {}),
    });
    return 'rejected';
  }
  const lastAttempt = attempt.receiveCount >= settings.maxReceiveCount;
  await ledger.settle(messageId, lease, lastAttempt ? MessageStatus.DEAD_LETTERED : MessageStatus.QUEUED, {
    code: domainError.code,
    reason: lastAttempt
      ? `dead-lettered after ${attempt.receiveCount} attempts: ${domainError.message}`
      : `attempt ${attempt.receiveCount} failed, will retry: ${domainError.message}`,
    ...(attempt.keptNow ? { requestKept: true } : {}),
  });
  throw domainError;
}
