import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { SqsHeldMessageReleaser } from '../../../lambdas/adapters/held-message-releaser';
import {
  DynamoMessageFeedbackStore,
  MessageNotSettledError,
} from '../../../lambdas/adapters/message-feedback-store';
import { DynamoMessageLedger } from '../../../lambdas/adapters/message-ledger';
import { DynamoTenantPauseStore } from '../../../lambdas/adapters/tenant-pause-store';
import { DynamoTenantStore } from '../../../lambdas/adapters/tenant-store';
import { type FeedbackEvent, toFeedbackEvent } from '../../../lambdas/domain/feedback/feedback-event';
import { parseSesEvent } from '../../../lambdas/domain/feedback/ses-event-schema';
import { pauseTenant, resumeTenant } from '../../../lambdas/domain/feedback/tenant-pause';
import { MessageStatus } from '../../../lambdas/domain/message';
import { UnknownTenantError } from '../../../lambdas/domain/tenant';
import { testAws, testStack } from '../../support/env';
import { fixture, type Json } from '../../unit/feedback/load-fixture';

const run = Date.now().toString(36);
const documents = DynamoDBDocumentClient.from(new DynamoDBClient(testAws.dynamodb), {
  marshallOptions: { removeUndefinedValues: true },
});
const sqs = new SQSClient(testAws.sqs);
const messagesTable = () => testStack.table('messages');
const ledger = () => new DynamoMessageLedger(documents, { tableName: messagesTable(), retentionDays: 1 });
const store = () => new DynamoMessageFeedbackStore(documents, { tableName: messagesTable() });

afterAll(() => {
  documents.destroy();
  sqs.destroy();
});

/** Claims and records a sent message as the sender does, returning its SES message id. */
async function sentMessage(messageId: string, tenantId: string, recipients: string[]): Promise<string> {
  const sesMessageId = `ses-${messageId}`;
  await ledger().claim({
    messageId,
    tenantId,
    environment: 'developer-sandbox',
    category: 'transactional',
    recipients,
    subject: 'Invoice posted',
  });
  await ledger().markSent(messageId, {
    method: 'default',
    from: 'notifications@example.com',
    providerMessageId: sesMessageId,
  });
  return sesMessageId;
}

/** An AWS sample event re-addressed to our message and recipient. */
function eventFor(
  name: 'delivery.json' | 'bounce-permanent.json' | 'complaint.json',
  ids: { messageId?: string; tenantId: string; sesMessageId: string },
  recipient: string,
): FeedbackEvent {
  const raw = fixture(name, ids.messageId ? { messageId: ids.messageId, tenantId: ids.tenantId } : {});
  const mail = raw.mail as Json;
  mail.messageId = ids.sesMessageId;
  mail.destination = [recipient];
  if (raw.delivery) (raw.delivery as Json).recipients = [recipient];
  if (raw.bounce) (raw.bounce as Json).bouncedRecipients = [{ emailAddress: recipient, status: '5.1.1' }];
  if (raw.complaint) (raw.complaint as Json).complainedRecipients = [{ emailAddress: recipient }];
  return toFeedbackEvent(parseSesEvent(raw));
}

const item = async (messageId: string) =>
  (await documents.send(new GetCommand({ TableName: messagesTable(), Key: { messageId } }))).Item;

describe('DynamoMessageFeedbackStore', () => {
  it('lands every one of many concurrent events for one message, and a redelivery writes nothing', async () => {
    const messageId = `fb-concurrent-${run}`;
    const tenantId = `fb-tenant-${run}`;
    const recipients = Array.from({ length: 8 }, (_, i) => `user${i}@example.com`);
    const sesMessageId = await sentMessage(messageId, tenantId, recipients);
    const events = recipients.map((recipient, i) =>
      eventFor(
        i === 0 ? 'bounce-permanent.json' : 'delivery.json',
        { messageId, tenantId, sesMessageId },
        recipient,
      ),
    );

    const outcomes = await Promise.all(events.map((event) => store().apply(event.correlation, event)));
    expect(outcomes.every((outcome) => outcome.result === 'applied')).toBe(true);

    const stored = await item(messageId);
    expect(stored?.status).toBe('BOUNCED');
    expect(Object.keys(stored?.feedback.recipients).sort()).toEqual([...recipients].sort());
    expect(stored?.feedbackVersion).toBe(recipients.length);
    expect(stored?.timeline.map((entry: { status: string }) => entry.status).sort()).toEqual(
      ['SENDING', 'SENT', 'BOUNCED', ...Array(recipients.length - 1).fill('DELIVERED')].sort(),
    );

    const again = events[0] as FeedbackEvent;
    expect(await store().apply(again.correlation, again)).toEqual({
      result: 'duplicate',
      messageId,
      tenantId,
      status: 'BOUNCED',
    });
    expect((await item(messageId))?.feedbackVersion).toBe(recipients.length);
  });

  it('keeps BOUNCED when the Delivery arrives after the Bounce', async () => {
    const messageId = `fb-order-${run}`;
    const tenantId = `fb-tenant-${run}`;
    const sesMessageId = await sentMessage(messageId, tenantId, ['late@example.com']);
    const ids = { messageId, tenantId, sesMessageId };
    for (const name of ['bounce-permanent.json', 'delivery.json'] as const) {
      const event = eventFor(name, ids, 'late@example.com');
      await store().apply(event.correlation, event);
    }
    const stored = await item(messageId);
    expect(stored?.status).toBe('BOUNCED');
    expect(stored?.feedback.timeline.map((entry: { eventType: string }) => entry.eventType)).toEqual([
      'Delivery',
      'Bounce',
    ]);
  });

  it('finds a message without our tags through the bySesMessageId index', async () => {
    const messageId = `fb-untagged-${run}`;
    const tenantId = `fb-tenant-${run}`;
    const sesMessageId = await sentMessage(messageId, tenantId, ['someone@example.com']);
    const event = eventFor('complaint.json', { tenantId, sesMessageId }, 'someone@example.com');
    expect(event.correlation.via).toBe('ses-message-id');
    expect(await store().apply(event.correlation, event)).toMatchObject({
      result: 'applied',
      messageId,
      tenantId,
      status: 'COMPLAINED',
    });
  });

  it('asks for a retry while the sender has not recorded the send, and reports unknown messages', async () => {
    const messageId = `fb-sending-${run}`;
    await ledger().claim({
      messageId,
      tenantId: 't',
      environment: 'developer-sandbox',
      category: 'transactional',
      recipients: ['a@example.com'],
      subject: 's',
    });
    const event = eventFor('delivery.json', { messageId, tenantId: 't', sesMessageId: 'x' }, 'a@example.com');
    await expect(store().apply(event.correlation, event)).rejects.toBeInstanceOf(MessageNotSettledError);
    const unknown = eventFor(
      'delivery.json',
      { messageId: `nope-${run}`, tenantId: 't', sesMessageId: 'y' },
      'a@example.com',
    );
    expect(await store().apply(unknown.correlation, unknown)).toEqual({ result: 'not-found' });
  });
});

