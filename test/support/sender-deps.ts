import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { FeedbackTrust } from '../../lambdas/domain/feedback/feedback-trust';
import type { RateGovernor } from '../../lambdas/domain/rate-limit/rate-limits';
import type { SendEmailDeps } from '../../lambdas/domain/sending/send-email';
import type { RelaySender } from '../../lambdas/domain/smtp/relay-sender';
import { senderDeps } from '../../lambdas/handlers/send-email.deps';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../../local/emulators/local-aws';
import { testAws, testStack } from './env';

export const TEST_PLATFORM_DOMAIN = 'mail-dev.example-platform.com';
export const TEST_CONFIGURATION_SET = 'tenant-mail-dev';

export interface TestSenderOptions {
  /** SES client pointed at an SES emulator. */
  readonly ses: SESv2Client;
  /** Relay sender for external-smtp tenants (e.g. a NodemailerRelaySender trusting the test relay's CA). */
  readonly relay?: RelaySender;
  readonly clock?: { now(): Date };
  /** Count mail to the SES mailbox simulator toward reputation, as real mail counts. @default false */
  readonly simulatorCountsTowardReputation?: boolean;
  /**
   * The send queues the sender defers to. A test that polls queues of its own passes them, so a deferral (for the
   * SES account's rate or a relay's limit) comes back to its poller rather than to the scope's shared queue.
   * @default the dev scope's provisioned `send` and `send-bulk` queues
   */
  readonly lanes?: { readonly transactional: string; readonly bulk: string };
}

/**
 * The sender wired as deployed (`senderDeps`), against the emulators and the dev scope's provisioned tables and
 * queues, with caches off so tests see their own writes at once. Each SES emulator is an SES account of its own,
 * so the governor keeps the account's rate per SES client (`ses#<id>` instead of the scope's one `ses`): test files
 * running at once share the counters table, not each other's sending rate.
 */
export function testSenderDeps(options: TestSenderOptions): SendEmailDeps {
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient(testAws.dynamodb), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const deps = senderDeps(
    {
      scope: 'dev',
      servedEnvironments: ['developer-sandbox', 'central-sandbox'],
      platformFromAddress: `notifications@${TEST_PLATFORM_DOMAIN}`,
      configurationSetName: TEST_CONFIGURATION_SET,
      messageRetentionDays: 30,
      maxReceiveCount: 5,
      leaseSeconds: 120,
      simulatorCountsTowardReputation: options.simulatorCountsTowardReputation ?? false,
      sendQueueUrl: options.lanes?.transactional ?? testStack.queueUrl('send'),
      bulkSendQueueUrl: options.lanes?.bulk ?? testStack.queueUrl('send-bulk'),
      tables: {
        tenants: testStack.table('tenants'),
        messages: testStack.table('messages'),
        suppressions: testStack.table('suppressions'),
        identities: testStack.table('identities'),
        counters: testStack.table('counters'),
      },
    },
    {
      documents,
      ses: options.ses,
      sqs: new SQSClient(testAws.sqs),
      ...(options.relay ? { relay: options.relay } : {}),
    },
    { cacheTtlSeconds: 0, ...(options.clock ? { clock: options.clock } : {}) },
  );
  return { ...deps, governor: ownSesAccount(deps.governor, options.ses) };
}

const sesAccounts = new WeakMap<SESv2Client, string>();

/** `governor` with the SES account's capacity keyed by the SES client it sends through. */
function ownSesAccount(governor: RateGovernor, ses: SESv2Client): RateGovernor {
  let account = sesAccounts.get(ses);
  if (account === undefined) {
    account = randomUUID();
    sesAccounts.set(ses, account);
  }
  const key = `ses#${account}`;
  return { reserve: (request) => governor.reserve(request.key === 'ses' ? { ...request, key } : request) };
}

/** What genuine feedback from the SES emulator looks like in the dev scope the global setup provisioned. */
export function testFeedbackTrust(): FeedbackTrust {
  return {
    topicArn: testStack.topicArn('ses-events'),
    accountId: LOCAL_ACCOUNT,
    region: LOCAL_REGION,
    configurationSetName: TEST_CONFIGURATION_SET,
  };
}
