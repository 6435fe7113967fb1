import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateConfigurationSetCommand,
  CreateConfigurationSetEventDestinationCommand,
  CreateEmailIdentityCommand,
  SESv2Client,
} from '@aws-sdk/client-sesv2';
import { CreateTopicCommand, DeleteTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EXIT } from '../../../cli/exit-codes';
import { DynamoMessageLedger } from '../../../lambdas/adapters/message-ledger/dynamo-message-ledger';
import { DynamoReputationStore } from '../../../lambdas/adapters/reputation-store';
import { DynamoSuppressionStore } from '../../../lambdas/adapters/suppression-store';
import { DynamoTenantPauseStore } from '../../../lambdas/adapters/tenant-pause-store';
import { DynamoTenantStore } from '../../../lambdas/adapters/tenant-store';
import { DEFAULT_REPUTATION_CONFIG } from '../../../lambdas/domain/feedback/reputation-guard';
import { DEFAULT_SUPPRESSION_EXPIRY } from '../../../lambdas/domain/feedback/suppression-rules';
import {
  createProcessFeedbackHandler,
  SqsFeedbackDeadLetters,
} from '../../../lambdas/handlers/process-feedback';
import { createSendEmailHandler } from '../../../lambdas/handlers/send-email';
import { type LocalDnsServer, startLocalDnsServer } from '../../../local/dns/dns-server';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import { type SesEmulator, startSesEmulator } from '../../../local/ses';
import { createSqsPoller, type SqsPoller } from '../../../local/twin/sqs-poller';
import { type CliHarness, createCliHarness } from '../../support/cli-harness';
import { testAws, testStack } from '../../support/env';
import {
  TEST_CONFIGURATION_SET,
  TEST_PLATFORM_DOMAIN,
  testFeedbackTrust,
  testSenderDeps,
} from '../../support/sender-deps';

const run = Date.now().toString(36);
const tenantId = `fb-cli-${run}`;
const SIMULATOR = 'simulator.amazonses.com';

let dns: LocalDnsServer;
let ses: SesEmulator;
let harness: CliHarness;
const output = { stdout: [] as string[], stderr: [] as string[] };
let pollers: SqsPoller[] = [];
const sqs = new SQSClient(testAws.sqs);
const sns = new SNSClient(testAws.sqs);
const documents = DynamoDBDocumentClient.from(new DynamoDBClient(testAws.dynamodb), {
  marshallOptions: { removeUndefinedValues: true },
});
/** This file's own send lanes, feedback topic and queue, so no other test file consumes its mail or events. */
const queues: Record<'send' | 'bulk' | 'feedback', string> = { send: '', bulk: '', feedback: '' };
let topicArn = '';
const quiet = new Logger({ serviceName: 'tenant-mail', logLevel: 'ERROR' });
/** `tenant-mail <group> [name] --key value… --local` through cli/main.ts; output lines kept in `output`. */
async function cli(group: string, name: string, values: Record<string, string>): Promise<number> {
  const argv = [group, ...(name ? [name] : []), ...Object.entries(values).flatMap(([k, v]) => [`--${k}`, v])];
  const result = await harness.run(argv);
  output.stdout = result.stdout === '' ? [] : result.stdout.split('\n');
  output.stderr = result.stderr === '' ? [] : result.stderr.split('\n');
  return result.code;
}

