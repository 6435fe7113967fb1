import { DomainError, PermanentError, ThrottledError, TransientError } from '../errors';
import type { IdentityStatusView } from '../identity/identity';
import { type Environment, FINAL_STATUSES, MessageStatus, type Scope, type SendingMethod } from '../message';
import { type RateGovernor, RateLimitedError } from '../rate-limit/rate-limits';
import { environmentSettings, type TenantDirectory, UnknownTenantError } from '../tenant';
import type { Clock, DeferralQueue, EmailSender, MessageLedger, RejectedRecipient } from './ports';
import { prepareEmail } from './prepare-email';
import { describeIssues, messageIdFor, sendRequestSchema } from './send-request';

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

/** Records what the tenant's relay did synchronously: sends, and 5xx refusals that count as bounces. */
export interface RelayFeedback {
  accepted(messageId: string, tenantId: string, recipients: readonly string[]): Promise<void>;
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
}

export interface SendEmailDeps {
  readonly ledger: MessageLedger;
  readonly tenants: TenantDirectory;
  /** Transport per sending method; a tenant on a method with no transport here is rejected clearly. */
  readonly senders: Partial<Record<SendingMethod, EmailSender>>;
  readonly suppressions: SuppressionCheck;
  /** The tenant's identities in this scope, for the advanced method (cached by the adapter). */
  readonly identities: { list(tenantId: string): Promise<readonly IdentityStatusView[]> };
  /** Shared capacity of tenants' relays; consulted before every external-smtp send. */
  readonly governor: RateGovernor;
  readonly relayFeedback: RelayFeedback;
  readonly deferrals: DeferralQueue;
  readonly clock: Clock;
  readonly settings: SendEmailSettings;
}

export type SendOutcome = 'sent' | 'duplicate' | 'rejected' | 'deferred' | 'paused' | 'suppressed';

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

/**
 * Sends one queued email at most once, and ends it in exactly one recorded state. Returns the outcome for
 * messages that are done (the SQS record is then deleted); throws a TransientError when SQS should redeliver.
 */
