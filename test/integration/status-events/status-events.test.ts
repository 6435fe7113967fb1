import { Logger } from '@aws-lambda-powertools/logger';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import {
  EventBridgeClient,
  ListRulesCommand,
  PutRuleCommand,
  PutTargetsCommand,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventPattern } from 'aws-cdk-lib/aws-events';
import { EventBridgeStatusBus } from '../../../lambdas/adapters/eventbridge-status-bus';
import { DynamoMessageLedger } from '../../../lambdas/adapters/message-ledger/dynamo-message-ledger';
import { toFeedbackEvent } from '../../../lambdas/domain/feedback/feedback-event';
import { parseSesEvent } from '../../../lambdas/domain/feedback/ses-event-schema';
import {
  MessageStatus as S,
  type StatusEventDetail,
  statusEventDetailSchema,
  statusEventOf,
} from '../../../lambdas/domain/message';
import { createPublishStatusEventsHandler } from '../../../lambdas/handlers/publish-status-events';
import { statusEventBusName } from '../../../lib/config/names';
import { statusEventPattern } from '../../../lib/constructs/status-event-bus';
import { STATUS_STREAM_FILTER } from '../../../lib/constructs/status-event-publisher';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import {
  type EventBridgeEmulator,
  startEventBridgeEmulator,
} from '../../../local/eventbridge/eventbridge-emulator';
import { createStreamPoller, type StreamPoller } from '../../../local/twin/stream-poller';
import { startLocalViewer } from '../../../local/viewer/local-viewer';
import { testAws, testStack } from '../../support/env';
import { fixture } from '../../unit/feedback/load-fixture';

const run = Date.now().toString(36);
const tenantId = `status-events-${run}`;
const BUS = statusEventBusName('dev');
const sqs = new SQSClient(testAws.sqs);
const documents = DynamoDBDocumentClient.from(new DynamoDBClient(testAws.dynamodb), {
  marshallOptions: { removeUndefinedValues: true },
});
const streams = new DynamoDBStreamsClient(testAws.dynamodb);
const ledger = new DynamoMessageLedger(documents, {
  tableName: testStack.table('messages'),
  retentionDays: 1,
});
let emulator: EventBridgeEmulator;
let events: EventBridgeClient;
let poller: StreamPoller;
let bounces = '';
let everything = '';
const logger = new Logger({ serviceName: 'tenant-mail', logLevel: 'ERROR' });
/** Invocation failures the poller saw (batch item failures included): the fault-injection tests expect some. */
const failures: unknown[] = [];

/** Every message on a target queue until it is empty: the events a platform's rule received. */
async function received(queueUrl: string): Promise<StatusEventDetail[]> {
  const out: StatusEventDetail[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return out;
    for (const message of Messages) {
      const event = JSON.parse(message.Body ?? '{}') as {
        source: string;
        'detail-type': string;
        detail: unknown;
      };
      expect(event.source).toBe('tenant-mail');
      expect(event['detail-type']).toBe('Email Status Changed');
      out.push(statusEventDetailSchema.parse(event.detail));
    }
  }
}

/** A CDK `EventPattern` as EventBridge stores it (CDK renders `detailType` as `detail-type` at synth). */
function asEventBridgeJson({ detailType, ...rest }: EventPattern): Record<string, unknown> {
  return { ...rest, ...(detailType ? { 'detail-type': detailType } : {}) };
}