beforeAll(async () => {
  for (const [key, name] of [
    ['send', `fb-cli-send-${run}`],
    ['bulk', `fb-cli-send-bulk-${run}`],
    ['feedback', `fb-cli-feedback-${run}`],
  ] as const) {
    queues[key] = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl ?? '';
  }
  topicArn = (await sns.send(new CreateTopicCommand({ Name: `fb-cli-events-${run}` }))).TopicArn ?? '';
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queues.feedback, AttributeNames: ['QueueArn'] }),
  );
  await sns.send(
    new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: Attributes?.QueueArn }),
  );

  dns = await startLocalDnsServer();
  ses = await startSesEmulator({
    dns,
    snsEndpoint: testAws.sqs.endpoint,
    dkimKeyBits: 1024,
    verificationRecheckMs: 100,
  });
  const sesClient = new SESv2Client({
    endpoint: ses.url,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  await sesClient.send(new CreateConfigurationSetCommand({ ConfigurationSetName: TEST_CONFIGURATION_SET }));
  await sesClient.send(
    new CreateConfigurationSetEventDestinationCommand({
      ConfigurationSetName: TEST_CONFIGURATION_SET,
      EventDestinationName: 'feedback-sns',
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: ['SEND', 'DELIVERY', 'BOUNCE', 'COMPLAINT'],
        SnsDestination: { TopicArn: topicArn },
      },
    }),
  );
  const identity = await sesClient.send(
    new CreateEmailIdentityCommand({ EmailIdentity: TEST_PLATFORM_DOMAIN }),
  );
  for (const token of identity.DkimAttributes?.Tokens ?? []) {
    dns.setRecords(`${token}._domainkey.${TEST_PLATFORM_DOMAIN}`, 'CNAME', [`${token}.dkim.amazonses.com`]);
  }
  await new DynamoTenantStore(documents, { tableName: testStack.table('tenants') }).put({
    tenantId,
    displayName: 'Selftest Co',
    profileEmail: 'ops@selftest.example',
    environments: { 'developer-sandbox': { method: 'default' } },
  });

  // The sender and the feedback Lambda, as the event source mappings run them.
  const sender = createSendEmailHandler(
    testSenderDeps({ ses: sesClient, lanes: { transactional: queues.send, bulk: queues.bulk } }),
    quiet,
  );
  const feedback = createProcessFeedbackHandler(
    {
      messages: new DynamoMessageLedger(documents, { tableName: testStack.table('messages') }),
      suppressions: new DynamoSuppressionStore(documents, testStack.table('suppressions')),
      reputation: new DynamoReputationStore(documents, testStack.table('counters')),
      pauses: new DynamoTenantPauseStore(documents, testStack.table('tenants')),
      deadLetters: new SqsFeedbackDeadLetters(sqs, testStack.queueUrl('feedback-dlq')),
      alerts: { emit: () => undefined },
      clock: { now: () => new Date() },
      settings: {
        reputation: DEFAULT_REPUTATION_CONFIG,
        suppressionExpiry: DEFAULT_SUPPRESSION_EXPIRY,
        simulatorCountsTowardReputation: false,
        trust: { ...testFeedbackTrust(), topicArn },
      },
    },
    quiet,
  );
  pollers = [
    createSqsPoller(sqs, sender, { queueUrl: queues.send, queueArn: 'arn:aws:sqs:local:cli-send' }),
    createSqsPoller(sqs, sender, { queueUrl: queues.bulk, queueArn: 'arn:aws:sqs:local:cli-send-bulk' }),
    createSqsPoller(sqs, feedback, { queueUrl: queues.feedback, queueArn: 'arn:aws:sqs:local:cli-feedback' }),
  ];
  for (const poller of pollers) poller.start();

  harness = await createCliHarness({
    ses: ses.url,
    queues: { 'tenant-mail-dev-send': queues.send, 'tenant-mail-dev-send-bulk': queues.bulk },
  });
  sesClient.destroy();
});

afterAll(async () => {
  for (const poller of pollers) await poller.stop();
  await harness.stop();
  await ses.stop();
  await dns.stop();
  await sns.send(new DeleteTopicCommand({ TopicArn: topicArn }));
  for (const QueueUrl of Object.values(queues)) await sqs.send(new DeleteQueueCommand({ QueueUrl }));
  sqs.destroy();
  sns.destroy();
  documents.destroy();
});

