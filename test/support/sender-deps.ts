import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CachedIdentities } from '../../lambdas/adapters/cached-identities';
import { DynamoIdentityStore } from '../../lambdas/adapters/identity-store';
import { DynamoMessageLedger } from '../../lambdas/adapters/message-ledger';
import { DynamoRateGovernor } from '../../lambdas/adapters/rate-governor-store';
import { RelayFeedbackRecorder } from '../../lambdas/adapters/relay-feedback-recorder';
import { DynamoReputationStore } from '../../lambdas/adapters/reputation-store';
import { SesEmailSender } from '../../lambdas/adapters/ses-email-sender';
import { SmtpEmailSender } from '../../lambdas/adapters/smtp-email-sender';
import { SqsDeferralQueue } from '../../lambdas/adapters/sqs-deferral-queue';
import { DynamoSuppressionStore } from '../../lambdas/adapters/suppression-store';
import { DynamoTenantStore } from '../../lambdas/adapters/tenant-store';
import type { SendEmailDeps } from '../../lambdas/domain/sending/send-email';
import type { RelaySender } from '../../lambdas/domain/smtp/relay-sender';
import { testAws, testStack } from './env';

export const TEST_PLATFORM_DOMAIN = 'mail-dev.example-platform.com';
export const TEST_CONFIGURATION_SET = 'tenant-mail-dev';

export interface TestSenderOptions {
  /** SES client pointed at an SES emulator. */
  readonly ses: SESv2Client;
  /** Relay sender for external-smtp tenants (e.g. a NodemailerRelaySender trusting the test relay's CA). */
  readonly relay?: RelaySender;
  readonly clock?: { now(): Date };
}

/**
 * The sender's dependencies wired as `send-email.handler.ts` wires them, but against the emulators and the dev
 * scope's provisioned tables and queues, with caches off so tests see their own writes at once.
 */
export function testSenderDeps(options: TestSenderOptions): SendEmailDeps {
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient(testAws.dynamodb), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const clock = options.clock ?? { now: () => new Date() };
  const suppressions = new DynamoSuppressionStore(documents, testStack.table('suppressions'));
  const ses = new SesEmailSender(options.ses, {
    configurationSetName: TEST_CONFIGURATION_SET,
    messageIdDomain: TEST_PLATFORM_DOMAIN,
  });
  return {
    ledger: new DynamoMessageLedger(documents, {
      tableName: testStack.table('messages'),
      retentionDays: 30,
      clock,
    }),
    tenants: new DynamoTenantStore(documents, { tableName: testStack.table('tenants'), cacheTtlSeconds: 0 }),
    senders: {
      default: ses,
      advanced: ses,
      ...(options.relay ? { 'external-smtp': new SmtpEmailSender(options.relay, TEST_PLATFORM_DOMAIN) } : {}),
    },
    suppressions,
    identities: new CachedIdentities(
      new DynamoIdentityStore({ client: documents, tableName: testStack.table('identities') }),
      0,
    ),
    governor: new DynamoRateGovernor({ client: documents, tableName: testStack.table('counters') }),
    relayFeedback: new RelayFeedbackRecorder(
      new DynamoReputationStore(documents, testStack.table('counters')),
      suppressions,
      clock,
    ),
    deferrals: new SqsDeferralQueue(new SQSClient(testAws.sqs), {
      transactional: testStack.queueUrl('send'),
      bulk: testStack.queueUrl('send-bulk'),
    }),
    clock,
    settings: {
      scope: 'dev',
      servedEnvironments: ['developer-sandbox', 'central-sandbox'],
      platformFromAddress: `notifications@${TEST_PLATFORM_DOMAIN}`,
      maxReceiveCount: 5,
    },
  };
}