async function queue(name: string): Promise<{ url: string; arn: string }> {
  const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-${run}` }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  return { url: QueueUrl, arn: Attributes?.QueueArn ?? '' };
}

beforeAll(async () => {
  emulator = await startEventBridgeEmulator({ eventBuses: [BUS], sqs });
  events = new EventBridgeClient({
    endpoint: emulator.url,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  // The platform's rules, as README shows them: one tenant's bounces, and everything of that tenant.
  const bounceQueue = await queue('status-bounces');
  const allQueue = await queue('status-all');
  bounces = bounceQueue.url;
  everything = allQueue.url;
  for (const [name, pattern, arn] of [
    ['acme-bounces', statusEventPattern({ tenantIds: [tenantId], statuses: ['BOUNCED'] }), bounceQueue.arn],
    ['acme-all', statusEventPattern({ tenantIds: [tenantId] }), allQueue.arn],
  ] as const) {
    await events.send(
      new PutRuleCommand({
        Name: name,
        EventBusName: BUS,
        EventPattern: JSON.stringify(asEventBridgeJson(pattern)),
      }),
    );
    await events.send(
      new PutTargetsCommand({ Rule: name, EventBusName: BUS, Targets: [{ Id: 'queue', Arn: arn }] }),
    );
  }
  const { Table } = await documents.send(
    new DescribeTableCommand({ TableName: testStack.table('messages') }),
  );
  const handler = createPublishStatusEventsHandler(
    {
      scope: 'dev',
      bus: new EventBridgeStatusBus(events, { eventBusName: BUS, baseDelayMs: 1, retryRounds: 2 }),
    },
    logger,
  );
  poller = createStreamPoller(streams, (event, context) => handler(event, context), {
    streamArn: Table?.LatestStreamArn ?? '',
    // Only what this file writes from now on: the table is shared with the other integration tests.
    startingPosition: 'LATEST',
    batchSize: 100,
    // Only this file's tenant: other test files write to the same table at the same time, and their records
    // would take the faults injected below (`failNextEntries` refuses the next entries, whoever's they are).
    filters: [
      {
        ...STATUS_STREAM_FILTER,
        dynamodb: { NewImage: { ...STATUS_STREAM_FILTER.dynamodb.NewImage, tenantId: { S: [tenantId] } } },
      },
    ],
    bisectOnError: true,
    reportBatchItemFailures: true,
    maxRetryAttempts: 3,
    onError: (error) => failures.push(error),
  });
  await poller.drain(1);
});

afterAll(async () => {
  for (const url of [bounces, everything]) if (url) await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
  events.destroy();
  await emulator.stop();
  streams.destroy();
  documents.destroy();
  sqs.destroy();
});

/** A send as the sender and the feedback Lambda write it: two deferrals, SENT, then SES's own Bounce sample. */
async function sendAndBounce(messageId: string, recipient: string): Promise<void> {
  const claim = async () => {
    const result = await ledger.claim({
      messageId,
      tenantId,
      environment: 'developer-sandbox',
      category: 'bulk',
      recipients: [recipient],
      subject: 'Invoice INV-1042 is ready',
      eventId: `evt-${messageId}`,
      definitionId: 'invoice-email',
    });
    if (!result.claimed) throw new Error(`not claimed: ${result.status}`);
    return result.lease;
  };
  for (const wait of [2, 4]) {
    await ledger.settle(messageId, await claim(), S.DEFERRED, {
      code: 'RATE_LIMITED',
      reason: 'Maximum sending rate exceeded.',
      eligibleAt: new Date(Date.now() + wait * 1000).toISOString(),
    });
  }
  const sesEvent = fixture('bounce-permanent.json', {
    messageId,
    tenantId,
    environment: 'developer-sandbox',
  });
  const mail = sesEvent.mail as { messageId: string };
  await ledger.recordSent(messageId, await claim(), {
    method: 'default',
    providerMessageId: mail.messageId,
    from: 'n@x',
  });
  const feedback = toFeedbackEvent(parseSesEvent(sesEvent));
  await ledger.applyFeedback(feedback.correlation, feedback);
  // SQS delivers feedback at least once: the same Bounce again changes nothing and publishes nothing.
  await ledger.applyFeedback(feedback.correlation, feedback);
}

describe('status events out: messages-table stream → publish-status-events → tenant-mail.<scope> bus → rules', () => {
  it('publishes each transition of a send once, in order, to the rules that match, never the body', async () => {
    const messageId = `se-${run}-1`;
    await sendAndBounce(messageId, 'recipient@example.com');
    await poller.drain();

    const all = (await received(everything)).filter((detail) => detail.messageId === messageId);
    expect(all.map((detail) => detail.status)).toEqual([S.DEFERRED, S.DEFERRED, S.SENT, S.BOUNCED]);
    expect(new Set(all.map((detail) => detail.id)).size).toBe(4);
    expect(all.map((detail) => detail.previousStatus)).toEqual([S.SENDING, S.SENDING, S.SENDING, S.SENT]);
    expect(all[0]?.eligibleAt).toBeDefined();
    expect(all[3]).toMatchObject({
      tenantId,
      environment: 'developer-sandbox',
      eventId: `evt-${messageId}`,
      definitionId: 'invoice-email',
      recipient: 'recipient@example.com',
      feedbackEvent: 'Bounce',
      reason: 'smtp; 550 5.1.1 user unknown',
      providerMessageId: 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
    });
    expect(JSON.stringify(all)).not.toContain('INV-1042 is ready');

    const bounced = await received(bounces);
    expect(bounced.map((detail) => [detail.messageId, detail.status])).toEqual([[messageId, S.BOUNCED]]);
    const recorded = emulator
      .events(BUS)
      .filter((entry) => (entry.event.detail as StatusEventDetail).messageId === messageId);
    expect(recorded.map((entry) => entry.matchedRules)).toEqual([
      ['acme-all'],
      ['acme-all'],
      ['acme-all'],
      ['acme-bounces', 'acme-all'],
    ]);
  });

  it('retries entries EventBridge refused (FailedEntryCount) and still delivers each event exactly once', async () => {
    const messageId = `se-${run}-2`;
    await sendAndBounce(messageId, 'recipient@example.com');
    emulator.failNextEntries(3);
    await poller.drain();
    expect(failures).toEqual([]);
    const all = (await received(everything)).filter((detail) => detail.messageId === messageId);
    expect(all.map((detail) => detail.status).sort()).toEqual(
      [S.BOUNCED, S.DEFERRED, S.DEFERRED, S.SENT].sort(),
    );
    expect(new Set(all.map((detail) => detail.id)).size).toBe(4);
  });

  it('reports the first record it could not publish as the batch item failure, and publishes it on the retry', async () => {
    const messageId = `se-${run}-3`;
    await ledger.recordInvalid(messageId, {
      tenantId,
      code: 'INVALID_MESSAGE',
      reason: 'body is not JSON',
      body: 'not json',
    });
    // More refusals than one invocation's retries: that invocation fails, the poller's retry succeeds.
    const failedBefore = failures.length;
    emulator.failNextEntries(3);
    // DynamoDB Local shows a stream record a moment after the write (longer on a loaded machine): drain until the
    // poller has met it, so an idle drain that ran first cannot pass for "nothing failed".
    for (let round = 0; round < 100 && failures.length === failedBefore; round += 1) await poller.drain();
    expect(failures.slice(failedBefore).map((error) => String(error))).toEqual([
      expect.stringMatching(/^Error: batch item failure at \d+$/),
    ]);
    const all = (await received(everything)).filter((detail) => detail.messageId === messageId);
    expect(all.map((detail) => [detail.status, detail.reasonCode, detail.previousStatus])).toEqual([
      [S.REJECTED, 'INVALID_MESSAGE', null],
    ]);
    expect(JSON.stringify(all)).not.toContain('not json');
  });

  it('puts a large batch in PutEvents calls of at most 10 entries (the emulator refuses more, as EventBridge does)', async () => {
    const bus = new EventBridgeStatusBus(events, { eventBusName: BUS });
    const batch = Array.from({ length: 25 }, (_, i) =>
      statusEventOf('dev', undefined, {
        messageId: `se-${run}-bulk-${i}`,
        tenantId,
        status: S.REJECTED,
        reason: 'test',
        updatedAt: new Date().toISOString(),
        timeline: [{ status: S.REJECTED, at: new Date().toISOString() }],
      }),
    ).filter((event) => event !== null);
    await bus.put(batch);
    const ids = new Set(emulator.events(BUS).map((entry) => (entry.event.detail as StatusEventDetail).id));
    expect(batch.filter((event) => ids.has(event.detail.id))).toHaveLength(25);
    const all = (await received(everything)).filter((detail) =>
      detail.messageId.startsWith(`se-${run}-bulk-`),
    );
    expect(all).toHaveLength(25);
  });

  it("shows a message's status events in the viewer, and every event on its /events page", async () => {
    const messageId = `se-${run}-1`;
    const viewer = await startLocalViewer({
      documents,
      tables: {
        messages: testStack.table('messages'),
        tenants: testStack.table('tenants'),
        counters: testStack.table('counters'),
        suppressions: testStack.table('suppressions'),
      },
      eventBridgeUrl: emulator.url,
    });
    try {
      const page = await (await fetch(`${viewer.url}/messages/${messageId}`)).text();
      const section = page.slice(page.indexOf('<h2>Status events</h2>'));
      const ids = [...section.matchAll(/<code>([^<]+:(?:DEFERRED|SENT|BOUNCED):\d+)<\/code>/g)].map(
        (m) => m[1],
      );
      expect(ids.map((id) => id?.split(':')[1])).toEqual(['DEFERRED', 'DEFERRED', 'SENT', 'BOUNCED']);
      const events = await (await fetch(`${viewer.url}/events`)).text();
      expect(events).toContain(`${messageId}:BOUNCED:`);
      expect(events).toContain('acme-bounces, acme-all');
    } finally {
      await viewer.stop();
    }
  });

  it('answers TestEventPattern and ListRules like EventBridge for the rules above', async () => {
    const { Rules = [] } = await events.send(new ListRulesCommand({ EventBusName: BUS }));
    expect(Rules.map((rule) => rule.Name).sort()).toEqual(['acme-all', 'acme-bounces']);
    const [example] = emulator
      .events(BUS)
      .filter((entry) => (entry.event.detail as StatusEventDetail).status === 'BOUNCED');
    const pattern = Rules.find((rule) => rule.Name === 'acme-bounces')?.EventPattern ?? '';
    const { Result } = await events.send(
      new TestEventPatternCommand({ EventPattern: pattern, Event: JSON.stringify(example?.event) }),
    );
    expect(Result).toBe(true);
  });
});
