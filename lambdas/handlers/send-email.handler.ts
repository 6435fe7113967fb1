import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CachedIdentities } from '../adapters/cached-identities';
import { DynamoIdentityStore } from '../adapters/identity-store';
import { DynamoMessageLedger } from '../adapters/message-ledger';
import { DynamoRateGovernor } from '../adapters/rate-governor-store';
import { RelayFeedbackRecorder } from '../adapters/relay-feedback-recorder';
import { DynamoReputationStore } from '../adapters/reputation-store';
import { SecretsManagerSecretStore } from '../adapters/secrets/secrets-manager-secret-store';
import { SesEmailSender } from '../adapters/ses-email-sender';
import { NodemailerRelaySender } from '../adapters/smtp/nodemailer-relay-sender';
import { SmtpEmailSender } from '../adapters/smtp-email-sender';
import { SqsDeferralQueue } from '../adapters/sqs-deferral-queue';
import { DynamoSuppressionStore } from '../adapters/suppression-store';
import { DynamoTenantStore } from '../adapters/tenant-store';
import { loadSenderConfig } from '../shared/config';
import { createSendEmailHandler } from './send-email';

// Composition root: configuration and clients are created once per container, at cold start.
const config = loadSenderConfig();
const clock = { now: () => new Date() };
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
const messageIdDomain = config.platformFromAddress.split('@')[1] ?? 'tenant-mail';
const ses = new SesEmailSender(new SESv2Client({}), {
  configurationSetName: config.configurationSetName,
  messageIdDomain,
});
const relay = new NodemailerRelaySender({
  secrets: new SecretsManagerSecretStore({ client: new SecretsManagerClient({}) }),
});
const suppressions = new DynamoSuppressionStore(documents, config.tables.suppressions);

export const handler = createSendEmailHandler({
  ledger: new DynamoMessageLedger(documents, {
    tableName: config.tables.messages,
    retentionDays: config.messageRetentionDays,
  }),
  tenants: new DynamoTenantStore(documents, { tableName: config.tables.tenants }),
  senders: { default: ses, advanced: ses, 'external-smtp': new SmtpEmailSender(relay, messageIdDomain) },
  suppressions,
  identities: new CachedIdentities(
    new DynamoIdentityStore({ client: documents, tableName: config.tables.identities }),
  ),
  governor: new DynamoRateGovernor({ client: documents, tableName: config.tables.counters }),
  relayFeedback: new RelayFeedbackRecorder(
    new DynamoReputationStore(documents, config.tables.counters),
    suppressions,
    clock,
  ),
  deferrals: new SqsDeferralQueue(new SQSClient({}), {
    transactional: config.sendQueueUrl,
    bulk: config.bulkSendQueueUrl,
  }),
  clock,
  settings: {
    scope: config.scope,
    servedEnvironments: config.servedEnvironments,
    platformFromAddress: config.platformFromAddress,
    maxReceiveCount: config.maxReceiveCount,
  },
});