describe('tenant-mail selftest, suppression and pause commands', () => {
  it('selftest reports what came back for each simulator address, exits 0, and leaves the reputation untouched', async () => {
    expect(await cli('selftest', '', { tenant: tenantId, env: 'developer-sandbox', timeout: '60' })).toBe(
      EXIT.OK,
    );
    const report = output.stdout.join('\n');
    expect(report).toMatch(/^success\s+DELIVERED\s+DELIVERED\s+ok/m);
    expect(report).toMatch(/^bounce\s+BOUNCED\s+BOUNCED\s+ok/m);
    expect(report).toMatch(/^complaint\s+COMPLAINED\s+COMPLAINED\s+ok/m);
    expect(report).toMatch(/^ooto\s+DELIVERED\s+DELIVERED\s+ok/m);
    expect(report).toMatch(/^suppressionlist\s+SUPPRESSED\s+SUPPRESSED\s+ok/m);
    expect(report).toContain('self-test passed');
    // Progress lines were printed while waiting.
    expect(report).toMatch(/^ {2}bounce: BOUNCED$/m);
    expect(
      await new DynamoReputationStore(documents, testStack.table('counters')).readWindow(
        tenantId,
        new Date(),
        168,
      ),
    ).toEqual({ sends: 0, bounces: 0, complaints: 0 });

    expect(await cli('suppression', 'list', { tenant: tenantId })).toBe(EXIT.OK);
    const listed = output.stdout.join('\n');
    expect(listed).toMatch(
      new RegExp(`^bounce\\+selftest-\\w+@${SIMULATOR.replaceAll('.', '\\.')}\\s+PERMANENT_BOUNCE`, 'm'),
    );
    expect(listed).toMatch(/^complaint\+selftest-\S+\s+COMPLAINT\s+\S+\s+never/m);
    expect(listed).toMatch(/^suppressionlist\+selftest-\S+\s+SES_ACCOUNT_SUPPRESSION/m);
  });

  it('adds and removes a manual suppression', async () => {
    expect(
      await cli('suppression', 'add', {
        tenant: tenantId,
        address: 'Someone@Example.com',
        note: 'asked by phone',
      }),
    ).toBe(EXIT.OK);
    expect(output.stdout).toEqual([`suppressed someone@example.com for ${tenantId}`]);
    await cli('suppression', 'list', { tenant: tenantId });
    expect(output.stdout.join('\n')).toMatch(/^someone@example\.com\s+MANUAL\s+\S+\s+never/m);
    expect(await cli('suppression', 'remove', { tenant: tenantId, address: 'someone@example.com' })).toBe(
      EXIT.OK,
    );
    await cli('suppression', 'list', { tenant: tenantId });
    expect(output.stdout.join('\n')).not.toContain('someone@example.com');
  });

  it('selftest of a paused tenant exits 1 naming the pause; resume releases the held mail and it is sent', async () => {
    expect(await cli('tenant', 'pause', { tenant: tenantId, reason: 'list cleanup' })).toBe(EXIT.OK);
    expect(output.stdout).toEqual([`paused ${tenantId} in developer-sandbox (takes effect within 30 s)`]);

    expect(await cli('selftest', '', { tenant: tenantId, env: 'developer-sandbox', timeout: '30' })).toBe(
      EXIT.CHECK_FAILED,
    );
    const report = output.stdout.join('\n');
    expect(report).toMatch(/^success\s+DELIVERED\s+PAUSED\s+UNEXPECTED\s+held: operator: list cleanup/m);
    expect(report).toContain(`the tenant is paused: see \`tenant-mail tenant resume --tenant ${tenantId}\``);
    expect(report).toContain('self-test FAILED');

    expect(await cli('tenant', 'resume', { tenant: tenantId })).toBe(EXIT.OK);
    expect(output.stdout.join('\n')).toMatch(
      new RegExp(
        `^resumed ${tenantId} in developer-sandbox\\nreleased 5 held message\\(s\\) to the send queues\\nreputation \\(default thresholds\\): ok`,
      ),
    );
    // The background sender picks the released mail up from the send queue; an email deferred for the SES
    // account's rate comes back through this file's own queue some seconds later.
    const secondRun = /run (selftest-\w+)\)/.exec(report)?.[1];
    const released = () =>
      ses.store.messages.filter((m) => m.destination.some((d) => d.includes(`+${secondRun}@`)));
    for (let i = 0; i < 600 && released().length < 5; i += 1) await new Promise((r) => setTimeout(r, 100));
    expect(released()).toHaveLength(5);
  }, 120_000);

  it('names a missing tenant with exit 3 and refuses a bad address with a usage error', async () => {
    expect(await cli('tenant', 'resume', { tenant: `nobody-${run}` })).toBe(EXIT.NOT_FOUND);
    expect(output.stderr).toEqual([`error: tenant "nobody-${run}" does not exist in this scope`]);
    expect(await cli('suppression', 'add', { tenant: tenantId, address: 'not-an-address' })).toBe(EXIT.USAGE);
    expect(output.stderr[0]).toBe('error: not-an-address is not an email address');
  });
});
