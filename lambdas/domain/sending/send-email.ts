import { DomainError, PermanentError, ThrottledError, TransientError } from '../errors';
import { type Environment, FINAL_STATUSES, MessageStatus, type SendingMethod } from '../message';
import { environmentSettings, type Tenant, type TenantDirectory, UnknownTenantError } from '../tenant';
import type { Clock, DeferralQueue, EmailSender, MessageLedger, OutgoingEmail } from './ports';
import { describeIssues, messageIdFor, type SendRequest, sendRequestSchema } from './send-request';

/** Names of the SES message tags we set; feedback events carry them back for correlation. */
export const MESSAGE_TAGS = {
  messageId: 'message-id',
  tenantId: 'tenant-id',
  environment: 'environment',
} as const;

/** One SQS record as the use case needs it. */
export interface SendRecord {
  readonly body: string;
  readonly sqsMessageId: string;
  /** SQS ApproximateReceiveCount: 1 on first delivery. */
  readonly receiveCount: number;
}

export interface SendEmailSettings {
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
  readonly deferrals: DeferralQueue;
  readonly clock: Clock;
  readonly settings: SendEmailSettings;
}

export type SendOutcome = 'sent' | 'duplicate' | 'rejected' | 'deferred' | 'paused';

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
 * The `default` method: the platform's verified address sends on the tenant's behalf, showing the tenant's
 * name; replies go to the tenant profile email. (SES sends only from verified identities, so the tenant's own
 * address cannot be the From here: that is what the `advanced` method is for.)
 */
export function defaultMethodAddressing(tenant: Tenant, platformFromAddress: string) {
  return {
    from: { name: tenant.displayName, address: platformFromAddress },
    replyTo: { address: tenant.profileEmail },
  };
}

function toOutgoing(
  messageId: string,
  request: SendRequest,
  tenant: Tenant,
  settings: SendEmailSettings,
): OutgoingEmail {
  return {
    messageId,
    tenantId: request.tenantId,
    environment: request.environment,
    ...defaultMethodAddressing(tenant, settings.platformFromAddress),
    to: request.to,
    cc: request.cc,
    bcc: request.bcc,
    subject: request.subject,
    ...(request.html !== undefined ? { html: request.html } : {}),
    ...(request.text !== undefined ? { text: request.text } : {}),
    headers: request.headers,
    tags: {
      [MESSAGE_TAGS.messageId]: messageId,
      [MESSAGE_TAGS.tenantId]: request.tenantId,
      [MESSAGE_TAGS.environment]: request.environment,
    },
  };
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
        heldRequest: record.body,
      });
      return 'paused';
    }
    const sender = deps.senders[environment.method];
    if (!sender) throw new MethodNotAvailableError(environment.method);
    const email = toOutgoing(messageId, request, tenant, settings);
    const result = await sender.send(email);
    await ledger.markSent(messageId, {
      method: environment.method,
      from: email.from.address,
      providerMessageId: result.providerMessageId,
    });
    return 'sent';
  } catch (error) {
    return settle(error, messageId, record, deps);
  }
}

/** The one place an error becomes an outcome: REJECTED, DEFERRED, QUEUED for a retry, or DEAD_LETTERED. */
async function settle(
  error: unknown,
  messageId: string,
  record: SendRecord,
  deps: SendEmailDeps,
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
    await deps.deferrals.defer(record.body, delaySeconds);
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
