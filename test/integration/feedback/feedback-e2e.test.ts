import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateConfigurationSetCommand,
  CreateConfigurationSetEventDestinationCommand,
  CreateEmailIdentityCommand,
  GetEmailIdentityCommand,
  SESv2Client,
} from '@aws-sdk/client-sesv2';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import { DynamoMessageLedger } from '../../../lambdas/adapters/message-ledger/dynamo-message-ledger';
import { DynamoReputationStore } from '../../../lambdas/adapters/reputation-store';
import { SqsSendLanes } from '../../../lambdas/adapters/sqs-send-lanes';
import { DynamoSuppressionStore } from '../../../lambdas/adapters/suppression-store';
import { DynamoTenantPauseStore } from '../../../lambdas/adapters/tenant-pause-store';
import { DynamoTenantStore } from '../../../lambdas/adapters/tenant-store';
import {
  DEFAULT_REPUTATION_CONFIG,
  type ReputationConfig,
  reputationConfig,
} from '../../../lambdas/domain/feedback/reputation-guard';
import { DEFAULT_SUPPRESSION_EXPIRY } from '../../../lambdas/domain/feedback/suppression-rules';
import { resumeTenant } from '../../../lambdas/domain/feedback/tenant-pause';
import { messageIdFor } from '../../../lambdas/domain/sending/send-request';
import {
  createProcessFeedbackHandler,
  SqsFeedbackDeadLetters,
} from '../../../lambdas/handlers/process-feedback';
import { createSendEmailHandler } from '../../../lambdas/handlers/send-email';
import { type LocalDnsServer, startLocalDnsServer } from '../../../local/dns/dns-server';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import { type SesEmulator, startSesEmulator } from '../../../local/ses';
import { createSqsPoller } from '../../../local/twin/sqs-poller';
import { testAws, testStack } from '../../support/env';
import {
  TEST_CONFIGURATION_SET,
  TEST_PLATFORM_DOMAIN,
  testFeedbackTrust,
  testSenderDeps,
} from '../../support/sender-deps';

const run = Date.now().toString(36);
const tenantA = `fb-e2e-a-${run}`;
const tenantB = `fb-e2e-b-${run}`;
const SIMULATOR = 'simulator.amazonses.com';

let dns: LocalDnsServer;
let ses: SesEmulator;
let sesClient: SESv2Client;
const sqs = new SQSClient(testAws.sqs);
const sns = new SNSClient(testAws.sqs);
const documents = DynamoDBDocumentClient.from(new DynamoDBClient(testAws.dynamodb), {
  marshallOptions: { removeUndefinedValues: true },
});
const tenants = () =>
  new DynamoTenantStore(documents, { tableName: testStack.table('tenants'), cacheTtlSeconds: 0 });
const suppressions = () => new DynamoSuppressionStore(documents, testStack.table('suppressions'));
const reputation = () => new DynamoReputationStore(documents, testStack.table('counters'));
const pauses = () => new DynamoTenantPauseStore(documents, testStack.table('tenants'));
/** Private send lanes: the dev scope's send queue is purged by the sender's own tests. */
const lanes = { transactional: '', bulk: '' };
const alerts: { tenantId: string; level: string }[] = [];

