import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoMessageLedger } from '../../../lambdas/adapters/message-ledger/dynamo-message-ledger';
import { SqsSendLanes } from '../../../lambdas/adapters/sqs-send-lanes';
import { DynamoTenantPauseStore } from '../../../lambdas/adapters/tenant-pause-store';
import { DynamoTenantStore } from '../../../lambdas/adapters/tenant-store';
import { type FeedbackEvent, toFeedbackEvent } from '../../../lambdas/domain/feedback/feedback-event';
import { parseSesEvent } from '../../../lambdas/domain/feedback/ses-event-schema';
import { pauseTenant, resumeTenant } from '../../../lambdas/domain/feedback/tenant-pause';
import { MessageStatus } from '../../../lambdas/domain/message';
import { laneMessageFromBody } from '../../../lambdas/domain/sending/send-request';
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

afterAll(() => {
  documents.destroy();
  sqs.destroy();
});

/** Claims a message as the sender does and returns its lease. */
async function claimed(messageId: string, tenantId: string, recipients: string[]) {
  const claim = await ledger().claim({
    messageId,
    tenantId,
    environment: 'developer-sandbox',
    category: 'transactional',
    recipients,
    subject: 'Invoice posted',
  });
  if (!claim.claimed) throw new Error(`${messageId} was not claimed`);
  return claim.lease;
}

