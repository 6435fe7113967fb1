import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateConfigurationSetCommand,
  CreateEmailIdentityCommand,
  GetEmailIdentityCommand,
  SESv2Client,
} from '@aws-sdk/client-sesv2';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { DynamoMessageLedger } from '../../../lambdas/adapters/message-ledger/dynamo-message-ledger';
import { SqsDeadLetters } from '../../../lambdas/adapters/sqs-dead-letters';
import { SqsSendLanes } from '../../../lambdas/adapters/sqs-send-lanes';
import { DynamoTenantStore } from '../../../lambdas/adapters/tenant-store';
import { idempotencyKeyOf, messageIdFor } from '../../../lambdas/domain/sending/send-request';
import { createSendEmailHandler } from '../../../lambdas/handlers/send-email';
import { SENDER_SES_CLIENT_CONFIG } from '../../../lambdas/handlers/send-email.deps';
import { type LocalDnsServer, startLocalDnsServer } from '../../../local/dns/dns-server';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import { type SesEmulator, startSesEmulator } from '../../../local/ses';
import { createSqsPoller, sqsEvent } from '../../../local/twin/sqs-poller';
import { testAws, testStack } from '../../support/env';
import { testSenderDeps } from '../../support/sender-deps';

const PLATFORM_DOMAIN = 'mail-dev.example-platform.com';
const CONFIGURATION_SET = 'tenant-mail-dev';

let dns: LocalDnsServer;
let ses: SesEmulator;
let sesClient: SESv2Client;
const sqs = new SQSClient(testAws.sqs);
const documents = DynamoDBDocumentClient.from(new DynamoDBClient(testAws.dynamodb));
const tenants = new DynamoTenantStore(documents, {
  tableName: testStack.table('tenants'),
  cacheTtlSeconds: 0,
});
const queueUrl = () => testStack.queueUrl('send');
const run = Date.now().toString(36);
const tenantId = `acme-${run}`;

const depsFor = (client: SESv2Client) => testSenderDeps({ ses: client });

const email = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    tenantId,
    environment: 'developer-sandbox',
    to: ['success@simulator.amazonses.com'],
    subject: 'Invoice INV-001 posted',
    html: '<p>Your invoice <b>INV-001</b> is ready.</p>',
    text: 'Your invoice INV-001 is ready.',
    ...overrides,
  });

const record = async (messageId: string) =>
  (await documents.send(new GetCommand({ TableName: testStack.table('messages'), Key: { messageId } }))).Item;

const sentTo = (address: string) =>
  ses.store.messages.filter((message) => message.destination.includes(address));

beforeAll(async () => {
  dns = await startLocalDnsServer();
  ses = await startSesEmulator({ dns, dkimKeyBits: 1024, verificationRecheckMs: 100 });
  sesClient = new SESv2Client({ endpoint: ses.url, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  await sesClient.send(new CreateConfigurationSetCommand({ ConfigurationSetName: CONFIGURATION_SET }));
  const identity = await sesClient.send(new CreateEmailIdentityCommand({ EmailIdentity: PLATFORM_DOMAIN }));
  for (const token of identity.DkimAttributes?.Tokens ?? []) {
    dns.setRecords(`${token}._domainkey.${PLATFORM_DOMAIN}`, 'CNAME', [`${token}.dkim.amazonses.com`]);
  }
  const verified = await sesClient.send(new GetEmailIdentityCommand({ EmailIdentity: PLATFORM_DOMAIN }));
  expect(verified.VerifiedForSendingStatus).toBe(true);
  await tenants.put({
    tenantId,
    displayName: 'Acme Billing',
    profileEmail: 'billing@acme.example',
    environments: { 'developer-sandbox': { method: 'default' } },
  });
  await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl() }));
});

afterAll(async () => {
  sesClient.destroy();
  await ses.stop();
  await dns.stop();
  sqs.destroy();
});