beforeAll(async () => {
  dns = await startLocalDnsServer();
  ses = await startSesEmulator({
    dns,
    snsEndpoint: testAws.sqs.endpoint,
    dkimKeyBits: 1024,
    verificationRecheckMs: 100,
  });
  sesClient = new SESv2Client({ endpoint: ses.url, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  // As the twin provisions the stack's configuration set and its SNS event destination.
  await sesClient.send(new CreateConfigurationSetCommand({ ConfigurationSetName: TEST_CONFIGURATION_SET }));
  await sesClient.send(
    new CreateConfigurationSetEventDestinationCommand({
      ConfigurationSetName: TEST_CONFIGURATION_SET,
      EventDestinationName: 'feedback-sns',
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: [
          'SEND',
          'DELIVERY',
          'BOUNCE',
          'COMPLAINT',
          'DELIVERY_DELAY',
          'REJECT',
          'RENDERING_FAILURE',
        ],
        SnsDestination: { TopicArn: testStack.topicArn('ses-events') },
      },
    }),
  );
  const identity = await sesClient.send(
    new CreateEmailIdentityCommand({ EmailIdentity: TEST_PLATFORM_DOMAIN }),
  );
  for (const token of identity.DkimAttributes?.Tokens ?? []) {
    dns.setRecords(`${token}._domainkey.${TEST_PLATFORM_DOMAIN}`, 'CNAME', [`${token}.dkim.amazonses.com`]);
  }
  const verified = await sesClient.send(new GetEmailIdentityCommand({ EmailIdentity: TEST_PLATFORM_DOMAIN }));
  expect(verified.VerifiedForSendingStatus).toBe(true);
  for (const [tenantId, displayName] of [
    [tenantA, 'Feedback A'],
    [tenantB, 'Feedback B'],
  ]) {
    await tenants().put({
      tenantId,
      displayName,
      profileEmail: 'billing@feedback.example',
      environments: { 'developer-sandbox': { method: 'default' } },
    });
  }
  for (const lane of ['transactional', 'bulk'] as const) {
    const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: `fb-e2e-${lane}-${run}` }));
    lanes[lane] = QueueUrl;
  }
});

afterAll(async () => {
  for (const QueueUrl of Object.values(lanes))
    if (QueueUrl) await sqs.send(new DeleteQueueCommand({ QueueUrl }));
  sesClient.destroy();
  await ses.stop();
  await dns.stop();
  sqs.destroy();
  sns.destroy();
  documents.destroy();
});

const quiet = new Logger({ serviceName: 'tenant-mail', logLevel: 'ERROR' });

async function send(tenantId: string, to: string, key: string): Promise<string> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: lanes.transactional,
      MessageBody: JSON.stringify({
        tenantId,
        environment: 'developer-sandbox',
        to: [to],
        subject: `Invoice for ${to}`,
        text: 'Your invoice is ready.',
        idempotencyKey: key,
      }),
    }),
  );
  return messageIdFor(tenantId, key);
}

async function drainSendQueue(): Promise<void> {
  // The simulator stands in for real mailboxes here: the sender counts its sends as it would count real ones.
  const handler = createSendEmailHandler(
    testSenderDeps({ ses: sesClient, simulatorCountsTowardReputation: true, lanes }),
    quiet,
  );
  await createSqsPoller(sqs, handler, {
    queueUrl: lanes.transactional,
    queueArn: 'arn:aws:sqs:local:e2e-send',
  }).drain();
}

/**
 * Runs the feedback handler on the dev scope's `feedback` queue (SNS → SQS, envelope delivery) until it is
 * empty. The queue is shared by the test run: only records of this file's run go to the handler, the others
 * are acknowledged.
 */
async function drainFeedback(config: ReputationConfig): Promise<void> {
  await ses.settled();
  const handler = createProcessFeedbackHandler(
    {
      messages: new DynamoMessageLedger(documents, { tableName: testStack.table('messages') }),
      suppressions: suppressions(),
      reputation: reputation(),
      pauses: pauses(),
      deadLetters: new SqsFeedbackDeadLetters(sqs, testStack.queueUrl('feedback-dlq')),
      alerts: { emit: (tenantId, level) => alerts.push({ tenantId, level }) },
      clock: { now: () => new Date() },
      settings: {
        reputation: config,
        suppressionExpiry: DEFAULT_SUPPRESSION_EXPIRY,
        // The simulator stands in for real mailboxes here, so its bounces count as real ones would.
        simulatorCountsTowardReputation: true,
        trust: testFeedbackTrust(),
      },
    },
    quiet,
  );
  const ours = async (event: SQSEvent, context: Context) => {
    const records = event.Records.filter((record) => record.body.includes(run));
    return records.length > 0 ? handler({ Records: records }, context) : { batchItemFailures: [] };
  };
  await createSqsPoller(sqs, ours, {
    queueUrl: testStack.queueUrl('feedback'),
    queueArn: 'arn:aws:sqs:local:feedback',
  }).drain(3);
}