/** Claims and records a sent message as the sender does, returning its SES message id. */
async function sentMessage(messageId: string, tenantId: string, recipients: string[]): Promise<string> {
  const sesMessageId = `ses-${messageId}`;
  const lease = await claimed(messageId, tenantId, recipients);
  await ledger().recordSent(messageId, lease, {
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

/** The recipients of the feedback events on a record's timeline. */
const eventRecipients = (stored: Record<string, unknown> | undefined) =>
  ((stored?.timeline ?? []) as { event?: string; recipient?: string }[]).flatMap((line) =>
    line.event && line.recipient ? [line.recipient] : [],
  );

const item = async (messageId: string) =>
  (await documents.send(new GetCommand({ TableName: messagesTable(), Key: { messageId } }))).Item;

describe('DynamoMessageLedger.applyFeedback', () => {
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

    const outcomes = await Promise.all(
      events.map((event) => ledger().applyFeedback(event.correlation, event)),
    );
    expect(outcomes.every((outcome) => outcome.result === 'applied')).toBe(true);

    const stored = await item(messageId);
    expect(stored?.status).toBe('BOUNCED');
    // Each recipient's event once on the timeline (the recipients' statuses are rebuilt from these lines).
    expect(eventRecipients(stored).sort()).toEqual([...recipients].sort());
    expect(stored?.feedback).toBeUndefined();
    expect(stored?.feedbackVersion).toBe(recipients.length);
    expect(stored?.timeline.map((entry: { status: string }) => entry.status).sort()).toEqual(
      ['SENDING', 'SENT', 'BOUNCED', ...Array(recipients.length - 1).fill('DELIVERED')].sort(),
    );

    const again = events[0] as FeedbackEvent;
    expect(await ledger().applyFeedback(again.correlation, again)).toEqual({
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
      await ledger().applyFeedback(event.correlation, event);
    }
    const stored = await item(messageId);
    expect(stored?.status).toBe('BOUNCED');
    // Each event once on the record's timeline, in arrival order; the recipient keeps the more severe outcome.
    expect(
      stored?.timeline.flatMap((entry: { event?: string }) => (entry.event ? [entry.event] : [])),
    ).toEqual(['Bounce', 'Delivery']);
    expect(stored?.feedback).toBeUndefined();
  });

  it('reads a record of the older shape (feedback timeline and event keys stored twice): a redelivery writes nothing', async () => {
    const messageId = `fb-older-${run}`;
    const tenantId = `fb-tenant-${run}`;
    const sesMessageId = await sentMessage(messageId, tenantId, ['old@example.com']);
    const delivery = eventFor('delivery.json', { messageId, tenantId, sesMessageId }, 'old@example.com');
    const [fact] = delivery.recipients;
    if (!fact) throw new Error('no fact');
    // What the ledger wrote before: the applied events inside `feedback`, not on the record's timeline.
    await documents.send(
      new UpdateCommand({
        TableName: messagesTable(),
        Key: { messageId },
        UpdateExpression: 'SET #status = :delivered, feedback = :feedback, feedbackVersion = :one',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':delivered': 'DELIVERED',
          ':one': 1,
          ':feedback': {
            recipients: {
              'old@example.com': { status: 'DELIVERED', at: fact.occurredAt, eventKey: fact.eventKey },
            },
            timeline: [
              {
                eventKey: fact.eventKey,
                eventType: 'Delivery',
                recipient: 'old@example.com',
                at: fact.occurredAt,
                status: 'DELIVERED',
              },
            ],
          },
        },
      }),
    );
    expect(await ledger().applyFeedback(delivery.correlation, delivery)).toMatchObject({
      result: 'duplicate',
    });
    expect((await item(messageId))?.feedbackVersion).toBe(1);
  });

  it('believes no event without our tags, even one naming the SES id of a message of ours', async () => {
    const messageId = `fb-untagged-${run}`;
    const tenantId = `fb-tenant-${run}`;
    const sesMessageId = await sentMessage(messageId, tenantId, ['someone@example.com']);
    const event = eventFor('complaint.json', { tenantId, sesMessageId }, 'someone@example.com');
    expect(event.correlation.via).toBe('ses-message-id');
    expect(await ledger().applyFeedback(event.correlation, event)).toEqual({ result: 'not-found' });
    expect((await item(messageId))?.status).toBe('SENT');
  });

  it.each([
    ['delivery.json', 'DELIVERED'],
    ['bounce-permanent.json', 'BOUNCED'],
    ['complaint.json', 'COMPLAINED'],
  ] as const)(
    'applies a %s that arrives before the sender records SENT: final %s either way',
    async (name, final) => {
      const recipient = 'early@example.com';
      const early = `fb-early-${name}-${run}`;
      const late = `fb-late-${name}-${run}`;
      // Feedback first, then the sender's record.
      const earlyLease = await claimed(early, 't', [recipient]);
      const first = eventFor(
        name,
        { messageId: early, tenantId: 't', sesMessageId: `ses-${early}` },
        recipient,
      );
      expect(await ledger().applyFeedback(first.correlation, first)).toMatchObject({
        result: 'applied',
        status: final,
      });
      const sent = { method: 'default', from: 'n@example.com', providerMessageId: `ses-${early}` } as const;
      expect(await ledger().recordSent(early, earlyLease, sent)).toBe('merged');
      // The sender first, then feedback.
      const lateLease = await claimed(late, 't', [recipient]);
      expect(await ledger().recordSent(late, lateLease, { ...sent, providerMessageId: `ses-${late}` })).toBe(
        'recorded',
      );
      const second = eventFor(
        name,
        { messageId: late, tenantId: 't', sesMessageId: `ses-${late}` },
        recipient,
      );
      await ledger().applyFeedback(second.correlation, second);

      const [a, b] = [await item(early), await item(late)];
      for (const stored of [a, b]) {
        expect(stored).toMatchObject({ status: final, method: 'default', fromAddress: 'n@example.com' });
        // The `byPending` entry stays (no index write): the sweeper's cursor passes it once.
        expect(stored).toMatchObject({
          sweepAt: expect.any(String),
          pendingShard: expect.stringMatching(/^P\d$/),
        });
        expect(stored?.leaseToken).toBeUndefined();
      }
      expect(eventRecipients(a)).toEqual([recipient]);
      expect(eventRecipients(b)).toEqual([recipient]);
    },
  );

  it('ignores feedback for a record the provider never had, and reports unknown messages', async () => {
    const messageId = `fb-rejected-${run}`;
    const lease = await claimed(messageId, 't', ['a@example.com']);
    await ledger().settle(messageId, lease, MessageStatus.REJECTED, {
      code: 'UNVERIFIED_FROM',
      reason: 'no',
    });
    const event = eventFor(
      'bounce-permanent.json',
      { messageId, tenantId: 't', sesMessageId: 'x' },
      'a@example.com',
    );
    expect(await ledger().applyFeedback(event.correlation, event)).toMatchObject({ result: 'ignored' });
    expect((await item(messageId))?.status).toBe('REJECTED');
    const unknown = eventFor(
      'delivery.json',
      { messageId: `nope-${run}`, tenantId: 't', sesMessageId: 'y' },
      'a@example.com',
    );
    expect(await ledger().applyFeedback(unknown.correlation, unknown)).toEqual({ result: 'not-found' });
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
    const heldIds = { transactional: '', bulk: '' };
    for (const [lane, body] of Object.entries(bodies) as ['transactional' | 'bulk', string][]) {
      const messageId = laneMessageFromBody(body).messageId;
      heldIds[lane] = messageId;
      const claim = await ledger().claim({
        messageId,
        tenantId,
        environment: 'developer-sandbox',
        category: lane,
        recipients: ['x@example.com'],
        subject: lane,
      });
      if (!claim.claimed) throw new Error('not claimed');
      await ledger().keepRequest(messageId, body);
      await ledger().settle(messageId, claim.lease, MessageStatus.PAUSED, {
        code: 'TENANT_PAUSED',
        reason: 'held',
        tenantId,
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
    const release = { pauses: pauses(), ledger: ledger(), lanes: new SqsSendLanes(sqs, { queueUrls: urls }) };
    expect(await resumeTenant(tenantId, release)).toEqual({
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
      expect(Messages.map((message) => JSON.parse(message.Body ?? ''))).toEqual([
        expect.objectContaining(JSON.parse(bodies[lane])),
      ]);
      expect(await item(heldIds[lane])).toMatchObject({
        status: 'QUEUED',
        reasonCode: 'TENANT_RESUMED',
      });
    }
    expect((await item(`fb-held-sent-${run}`))?.status).toBe('SENT');

    // Resuming again releases nothing more.
    expect(await resumeTenant(tenantId, release)).toMatchObject({
      resumed: [],
      released: 0,
    });
    await expect(resumeTenant(`nobody-${run}`, release)).rejects.toBeInstanceOf(UnknownTenantError);
  });
});
