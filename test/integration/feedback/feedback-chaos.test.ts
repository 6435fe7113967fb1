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
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoMessageLedger } from '../../../lambdas/adapters/message-ledger/dynamo-message-ledger';
import { DynamoReputationStore } from '../../../lambdas/adapters/reputation-store';
import { DynamoSuppressionStore } from '../../../lambdas/adapters/suppression-store';
import { DynamoTenantPauseStore } from '../../../lambdas/adapters/tenant-pause-store';
import { DynamoTenantStore } from '../../../lambdas/adapters/tenant-store';
import { DEFAULT_REPUTATION_CONFIG } from '../../../lambdas/domain/feedback/reputation-guard';
import { DEFAULT_SUPPRESSION_EXPIRY } from '../../../lambdas/domain/feedback/suppression-rules';
import { messageIdFor } from '../../../lambdas/domain/sending/send-request';
import {
  createProcessFeedbackHandler,
  SqsFeedbackDeadLetters,
} from '../../../lambdas/handlers/process-feedback';
import { createSendEmailHandler } from '../../../lambdas/handlers/send-email';
import { LOCAL_ACCOUNT, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import {
  EICAR,
  EVENTS_CHAOS,
  type EventDeliveryOptions,
  type SesEmulator,
  startSesEmulator,
} from '../../../local/ses';
import { createSqsPoller } from '../../../local/twin/sqs-poller';
import { testAws, testStack } from '../../support/env';
import { TEST_CONFIGURATION_SET, TEST_PLATFORM_DOMAIN, testSenderDeps } from '../../support/sender-deps';

const EMAILS = 1000;
const SIMULATOR = 'simulator.amazonses.com';
/** Recipient kinds, by `i % 10`: mostly deliveries, and every event type SES publishes for sent mail. */
const KINDS = [
  'success',
  'success',
  'success',
  'bounce',
  'complaint',
  'ooto',
  'suppressionlist',
  'deliverydelay',
  'success',
  'virus',
] as const;
const recipient = (i: number) => {
  const kind = KINDS[i % KINDS.length] ?? 'success';
  return `${kind === 'virus' ? 'success' : kind}+${i}@${SIMULATOR}`;
};

const run = `chaos-${process.pid}-${Date.now().toString(36)}`;
const quiet = new Logger({ serviceName: 'tenant-mail', logLevel: 'ERROR' });
const sqs = new SQSClient(testAws.sqs);
const sns = new SNSClient(testAws.sqs);
const documents = DynamoDBDocumentClient.from(new DynamoDBClient(testAws.dynamodb), {
  marshallOptions: { removeUndefinedValues: true },
});
const ledger = new DynamoMessageLedger(documents, { tableName: testStack.table('messages') });
const suppressions = new DynamoSuppressionStore(documents, testStack.table('suppressions'));
const reputation = new DynamoReputationStore(documents, testStack.table('counters'));
const cleanup: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
  sqs.destroy();
  sns.destroy();
  documents.destroy();
});

/** One scope's feedback path of its own: SNS topic → SQS queue (1 s visibility, so retries come fast) → DLQ. */
async function feedbackPath(name: string): Promise<{ topicArn: string; queueUrl: string; dlqUrl: string }> {
  const { TopicArn = '' } = await sns.send(new CreateTopicCommand({ Name: name }));
  const { QueueUrl: dlqUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  const { QueueUrl: queueUrl = '' } = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: '1',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }),
      },
    }),
  );
  const queueArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: queueArn }));
  cleanup.push(() => sns.send(new DeleteTopicCommand({ TopicArn })));
  cleanup.push(() => sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })));
  cleanup.push(() => sqs.send(new DeleteQueueCommand({ QueueUrl: dlqUrl })));
  return { topicArn: TopicArn, queueUrl, dlqUrl };
}

interface RunResult {
  readonly statuses: Record<string, string>;
  readonly suppressed: Record<string, string>;
  readonly counters: unknown;
  readonly ses: SesEmulator;
}

/**
 * Sends EMAILS emails for a fresh tenant through the real sender into an SES emulator publishing its events
 * as `events` says, then runs the real feedback function on them until its queue is empty.
 */