export async function sendEmail(record: SendRecord, deps: SendEmailDeps): Promise<SendOutcome> {
  const { ledger, settings } = deps;
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.body);
  } catch (error) {
    await ledger.recordInvalid(messageIdFor('_invalid', `sqs:${record.sqsMessageId}`), {
      code: 'INVALID_JSON',
      reason: `the message body is not JSON: ${(error as Error).message}`,
      body: record.body,
    });
    return 'rejected';
  }
  const validation = sendRequestSchema.safeParse(parsed);
  if (!validation.success) {
    const tenantId = (parsed as { tenantId?: unknown } | null)?.tenantId;
    await ledger.recordInvalid(messageIdFor('_invalid', `sqs:${record.sqsMessageId}`), {
      code: 'INVALID_MESSAGE',
      reason: describeIssues(validation.error),
      body: record.body,
      ...(typeof tenantId === 'string' ? { tenantId } : {}),
    });
    return 'rejected';
  }
  const request = validation.data;
  const messageId = messageIdFor(request.tenantId, request.idempotencyKey ?? `sqs:${record.sqsMessageId}`);

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
    if (FINAL_STATUSES.includes(claim.status)) return 'duplicate';
    throw new MessageInFlightError(messageId);
  }

  try {
    if (!settings.servedEnvironments.includes(request.environment)) {
      throw new EnvironmentNotServedError(request.environment, settings.servedEnvironments);
    }
    const tenant = await deps.tenants.get(request.tenantId);
    if (!tenant) throw new UnknownTenantError(request.tenantId);
    const environment = environmentSettings(tenant, request.environment);
    if (environment.paused) {
      await ledger.markOutcome(messageId, MessageStatus.PAUSED, {
        code: 'TENANT_PAUSED',
        reason: `held: ${environment.paused.reason}`,
        // Kept with its idempotency key made explicit, so the released copy maps to this same record.
        heldRequest: JSON.stringify({
          ...request,
          idempotencyKey: request.idempotencyKey ?? `sqs:${record.sqsMessageId}`,
        }),
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
      await ledger.markOutcome(messageId, MessageStatus.SUPPRESSED, {
        code: 'SUPPRESSED',
        reason: `every recipient is on the tenant's suppression list: ${suppressedRecipients.join(', ')}`,
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
      identities: () => deps.identities.list(request.tenantId),
    });
    if (prepared.relay) {
      const sendTo = [...sendable.to, ...sendable.cc, ...sendable.bcc];
      const reservation = await deps.governor.reserve({
        key: `smtp#${request.tenantId}#${request.environment}`,
        limits: prepared.relay.limits,
        messages: 1,
        recipients: sendTo.length,
        priority: request.category,
      });
      if (!reservation.granted) {
        throw new RateLimitedError(
          `the relay of ${request.tenantId}`,
          reservation.retryAfterSeconds,
          reservation.eligibleAt,
        );
      }
    }
    const result = await sender.send(
      prepared.email,
      prepared.relay ? { settings: prepared.relay } : undefined,
    );
    if (prepared.relay) {
      const accepted = [...sendable.to, ...sendable.cc, ...sendable.bcc].filter(
        (address) => !result.rejectedRecipients?.some((r) => r.recipient === address),
      );
      await deps.relayFeedback.accepted(messageId, request.tenantId, accepted);
      if (result.rejectedRecipients?.length) {
        await deps.relayFeedback.rejected(
          messageId,
          request.tenantId,
          request.environment,
          result.rejectedRecipients,
        );
      }
    }
    await ledger.markSent(messageId, {
      method: environment.method,
      from: prepared.email.from.address,
      providerMessageId: result.providerMessageId,
      ...(prepared.dkim ? { dkim: prepared.dkim } : {}),
      ...(suppressedRecipients.length ? { suppressedRecipients } : {}),
      ...(result.rejectedRecipients?.length ? { rejectedRecipients: result.rejectedRecipients } : {}),
    });
    return 'sent';
  } catch (error) {
    return settle(error, messageId, record, deps, request.category);
  }
}

/** The one place an error becomes an outcome: REJECTED, DEFERRED, QUEUED for a retry, or DEAD_LETTERED. */
async function settle(
  error: unknown,
  messageId: string,
  record: SendRecord,
  deps: SendEmailDeps,
  category: 'transactional' | 'bulk',
): Promise<SendOutcome> {
  const { ledger, settings, clock } = deps;
  const domainError =
    error instanceof DomainError
      ? error
      : new TransientError('UNEXPECTED', error instanceof Error ? error.message : String(error), {
          cause: error,
        });
  if (domainError instanceof ThrottledError) {
    const delaySeconds = Math.min(900, Math.max(1, Math.ceil(domainError.retryAfterSeconds)));
    await deps.deferrals.defer(record.body, delaySeconds, category);
    await ledger.markOutcome(messageId, MessageStatus.DEFERRED, {
      code: domainError.code,
      reason: domainError.message,
      eligibleAt: new Date(clock.now().getTime() + delaySeconds * 1000).toISOString(),
    });
    return 'deferred';
  }
  if (domainError.kind === 'permanent') {
    await ledger.markOutcome(messageId, MessageStatus.REJECTED, {
      code: domainError.code,
      reason: domainError.message,
    });
    return 'rejected';
  }
  const lastAttempt = record.receiveCount >= settings.maxReceiveCount;
  await ledger.markOutcome(messageId, lastAttempt ? MessageStatus.DEAD_LETTERED : MessageStatus.QUEUED, {
    code: domainError.code,
    reason: lastAttempt
      ? `dead-lettered after ${record.receiveCount} attempts: ${domainError.message}`
      : `attempt ${record.receiveCount} failed, will retry: ${domainError.message}`,
  });
  throw domainError;
}
