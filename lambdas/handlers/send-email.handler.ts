import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoMessageLedger } from '../adapters/message-ledger';
import { SesEmailSender } from '../adapters/ses-email-sender';
import { SqsDeferralQueue } from '../adapters/sqs-deferral-queue';
import { DynamoTenantStore } from '../adapters/tenant-store';
import { loadSenderConfig } from '../shared/config';
import { createSendEmailHandler } from './send-email';

// Composition root: configuration and clients are created once per container, at cold start.
const config = loadSenderConfig();
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
const ses = new SesEmailSender(new SESv2Client({}), {
  configurationSetName: config.configurationSetName,
  messageIdDomain: config.platformFromAddress.split('@')[1] ?? 'tenant-mail',
});

export const handler = createSendEmailHandler({
  ledger: new DynamoMessageLedger(documents, {
    tableName: config.tables.messages,
    retentionDays: config.messageRetentionDays,
  }),
  tenants: new DynamoTenantStore(documents, { tableName: config.tables.tenants }),
  senders: { default: ses },
  deferrals: new SqsDeferralQueue(new SQSClient({}), config.sendQueueUrl),
  clock: { now: () => new Date() },
  settings: {
    servedEnvironments: config.servedEnvironments,
    platformFromAddress: config.platformFromAddress,
    maxReceiveCount: config.maxReceiveCount,
  },
});
