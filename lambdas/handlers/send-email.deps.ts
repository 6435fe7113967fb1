import type { SESv2Client } from '@aws-sdk/client-sesv2';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CachedIdentities } from '../adapters/cached-identities';
import { DynamoIdentityStore } from '../adapters/identity-store';
import { LazySendLanes } from '../adapters/lazy-send-lanes';
import { DynamoMessageLedger } from '../adapters/message-ledger/dynamo-message-ledger';
import { DynamoRateGovernor } from '../adapters/rate-governor-store';
import { DynamoReputationStore } from '../adapters/reputation-store';
import { SendFeedbackRecorder } from '../adapters/send-feedback-recorder';
import { SesAccountQuota } from '../adapters/ses-account-quota';
import { SesEmailSender } from '../adapters/ses-email-sender';
import { SmtpEmailSender } from '../adapters/smtp-email-sender';
import { DynamoSuppressionStore } from '../adapters/suppression-store';
import { DynamoTenantStore } from '../adapters/tenant-store';
import type { Clock } from '../domain/sending/ports';
import type { SendEmailDeps } from '../domain/sending/send-email';
import type { RelaySender } from '../domain/smtp/relay-sender';
import type { SenderConfig } from '../shared/config';

/**
 * Configuration of the sender's SES client: one attempt per email. The governor paces sends to the account's
 * rate and a throttled send is deferred with its exact wait, so the SDK's own retries (which re-send on
 * throttling) are off; a 5xx or network error is retried by SQS. A request SES does not answer within 10 s is
 * abandoned (the SDK only warns on a request timeout unless told to throw), so a hung call cannot hold the batch
 * until the function times out; like any error after the request left, it is an in-doubt send (docs/reliability.md).
 */
export const SENDER_SES_CLIENT_CONFIG = {
  maxAttempts: 1,
  requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
} as const;

export interface SenderClients {
  readonly documents: DynamoDBDocumentClient;
  readonly ses: SESv2Client;
  /**
   * SQS client of the send lanes, which the sender publishes to only to defer an email (benches and tests).
   * @default one built by `send-email.lanes`, loaded at the container's first deferral
   */
  readonly sqs?: SQSClient;
  /** Transport of the external-smtp method; without it, tenants on that method are rejected clearly. */
  readonly relay?: RelaySender;
}

export interface SenderWiringOptions {
  readonly clock?: Clock;
  /** Seconds a warm container trusts a tenant / a tenant's identities. @default the adapters' defaults */
  readonly cacheTtlSeconds?: number;
}

/**
 * The one wiring of the sender's adapters: the Lambda composition root, the tests and the benchmarks all build
 * the sender here, from its configuration and clients, so what they exercise is what is deployed.
 */
export function senderDeps(
  config: SenderConfig,
  clients: SenderClients,
  options: SenderWiringOptions = {},
): SendEmailDeps {
  const { documents } = clients;
  const clock = options.clock ?? { now: () => new Date() };
  const ttl = options.cacheTtlSeconds;
  const messageIdDomain = config.platformFromAddress.split('@')[1] ?? 'tenant-mail';
  const ses = new SesEmailSender(clients.ses, {
    configurationSetName: config.configurationSetName,
    messageIdDomain,
  });
  const suppressions = new DynamoSuppressionStore(documents, config.tables.suppressions);
  return {
    ledger: new DynamoMessageLedger(documents, {
      tableName: config.tables.messages,
      retentionDays: config.messageRetentionDays,
      leaseSeconds: config.leaseSeconds,
      clock,
    }),
    tenants: new DynamoTenantStore(documents, {
      tableName: config.tables.tenants,
      clock,
      ...(ttl !== undefined ? { cacheTtlSeconds: ttl } : {}),
    }),
    senders: {
      default: ses,
      advanced: ses,
      ...(clients.relay ? { 'external-smtp': new SmtpEmailSender(clients.relay, messageIdDomain) } : {}),
    },
    suppressions,
    identities: new CachedIdentities(
      new DynamoIdentityStore({ client: documents, tableName: config.tables.identities }),
      ttl,
      clock,
    ),
    governor: new DynamoRateGovernor({ client: documents, tableName: config.tables.counters }),
    sesQuota: new SesAccountQuota(clients.ses),
    sendFeedback: new SendFeedbackRecorder(
      new DynamoReputationStore(documents, config.tables.counters),
      suppressions,
      clock,
      config.simulatorCountsTowardReputation,
    ),
    // A file of its own in the deployed asset (LAZY_MODULES), required at the container's first deferral.
    lanes: new LazySendLanes(() =>
      (require('./send-email.lanes') as typeof import('./send-email.lanes')).createSendLanes(
        { transactional: config.sendQueueUrl, bulk: config.bulkSendQueueUrl },
        clients.sqs,
      ),
    ),
    clock,
    settings: {
      scope: config.scope,
      servedEnvironments: config.servedEnvironments,
      platformFromAddress: config.platformFromAddress,
      maxReceiveCount: config.maxReceiveCount,
    },
  };
}