describe('pause and resume on the tenants table', () => {
  const tenants = new DynamoTenantStore(documents, {
    tableName: testStack.table('tenants'),
    cacheTtlSeconds: 0,
  });
  const pauses = () => new DynamoTenantPauseStore(documents, testStack.table('tenants'));
  const queues: string[] = [];
  afterAll(async () => {
    for (const QueueUrl of queues) await sqs.send(new DeleteQueueCommand({ QueueUrl }));
  });

  it('pauses every environment once (the first reason stands), resumes them, and releases held mail by lane', async () => {
    const tenantId = `fb-pause-${run}`;
    await tenants.put({
      tenantId,
      displayName: 'Pause Co',
      profileEmail: 'ops@pause.example',
      environments: { 'developer-sandbox': { method: 'default' }, 'central-sandbox': { method: 'default' } },
    });
    const clock = { now: () => new Date('2024-05-01T10:00:00.000Z') };
    expect(await pauseTenant(tenantId, 'operator: bad list', { pauses: pauses(), clock })).toEqual({
      tenantId,
      paused: ['developer-sandbox', 'central-sandbox'],
    });
    expect(await pauseTenant(tenantId, 'second reason', { pauses: pauses(), clock })).toEqual({
      tenantId,
      paused: [],
    });
    const paused = await tenants.get(tenantId);
    expect(paused?.environments['developer-sandbox']?.paused).toEqual({
      reason: 'operator: bad list',
      at: '2024-05-01T10:00:00.000Z',
    });
    expect(paused?.environments['central-sandbox']?.paused?.reason).toBe('operator: bad list');

    // Two messages the sender held while paused, one per lane, and one already sent.
    const bodies = {
      transactional: JSON.stringify({
        tenantId,
        environment: 'developer-sandbox',
        to: ['a@example.com'],
        subject: 'A',
        text: 'a',
        idempotencyKey: `held-a-${run}`,
      }),
      bulk: JSON.stringify({
        tenantId,
        environment: 'developer-sandbox',
        to: ['b@example.com'],
        subject: 'B',
        text: 'b',
        idempotencyKey: `held-b-${run}`,
        category: 'bulk',
      }),
    };
    for (const [lane, body] of Object.entries(bodies)) {
      const messageId = `fb-held-${lane}-${run}`;
      await ledger().claim({
        messageId,
        tenantId,
        environment: 'developer-sandbox',
        category: lane as 'bulk',
        recipients: ['x@example.com'],
        subject: lane,
      });
      await ledger().markOutcome(messageId, MessageStatus.PAUSED, {
        code: 'TENANT_PAUSED',
        reason: 'held',
        heldRequest: body,
      });
    }
    await sentMessage(`fb-held-sent-${run}`, tenantId, ['c@example.com']);

    const urls = { transactional: '', bulk: '' };
    for (const lane of ['transactional', 'bulk'] as const) {
      const { QueueUrl = '' } = await sqs.send(
        new CreateQueueCommand({ QueueName: `fb-release-${lane}-${run}` }),
      );
      urls[lane] = QueueUrl;
      queues.push(QueueUrl);
    }
    const held = new SqsHeldMessageReleaser(documents, sqs, { tableName: messagesTable(), queueUrls: urls });
    expect(await resumeTenant(tenantId, { pauses: pauses(), held })).toEqual({
      tenantId,
      resumed: ['developer-sandbox', 'central-sandbox'],
      released: 2,
      skipped: 0,
    });
    expect((await tenants.get(tenantId))?.environments['developer-sandbox']?.paused).toBeUndefined();
    for (const lane of ['transactional', 'bulk'] as const) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: urls[lane], MaxNumberOfMessages: 10 }),
      );
      expect(Messages.map((message) => message.Body)).toEqual([bodies[lane]]);
      expect(await item(`fb-held-${lane}-${run}`)).toMatchObject({
        status: 'QUEUED',
        reasonCode: 'TENANT_RESUMED',
      });
    }
    expect((await item(`fb-held-sent-${run}`))?.status).toBe('SENT');

    // Resuming again releases nothing more.
    expect(await resumeTenant(tenantId, { pauses: pauses(), held })).toMatchObject({
      resumed: [],
      released: 0,
    });
    await expect(resumeTenant(`nobody-${run}`, { pauses: pauses(), held })).rejects.toBeInstanceOf(
      UnknownTenantError,
    );
  });
});