describe('sender: default method through SES', () => {
  it('sends from the platform address with the tenant name, Reply-To the tenant profile email, and records SENT', async () => {
    const handler = createSendEmailHandler(depsFor(sesClient));
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl(),
        MessageBody: email({ idempotencyKey: `first-${run}` }),
      }),
    );
    const poller = createSqsPoller(sqs, handler, {
      queueUrl: queueUrl(),
      queueArn: 'arn:aws:sqs:local:send',
    });
    await poller.drain();

    const messageId = messageIdFor(tenantId, `first-${run}`);
    const item = await record(messageId);
    expect(item).toMatchObject({
      status: 'SENT',
      method: 'default',
      tenantId,
      fromAddress: `notifications@${PLATFORM_DOMAIN}`,
    });
    const sent = ses.store.messages.find((message) => message.messageId === item?.sesMessageId);
    expect(sent?.raw.toString()).toMatch(
      /^From: "?Acme Billing"? <notifications@mail-dev\.example-platform\.com>\r?$/m,
    );
    expect(sent?.raw.toString()).toMatch(/^Reply-To: billing@acme\.example\r?$/m);
    expect(sent?.configurationSetName).toBe(CONFIGURATION_SET);
    expect(sent?.emailTags).toEqual(
      expect.arrayContaining([
        { Name: 'message-id', Value: messageId },
        { Name: 'tenant-id', Value: tenantId },
        { Name: 'environment', Value: 'developer-sandbox' },
      ]),
    );
    expect(item?.timeline.map((entry: { status: string }) => entry.status)).toEqual(['SENDING', 'SENT']);
  });

  it('sends a message that SQS delivers twice only once', async () => {
    const handler = createSendEmailHandler(depsFor(sesClient));
    const recipient = `success+twice-${run}@simulator.amazonses.com`;
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl(), MessageBody: email({ to: [recipient] }) }));

    const receive = async () => {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl(),
          MaxNumberOfMessages: 1,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      const [message] = Messages;
      if (!message) throw new Error('expected a message on the send queue');
      return message;
    };
    const asEvent = (message: Awaited<ReturnType<typeof receive>>): SQSEvent =>
      sqsEvent({
        body: message.Body ?? '',
        messageId: message.MessageId ?? '',
        receiptHandle: message.ReceiptHandle ?? '',
        receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? '1'),
      });

    // First delivery: sent, but the function "crashes" before SQS deletes the message.
    const first = await receive();
    expect(await handler(asEvent(first), {} as never)).toEqual({ batchItemFailures: [] });
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl(),
        ReceiptHandle: first.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );

    // Second delivery of the same SQS message.
    const second = await receive();
    expect(second.MessageId).toBe(first.MessageId);
    expect(second.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(await handler(asEvent(second), {} as never)).toEqual({ batchItemFailures: [] });
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl(), ReceiptHandle: second.ReceiptHandle }));

    expect(sentTo(recipient)).toHaveLength(1);
    const item = await record(messageIdFor(tenantId, idempotencyKeyOf({}, first.Body ?? '')));
    expect(item).toMatchObject({ status: 'SENT', attempts: 1 });
  });

  it('sends a body without an idempotency key once however many copies the queue holds', async () => {
    const handler = createSendEmailHandler(depsFor(sesClient));
    const recipient = `success+keyless-${run}@simulator.amazonses.com`;
    const body = email({ to: [recipient] });
    // Three copies, as a producer's retries would put them: three SQS messages with three message ids.
    for (let copy = 0; copy < 3; copy++) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl(), MessageBody: body }));
      await createSqsPoller(sqs, handler, {
        queueUrl: queueUrl(),
        queueArn: 'arn:aws:sqs:local:send',
      }).drain();
    }
    expect(sentTo(recipient)).toHaveLength(1);
    expect(await record(messageIdFor(tenantId, idempotencyKeyOf({}, body)))).toMatchObject({
      status: 'SENT',
      attempts: 1,
    });
  });

  it('rejects the bad messages of a batch with reasons an operator can read and still sends the good ones', async () => {
    const handler = createSendEmailHandler(depsFor(sesClient));
    const good = `success+batch-${run}@simulator.amazonses.com`;
    const bodies = {
      good: email({ to: [good], idempotencyKey: `good-${run}` }),
      badJson: '{"tenantId": "acme", ',
      unknownTenant: email({ tenantId: `nobody-${run}`, idempotencyKey: `unknown-${run}` }),
      injection: email({ subject: 'Hi\r\nBcc: everyone@example.com', idempotencyKey: `inject-${run}` }),
      otherScope: email({ environment: 'production', idempotencyKey: `prod-${run}` }),
      tooMany: email({
        to: Array.from({ length: 51 }, (_, i) => `r${i}@example.com`),
        idempotencyKey: `many-${run}`,
      }),
    };
    const { Successful = [] } = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl(),
        Entries: Object.entries(bodies).map(([Id, MessageBody]) => ({ Id, MessageBody })),
      }),
    );
    expect(Successful).toHaveLength(Object.keys(bodies).length);
    await createSqsPoller(sqs, handler, { queueUrl: queueUrl(), queueArn: 'arn:aws:sqs:local:send' }).drain();

    expect(sentTo(good)).toHaveLength(1);
    expect(await record(messageIdFor(tenantId, `good-${run}`))).toMatchObject({ status: 'SENT' });
    expect(await record(messageIdFor('_invalid', idempotencyKeyOf({}, bodies.badJson)))).toMatchObject({
      status: 'REJECTED',
      reasonCode: 'INVALID_JSON',
      reason: expect.stringContaining('the message body is not JSON'),
    });
    expect(await record(messageIdFor(`nobody-${run}`, `unknown-${run}`))).toMatchObject({
      status: 'REJECTED',
      reasonCode: 'UNKNOWN_TENANT',
      reason: `tenant "nobody-${run}" does not exist in this scope`,
    });
    expect(await record(messageIdFor('_invalid', idempotencyKeyOf({}, bodies.injection)))).toMatchObject({
      status: 'REJECTED',
      reasonCode: 'INVALID_MESSAGE',
      reason: 'subject: must not contain a line break (CR or LF)',
      tenantId,
    });
    expect(await record(messageIdFor(tenantId, `prod-${run}`))).toMatchObject({
      status: 'REJECTED',
      reasonCode: 'ENVIRONMENT_NOT_SERVED',
    });
    expect(await record(messageIdFor('_invalid', idempotencyKeyOf({}, bodies.tooMany)))).toMatchObject({
      status: 'REJECTED',
      reason: expect.stringContaining('at most 50 recipients'),
    });
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl(),
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(Attributes).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
    });
  });

  it('returns a transient SES failure as a batch item failure, then records DEAD_LETTERED on the last attempt', async () => {
    const unreachable = new SESv2Client({
      endpoint: 'http://127.0.0.1:9',
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
    const handler = createSendEmailHandler(depsFor(unreachable));
    const body = email({ idempotencyKey: `transient-${run}` });
    const event = (receiveCount: number): SQSEvent =>
      sqsEvent({ body, messageId: `transient-${run}`, receiveCount });
    const messageId = messageIdFor(tenantId, `transient-${run}`);

    expect(await handler(event(1), {} as never)).toEqual({
      batchItemFailures: [{ itemIdentifier: `transient-${run}` }],
    });
    expect(await record(messageId)).toMatchObject({ status: 'QUEUED', reasonCode: 'SES_UNREACHABLE' });

    expect(await handler(event(5), {} as never)).toEqual({
      batchItemFailures: [{ itemIdentifier: `transient-${run}` }],
    });
    expect(await record(messageId)).toMatchObject({
      status: 'DEAD_LETTERED',
      reason: expect.stringContaining('dead-lettered after 5 attempts'),
    });
    unreachable.destroy();
  });

  it('sends a dead-lettered email once after the cause is fixed and the DLQ is redriven', async () => {
    const unreachable = new SESv2Client({
      endpoint: 'http://127.0.0.1:9',
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
    const broken = createSendEmailHandler(depsFor(unreachable));
    const recipient = `success+redrive-${run}@simulator.amazonses.com`;
    const body = email({ idempotencyKey: `redrive-${run}`, to: [recipient] });
    const messageId = messageIdFor(tenantId, `redrive-${run}`);
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl(), MessageBody: body }));
    // Five failed receives, as Lambda's event source mapping makes them; SQS then moves the message to the DLQ.
    for (let receive = 1; receive <= 5; receive++) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl(),
          MessageSystemAttributeNames: ['All'],
          WaitTimeSeconds: 1,
        }),
      );
      const [message] = Messages;
      if (!message) throw new Error(`receive ${receive} found nothing`);
      const event = sqsEvent({
        body: message.Body ?? '',
        messageId: message.MessageId ?? '',
        receiveCount: Number(message.Attributes?.ApproximateReceiveCount),
      });
      expect((await broken(event, {} as never))?.batchItemFailures).toHaveLength(1);
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl(),
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    }
    expect(await record(messageId)).toMatchObject({ status: 'DEAD_LETTERED' });
    const { Messages: none = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl() }));
    expect(none).toHaveLength(0);

    const letters = new SqsDeadLetters(sqs, {
      queueUrl: async (name) => testStack.queueUrl(name),
      ledger: new DynamoMessageLedger(documents, { tableName: testStack.table('messages') }),
      lanes: async () =>
        new SqsSendLanes(sqs, {
          queueUrls: { transactional: queueUrl(), bulk: testStack.queueUrl('send-bulk') },
        }),
    });
    expect(await letters.list('send', { tenantId, limit: 10 })).toEqual([
      expect.objectContaining({
        messageId,
        reasonCode: 'SES_UNREACHABLE',
        reason: expect.stringContaining('dead-lettered after 5 attempts'),
      }),
    ]);
    expect(await letters.redrive('send', { tenantId }, () => undefined)).toEqual({
      moved: 1,
      skipped: 0,
      via: 'receive-send-delete',
    });
    await createSqsPoller(sqs, createSendEmailHandler(depsFor(sesClient)), {
      queueUrl: queueUrl(),
      queueArn: 'arn:aws:sqs:local:send',
    }).drain();
    expect(sentTo(recipient)).toHaveLength(1);
    expect(await record(messageId)).toMatchObject({ status: 'SENT', attempts: 6 });
    // A second redrive finds nothing, and a stray copy of the same body is a duplicate.
    expect((await letters.redrive('send', {}, () => undefined)).moved).toBe(0);
    unreachable.destroy();
  });

  /** An SES emulator at `maxSendRate` with the scope's configuration set and a verified platform domain. */
  const startRateLimitedSes = async (maxSendRate: number) => {
    const slow = await startSesEmulator({ dns, dkimKeyBits: 1024, maxSendRate });
    const slowClient = new SESv2Client({
      ...SENDER_SES_CLIENT_CONFIG,
      endpoint: slow.url,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    await slowClient.send(new CreateConfigurationSetCommand({ ConfigurationSetName: CONFIGURATION_SET }));
    const identity = await slowClient.send(
      new CreateEmailIdentityCommand({ EmailIdentity: PLATFORM_DOMAIN }),
    );
    for (const token of identity.DkimAttributes?.Tokens ?? []) {
      dns.setRecords(`${token}._domainkey.${PLATFORM_DOMAIN}`, 'CNAME', [`${token}.dkim.amazonses.com`]);
    }
    await slowClient.send(new GetEmailIdentityCommand({ EmailIdentity: PLATFORM_DOMAIN }));
    return { slow, slowClient };
  };

  it('paces a burst to the account rate from GetAccount: one SES request per email, none throttled', async () => {
    const { slow, slowClient } = await startRateLimitedSes(2);
    let sendRequests = 0;
    slowClient.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === 'SendEmailCommand') sendRequests += 1;
        return next(args);
      },
      { step: 'deserialize', name: 'countSendAttempts' },
    );
    const deps = depsFor(slowClient);
    const slots: number[] = [];
    const handler = createSendEmailHandler({
      ...deps,
      governor: {
        reserve: async (request) => {
          const reservation = await deps.governor.reserve(request);
          if (reservation.granted) slots.push(reservation.sendAtMs);
          return reservation;
        },
      },
    });
    try {
      const keys = Array.from({ length: 6 }, (_, i) => `paced-${i}-${run}`);
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl(),
          Entries: keys.map((key, i) => ({
            Id: String(i),
            MessageBody: email({
              idempotencyKey: key,
              category: 'transactional',
              to: [`success+${key}@simulator.amazonses.com`],
            }),
          })),
        }),
      );
      const poller = createSqsPoller(sqs, handler, {
        queueUrl: queueUrl(),
        queueArn: 'arn:aws:sqs:local:send',
        batchSize: 10,
      });
      const records = async () =>
        Promise.all(keys.map(async (key) => await record(messageIdFor(tenantId, key))));
      await poller.drain(1);
      // On a loaded machine a request can still reach the (strict) emulator a few ms off its slot and be
      // throttled: it is then deferred and sent later, so drain until every email is SENT.
      for (let round = 0; round < 20 && !(await records()).every((r) => r?.status === 'SENT'); round++) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        await poller.drain(1);
      }
      const final = await records();
      expect(final.map((r) => r?.status)).toEqual(keys.map(() => 'SENT'));
      // Each email reached SES exactly once, and every other request was a throttle recorded on its record:
      // the SDK retried nothing behind the ledger's back.
      expect(slow.store.messages.filter((message) => message.kind === 'email')).toHaveLength(keys.length);
      const throttles = final
        .flatMap((r) => r?.timeline ?? [])
        .filter((line) => line.status === 'DEFERRED' && line.detail?.includes('SES_THROTTLED')).length;
      expect(sendRequests).toBe(keys.length + throttles);
      // The governor spaced the slots at the account's rate (2 a second, paced at 97 %): 6 transactional emails
      // over 2.5 s, none scheduled closer than the rate allows.
      const ordered = [...slots].sort((a, b) => a - b);
      for (let i = 1; i < ordered.length; i++) {
        expect((ordered[i] ?? 0) - (ordered[i - 1] ?? 0)).toBeGreaterThanOrEqual(
          Math.floor(1_000 / (2 * 0.97)),
        );
      }
    } finally {
      slowClient.destroy();
      await slow.stop();
    }
  });

  it('defers a throttled message and sends it later instead of dropping it', async () => {
    const { slow, slowClient } = await startRateLimitedSes(1);
    // Unpaced (as when SES lowered the rate since the sender last read it): SES itself throttles.
    const handler = createSendEmailHandler({
      ...depsFor(slowClient),
      sesQuota: { limits: async () => ({}) },
    });
    const keys = Array.from({ length: 4 }, (_, i) => `burst-${i}-${run}`);
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl(),
        Entries: keys.map((key, i) => ({
          Id: String(i),
          MessageBody: email({ idempotencyKey: key, to: [`success+${key}@simulator.amazonses.com`] }),
        })),
      }),
    );
    const poller = createSqsPoller(sqs, handler, {
      queueUrl: queueUrl(),
      queueArn: 'arn:aws:sqs:local:send',
      batchSize: 10,
    });
    await poller.drain(1);
    const statuses = await Promise.all(
      keys.map(async (key) => (await record(messageIdFor(tenantId, key)))?.status),
    );
    expect(statuses.filter((status) => status === 'DEFERRED').length).toBeGreaterThan(0);
    const deferred = await record(messageIdFor(tenantId, keys[statuses.indexOf('DEFERRED')] ?? ''));
    expect(deferred).toMatchObject({ reasonCode: 'SES_THROTTLED', eligibleAt: expect.any(String) });

    // Deferred copies come back after their delay and go out; nothing is lost.
    for (let round = 0; round < 20; round++) {
      const now = await Promise.all(
        keys.map(async (key) => (await record(messageIdFor(tenantId, key)))?.status),
      );
      if (now.every((status) => status === 'SENT')) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await poller.drain(1);
    }
    const final = await Promise.all(
      keys.map(async (key) => (await record(messageIdFor(tenantId, key)))?.status),
    );
    expect(final).toEqual(['SENT', 'SENT', 'SENT', 'SENT']);
    expect(slow.store.messages.filter((message) => message.kind === 'email')).toHaveLength(4);
    slowClient.destroy();
    await slow.stop();
  });

  it('lists a tenant’s messages newest last through the byTenant index', async () => {
    const { Items = [] } = await documents.send(
      new QueryCommand({
        TableName: testStack.table('messages'),
        IndexName: 'byTenant',
        KeyConditionExpression: 'tenantId = :t',
        ExpressionAttributeValues: { ':t': tenantId },
      }),
    );
    expect(Items.length).toBeGreaterThanOrEqual(3);
  });
});