async function runOnce(label: string, events: EventDeliveryOptions): Promise<RunResult> {
  const tenantId = `${run}-${label}`;
  const path = await feedbackPath(`${run}-${label}`);
  const ses = await startSesEmulator({
    dkimKeyBits: 1024,
    maxSendRate: 1_000_000,
    events,
    snsEndpoint: testAws.sqs.endpoint,
  });
  const client = new SESv2Client({ endpoint: ses.url, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  cleanup.push(async () => {
    client.destroy();
    await ses.stop();
  });
  await client.send(new CreateConfigurationSetCommand({ ConfigurationSetName: TEST_CONFIGURATION_SET }));
  await client.send(
    new CreateConfigurationSetEventDestinationCommand({
      ConfigurationSetName: TEST_CONFIGURATION_SET,
      EventDestinationName: 'feedback-sns',
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: ['SEND', 'DELIVERY', 'BOUNCE', 'COMPLAINT', 'DELIVERY_DELAY', 'REJECT'],
        SnsDestination: { TopicArn: path.topicArn },
      },
    }),
  );
  await client.send(new CreateEmailIdentityCommand({ EmailIdentity: TEST_PLATFORM_DOMAIN }));
  await fetch(`${ses.url}/_local/identities/${TEST_PLATFORM_DOMAIN}/verify`, { method: 'POST' });
  await new DynamoTenantStore(documents, { tableName: testStack.table('tenants'), cacheTtlSeconds: 0 }).put({
    tenantId,
    displayName: 'Chaos Billing',
    profileEmail: 'billing@chaos.example',
    environments: { 'developer-sandbox': { method: 'default' } },
  });

  const { QueueUrl: lane = '' } = await sqs.send(
    new CreateQueueCommand({ QueueName: `${run}-${label}-send` }),
  );
  cleanup.push(() => sqs.send(new DeleteQueueCommand({ QueueUrl: lane })));
  for (let start = 0; start < EMAILS; start += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: lane,
        Entries: Array.from({ length: 10 }, (_, offset) => {
          const i = start + offset;
          return {
            Id: String(offset),
            MessageBody: JSON.stringify({
              tenantId,
              environment: 'developer-sandbox',
              to: [recipient(i)],
              subject: `Invoice ${i}`,
              text: KINDS[i % KINDS.length] === 'virus' ? `Attached: ${EICAR}` : 'Your invoice is ready.',
              idempotencyKey: `k-${i}`,
            }),
          };
        }),
      }),
    );
  }
  const sender = createSendEmailHandler(
    testSenderDeps({ ses: client, lanes: { transactional: lane, bulk: lane } }),
    quiet,
  );
  await createSqsPoller(sqs, sender, { queueUrl: lane, queueArn: `arn:aws:sqs:local:${label}-send` }).drain();

  await ses.settled();
  const feedback = createProcessFeedbackHandler(
    {
      messages: ledger,
      suppressions,
      reputation,
      pauses: new DynamoTenantPauseStore(documents, testStack.table('tenants')),
      deadLetters: new SqsFeedbackDeadLetters(sqs, path.dlqUrl),
      alerts: { emit: () => undefined },
      clock: { now: () => new Date() },
      settings: {
        reputation: DEFAULT_REPUTATION_CONFIG,
        suppressionExpiry: DEFAULT_SUPPRESSION_EXPIRY,
        simulatorCountsTowardReputation: true,
        trust: {
          topicArn: path.topicArn,
          accountId: LOCAL_ACCOUNT,
          region: LOCAL_REGION,
          configurationSetName: TEST_CONFIGURATION_SET,
        },
      },
    },
    quiet,
  );
  // Idle for long enough that records returned as batch item failures (1 s visibility) come back first.
  await createSqsPoller(sqs, feedback, {
    queueUrl: path.queueUrl,
    queueArn: `arn:aws:sqs:local:${label}-feedback`,
  }).drain(40);

  const statuses: Record<string, string> = {};
  for (let i = 0; i < EMAILS; i++) {
    statuses[recipient(i)] = (await ledger.get(messageIdFor(tenantId, `k-${i}`)))?.status ?? 'MISSING';
  }
  const listed = await suppressions.list(tenantId, { limit: 1000 });
  return {
    statuses,
    suppressed: Object.fromEntries(listed.items.map((entry) => [entry.address, entry.reason])),
    counters: await reputation.readWindow(tenantId, new Date(), 168),
    ses,
  };
}

describe('feedback under SES event chaos: late, duplicated, out-of-order events give the in-order result', () => {
  it(`ends ${EMAILS} emails in the same statuses, suppressions and reputation counters`, async () => {
    const ordered = await runOnce('ordered', {});
    const chaotic = await runOnce('chaos', { ...EVENTS_CHAOS, seed: 20_261_201 });

    // The chaos was real: records were published twice, and not in the order SES emitted them.
    expect(chaotic.ses.store.events.filter((event) => event.duplicate).length).toBeGreaterThan(0);
    expect(chaotic.ses.store.events.every((event) => event.status === 'published')).toBe(true);

    // Every email reached a final state in the in-order run: nothing stayed SENT for lack of an event.
    const byKind = new Map<string, Set<string>>();
    for (let i = 0; i < EMAILS; i++) {
      const kind = KINDS[i % KINDS.length] ?? 'success';
      byKind.set(kind, (byKind.get(kind) ?? new Set()).add(ordered.statuses[recipient(i)] ?? ''));
    }
    expect(Object.fromEntries([...byKind].map(([kind, set]) => [kind, [...set]]))).toEqual({
      success: ['DELIVERED'],
      bounce: ['BOUNCED'],
      complaint: ['COMPLAINED'],
      ooto: ['DELIVERED'],
      suppressionlist: ['SUPPRESSED'],
      deliverydelay: ['DELIVERED'],
      virus: ['REJECTED'],
    });

    expect(chaotic.statuses).toEqual(ordered.statuses);
    expect(chaotic.suppressed).toEqual(ordered.suppressed);
    expect(chaotic.counters).toEqual(ordered.counters);
  }, 600_000);
});