const record = async (messageId: string) =>
  (await documents.send(new GetCommand({ TableName: testStack.table('messages'), Key: { messageId } }))).Item;
const statuses = (item: Record<string, unknown> | undefined) =>
  ((item?.timeline ?? []) as { status?: string }[]).map((entry) => entry.status);
/** The feedback events applied to a record, in arrival order (its timeline lines that name one). */
const events = (item: Record<string, unknown> | undefined) =>
  ((item?.timeline ?? []) as { event?: string }[]).flatMap((entry) => (entry.event ? [entry.event] : []));
const sentTo = (address: string) =>
  ses.store.messages.filter((message) => message.destination.includes(address));

describe('feedback end to end: SES emulator → SNS → SQS → feedback Lambda', () => {
  const ids: Record<string, string> = {};

  it('records the timeline, suppression entries and counters for each simulator address', async () => {
    for (const local of ['success', 'bounce', 'complaint', 'ooto', 'suppressionlist']) {
      ids[local] = await send(tenantA, `${local}@${SIMULATOR}`, `${local}-${run}`);
    }
    await drainSendQueue();
    await drainFeedback(DEFAULT_REPUTATION_CONFIG);

    expect(await record(ids.success ?? '')).toMatchObject({ status: 'DELIVERED' });
    // The sender's entries, then the Delivery: SES's Send event came after the sender recorded SENT, so it added
    // nothing to the record.
    expect(statuses(await record(ids.success ?? ''))).toEqual(['SENDING', 'SENT', 'DELIVERED']);
    expect(events(await record(ids.success ?? ''))).toEqual(['Delivery']);
    expect(await record(ids.bounce ?? '')).toMatchObject({ status: 'BOUNCED' });
    expect(statuses(await record(ids.bounce ?? ''))).toContain('BOUNCED');
    expect(await record(ids.complaint ?? '')).toMatchObject({ status: 'COMPLAINED' });
    // The events that decided those statuses are kept whole beside their records (for `message show`); a
    // delivered email keeps none.
    const kept = new DynamoMessageLedger(documents, { tableName: testStack.table('messages') });
    expect(JSON.parse((await kept.feedbackEvent(ids.bounce ?? '')) ?? '{}')).toMatchObject({
      eventType: 'Bounce',
      bounce: { bounceType: 'Permanent', bouncedRecipients: [{ emailAddress: `bounce@${SIMULATOR}` }] },
    });
    expect(JSON.parse((await kept.feedbackEvent(ids.complaint ?? '')) ?? '{}')).toMatchObject({
      eventType: 'Complaint',
    });
    expect(await kept.feedbackEvent(ids.success ?? '')).toBeUndefined();
    expect(statuses(await record(ids.complaint ?? ''))).toEqual(
      expect.arrayContaining(['SENT', 'DELIVERED', 'COMPLAINED']),
    );
    expect(await record(ids.ooto ?? '')).toMatchObject({ status: 'DELIVERED' });
    expect(await record(ids.suppressionlist ?? '')).toMatchObject({ status: 'SUPPRESSED' });

    const listed = await suppressions().list(tenantA, { limit: 100 });
    expect(
      Object.fromEntries(listed.items.map((entry) => [entry.address, [entry.reason, entry.sourceMessageId]])),
    ).toEqual({
      [`bounce@${SIMULATOR}`]: ['PERMANENT_BOUNCE', ids.bounce],
      [`complaint@${SIMULATOR}`]: ['COMPLAINT', ids.complaint],
      [`suppressionlist@${SIMULATOR}`]: ['SES_ACCOUNT_SUPPRESSION', ids.suppressionlist],
    });
    // Five sends (counted by the sender as SES accepted them); the suppression-list bounce is not counted (SES
    // does not count it either).
    expect(await reputation().readWindow(tenantA, new Date(), 168)).toEqual({
      sends: 5,
      bounces: 1,
      complaints: 1,
    });
    // Below the minimum sample of 2,000 sends: 0.05 % complaints is a warning, not a pause.
    expect(alerts.filter((alert) => alert.tenantId === tenantA).map((alert) => alert.level)).toContain(
      'warn',
    );
    expect((await tenants().get(tenantA))?.environments['developer-sandbox']?.paused).toBeUndefined();
  });

  it('does not send a later email to a suppressed address', async () => {
    const messageId = await send(tenantA, `bounce@${SIMULATOR}`, `bounce-again-${run}`);
    await drainSendQueue();
    expect(await record(messageId)).toMatchObject({ status: 'SUPPRESSED', reasonCode: 'SUPPRESSED' });
    expect(sentTo(`bounce@${SIMULATOR}`)).toHaveLength(1);
  });

  it('dead-letters malformed feedback with its reason instead of retrying it', async () => {
    await sns.send(
      new PublishCommand({ TopicArn: testStack.topicArn('ses-events'), Message: `not an SES event ${run}` }),
    );
    await drainFeedback(DEFAULT_REPUTATION_CONFIG);
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: testStack.queueUrl('feedback-dlq'),
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 1,
      }),
    );
    const ours = Messages.find((message) => message.Body?.includes(run));
    expect(ours?.MessageAttributes?.code?.StringValue).toBe('MALFORMED_FEEDBACK');
    expect(ours?.MessageAttributes?.reason?.StringValue).toBe('SNS Message is not JSON');
  });

  it('holds a tenant that crossed the pause threshold as PAUSED and sends its mail on resume', async () => {
    const small = reputationConfig({ minimumSends: 10 });
    await send(tenantB, `success+b@${SIMULATOR}`, `b-success-${run}`);
    await send(tenantB, `bounce+b@${SIMULATOR}`, `b-bounce-${run}`);
    await drainSendQueue();
    await drainFeedback(small);

    // 1 permanent bounce over the minimum sample of 10 sends: 10 %, above the 4 % pause level.
    expect(alerts).toContainEqual({ tenantId: tenantB, level: 'pause' });
    const paused = (await tenants().get(tenantB))?.environments['developer-sandbox']?.paused;
    expect(paused?.reason).toMatch(
      /^reputation guard: bounce rate 10 % \(1 assessed against the minimum sample of 10/,
    );

    const held = await send(tenantB, `success+held@${SIMULATOR}`, `b-held-${run}`);
    await drainSendQueue();
    expect(await record(held)).toMatchObject({ status: 'PAUSED', reasonCode: 'TENANT_PAUSED' });
    expect(sentTo(`success+held@${SIMULATOR}`)).toHaveLength(0);

    const release = {
      pauses: pauses(),
      ledger: new DynamoMessageLedger(documents, { tableName: testStack.table('messages') }),
      lanes: new SqsSendLanes(sqs, { queueUrls: lanes }),
    };
    expect(await resumeTenant(tenantB, release)).toEqual({
      tenantId: tenantB,
      resumed: ['developer-sandbox'],
      released: 1,
      skipped: 0,
    });
    await drainSendQueue();
    expect(sentTo(`success+held@${SIMULATOR}`)).toHaveLength(1);
    await drainFeedback(small);
    expect(await record(held)).toMatchObject({ status: 'DELIVERED' });
    expect(statuses(await record(held)).slice(0, 5)).toEqual([
      'SENDING',
      'PAUSED',
      'QUEUED',
      'SENDING',
      'SENT',
    ]);
    expect(events(await record(held))).toEqual(['Delivery']);
    expect((await record(held))?.feedback).toBeUndefined();
  });
});
