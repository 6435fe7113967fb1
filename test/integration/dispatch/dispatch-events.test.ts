import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { definitionKeys } from '../../../lambdas/adapters/definition-store';
import { SqsSendLanes } from '../../../lambdas/adapters/sqs-send-lanes';
import type { SendLanes } from '../../../lambdas/domain/message';
import { MessageStatus } from '../../../lambdas/domain/message';
import {
  DISPATCH_CURSOR_ATTRIBUTE,
  dispatchEvents,
} from '../../../lambdas/domain/notifications/dispatch-events';
import { messageIdFor, sendRequestSchema } from '../../../lambdas/domain/sending/send-request';
import { createDispatchEventsHandler } from '../../../lambdas/handlers/dispatch-events';
import { createSqsPoller } from '../../../local/twin/sqs-poller';
import { testStack } from '../../support/env';
import {
  billRun,
  createDispatchQueues,
  type DispatchQueues,
  definitionStore,
  deleteDispatchQueues,
  dispatchDeps,
  documents,
  drainQueue,
  drainRequests,
  fixture,
  ledger,
  readExpected,
  recordsOf,
  seedBillRunDefinition,
  sqs,
  sqsEvent,
  TEST_ENVIRONMENT,
} from './dispatch-harness';

const run = `${Date.now().toString(36)}-${process.pid}`;
let queues: DispatchQueues;

beforeAll(async () => {
  queues = await createDispatchQueues(`dispatch-${run}`);
});

afterAll(async () => {
  await deleteDispatchQueues(queues);
  sqs.destroy();
});

const record = async (messageId: string) =>
  (await documents.send(new GetCommand({ TableName: testStack.table('messages'), Key: { messageId } }))).Item;

/** Publishes bodies to the events queue and runs the dispatcher on it as the event source mapping would. */
async function publishAndDispatch(bodies: string[], maxItemsPerInvocation = 500) {
  for (const body of bodies)
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.events, MessageBody: body }));
  const batches: number[] = [];
  const handler = createDispatchEventsHandler(dispatchDeps(queues, { maxItemsPerInvocation }));
  const poller = createSqsPoller(
    sqs,
    async (event, context) => {
      batches.push(event.Records.length);
      return handler(event, context);
    },
    { queueUrl: queues.events, queueArn: 'arn:aws:sqs:local:events' },
  );
  await poller.drain();
  return { invocations: batches.length };
}

const EXAMPLES = [
  ['invoice-posted', 'invoice-posted', 'transactional'],
  ['payment-processed', 'payment-receipt', 'transactional'],
  ['account-statement-processed', 'account-statement', 'bulk'],
  ['bill-run-completed', 'invoice-posted', 'bulk'],
  ['custom-subscription-renewed', 'subscription-renewed', 'transactional'],
] as const;

interface Expected {
  readonly status: 'accepted' | 'rejected';
  readonly to?: string;
  readonly cc?: string[];
  readonly bcc?: string[];
  readonly subject?: string;
  readonly headers?: Record<string, string>;
  readonly code?: string;
  readonly reason?: string;
}

describe('dispatching the documented example events', () => {
  it.each(EXAMPLES)(
    'publishing the %s example produces the send-queue messages and rejections of its expected.json',
    async (example, templateId, lane) => {
      const tenantId = `ex-${example.slice(0, 12)}-${run}`;
      await definitionStore.putTemplate(fixture(`${templateId}.template.json`, tenantId));
      await definitionStore.putDefinition(fixture(`${example}.definition.json`, tenantId));
      const event = fixture(`${example}.event.json`, tenantId);
      await publishAndDispatch([JSON.stringify(event)]);

      const expected = readExpected(`${example}.expected.json`) as Expected[];
      const onLane = await drainRequests(lane === 'bulk' ? queues.sendBulk : queues.send);
      expect(await drainRequests(lane === 'bulk' ? queues.send : queues.sendBulk)).toEqual([]);
      const accepted = expected.filter((e) => e.status === 'accepted');
      expect(
        onLane
          .map((r) => ({ to: r.to[0], cc: r.cc, bcc: r.bcc, subject: r.subject, headers: r.headers }))
          .sort((a, b) => String(a.to).localeCompare(String(b.to))),
      ).toEqual(
        accepted
          .map((e) => ({ to: e.to, cc: e.cc, bcc: e.bcc, subject: e.subject, headers: e.headers }))
          .sort((a, b) => String(a.to).localeCompare(String(b.to))),
      );
      for (const request of onLane) {
        expect(sendRequestSchema.parse(request)).toEqual(request);
        expect(request).toMatchObject({
          tenantId,
          environment: TEST_ENVIRONMENT,
          category: lane,
          eventId: event.id,
          definitionId: expect.any(String),
        });
        expect(await record(messageIdFor(tenantId, request.idempotencyKey ?? ''))).toMatchObject({
          status: MessageStatus.QUEUED,
        });
      }
      const rejected = (await recordsOf(tenantId)).filter((r) => r.status === MessageStatus.REJECTED);
      expect(rejected.map((r) => ({ code: r.reasonCode, reason: r.reason }))).toEqual(
        expected.filter((e) => e.status === 'rejected').map((e) => ({ code: e.code, reason: e.reason })),
      );
    },
  );

  it("turns a composed email into exactly one send-queue message in the sender's format", async () => {
    const tenantId = `composed-${run}`;
    const body = JSON.stringify(fixture('composed-email.json', tenantId));
    await publishAndDispatch([body, body]);
    const sent = await drainRequests(queues.send);
    expect(sent).toHaveLength(2);
    expect(sent[0]).toEqual({
      type: 'email',
      idempotencyKey: 'password-reset-7f3a9c',
      tenantId,
      environment: TEST_ENVIRONMENT,
      to: ['success+ann@simulator.amazonses.com'],
      cc: [],
      bcc: [],
      subject: 'Reset your password',
      html: expect.stringContaining('this link'),
      text: expect.stringContaining('this link'),
      category: 'transactional',
      headers: { 'X-Request-Id': 'req-7f3a9c' },
    });
    // A redelivered composed email is one message id for the sender's ledger, which sends it once.
    expect(new Set(sent.map((r) => messageIdFor(r.tenantId, r.idempotencyKey ?? ''))).size).toBe(1);
  });
});

describe('redelivery and crash safety', () => {
  it('creates no second job and publishes nothing when the same event is delivered again (its chunk was marked published)', async () => {
    const tenantId = `redeliver-${run}`;
    await seedBillRunDefinition(tenantId);
    const body = JSON.stringify(billRun(tenantId, `br-${run}`, 25));
    await publishAndDispatch([body]);
    expect(await drainRequests(queues.sendBulk)).toHaveLength(25);

    const again = await dispatchEvents({ body, sqsMessageId: 'redelivered' }, dispatchDeps(queues));
    expect(again).toMatchObject({ kind: 'event', queued: 0, requeued: 0, duplicates: 25 });
    expect(await drainRequests(queues.sendBulk)).toEqual([]);
    expect(await recordsOf(tenantId)).toHaveLength(25);
  });

  it('publishes again a job whose record was created but whose send failed, and never touches a SENT one', async () => {
    const tenantId = `crash-${run}`;
    await seedBillRunDefinition(tenantId);
    const body = JSON.stringify(billRun(tenantId, `crash-${run}`, 3));
    const failing: SendLanes = {
      publish: async () => {
        throw new Error('SQS unavailable');
      },
    };
    await expect(
      dispatchEvents({ body, sqsMessageId: 'first' }, dispatchDeps(queues, { lanes: failing })),
    ).rejects.toThrow('SQS unavailable');
    const created = await recordsOf(tenantId);
    expect(created).toHaveLength(3);
    expect(created.every((r) => r.status === MessageStatus.QUEUED)).toBe(true);

    // Meanwhile one of them was sent (e.g. a copy published before the crash reached the sender).
    const [sentRecord] = created;
    const claim = await ledger.claim({
      messageId: String(sentRecord?.messageId),
      tenantId,
      environment: 'developer-sandbox',
      category: 'bulk',
      recipients: ['a@example.com'],
      subject: 's',
    });
    if (!claim.claimed) throw new Error('expected a claim');
    await ledger.recordSent(String(sentRecord?.messageId), claim.lease, {
      method: 'default',
      from: 'notifications@example.com',
      providerMessageId: 'ses-1',
    });

    const retry = await dispatchEvents({ body, sqsMessageId: 'first' }, dispatchDeps(queues));
    expect(retry).toMatchObject({ queued: 0, requeued: 2, duplicates: 1 });
    const published = await drainRequests(queues.sendBulk);
    expect(published.map((r) => messageIdFor(tenantId, r.idempotencyKey ?? '')).sort()).toEqual(
      created
        .slice(1)
        .map((r) => r.messageId)
        .sort(),
    );
    expect(await record(String(sentRecord?.messageId))).toMatchObject({ status: MessageStatus.SENT });
    for (const r of created.slice(1)) {
      expect(await record(String(r.messageId))).toMatchObject({ status: 'QUEUED' });
    }
  });
});

describe('bad input', () => {
  it('records an invalid event REJECTED with its field errors, dead-letters it with the reason, and acknowledges it', async () => {
    const tenantId = `invalid-${run}`;
    const event = billRun(tenantId, `invalid-${run}`, 1) as { data: { invoices: { currency: string }[] } };
    const [invoice] = event.data.invoices;
    if (invoice) invoice.currency = 'euro';
    const body = JSON.stringify(event);
    const handler = createDispatchEventsHandler(dispatchDeps(queues));
    const response = await handler(sqsEvent(body, `sqs-invalid-${run}`), {} as never);
    expect(response).toEqual({ batchItemFailures: [] });

    const [dead, ...more] = await drainQueue(queues.eventsDlq);
    expect(more).toEqual([]);
    expect(dead?.Body).toBe(body);
    expect(dead?.MessageAttributes?.reasonCode?.StringValue).toBe('INVALID_EVENT');
    expect(dead?.MessageAttributes?.reason?.StringValue).toBe(
      'invalid event: data.invoices[0].currency: must be a 3-letter ISO 4217 code such as "EUR"',
    );
    expect(await record(messageIdFor('_invalid', `events:sqs:sqs-invalid-${run}`))).toMatchObject({
      status: MessageStatus.REJECTED,
      tenantId,
      reasonCode: 'INVALID_EVENT',
      reason: expect.stringContaining('data.invoices[0].currency'),
      bodyExcerpt: body.slice(0, 2048),
    });
    expect(await drainQueue(queues.sendBulk)).toEqual([]);
  });

  it('refuses an event for an environment this scope does not serve, with a clear reason', async () => {
    const tenantId = `otherscope-${run}`;
    const body = JSON.stringify({ ...billRun(tenantId, `prod-${run}`, 1), environment: 'production' });
    const outcome = await dispatchEvents({ body, sqsMessageId: `sqs-prod-${run}` }, dispatchDeps(queues));
    expect(outcome).toMatchObject({ kind: 'dead-lettered', reasonCode: 'ENVIRONMENT_NOT_SERVED' });
    const [dead] = await drainQueue(queues.eventsDlq);
    expect(dead?.MessageAttributes?.reason?.StringValue).toBe(
      'environment "production" is not served by this scope (it serves developer-sandbox, central-sandbox): publish to the other scope\'s queue',
    );
    expect(await record(messageIdFor('_invalid', `events:sqs:sqs-prod-${run}`))).toMatchObject({
      status: MessageStatus.REJECTED,
      reasonCode: 'ENVIRONMENT_NOT_SERVED',
    });
  });

  it('dead-letters a composed email that is invalid', async () => {
    const body = JSON.stringify({ tenantId: `x-${run}`, environment: TEST_ENVIRONMENT, subject: 'Hi' });
    const outcome = await dispatchEvents({ body, sqsMessageId: `sqs-email-${run}` }, dispatchDeps(queues));
    expect(outcome).toMatchObject({ kind: 'dead-lettered', reasonCode: 'INVALID_EMAIL' });
    const [dead] = await drainQueue(queues.eventsDlq);
    expect(dead?.MessageAttributes?.reason?.StringValue).toMatch(/^invalid composed email: .*to/);
  });

  it('rejects the one email whose template fails to render with the engine message, and sends the others', async () => {
    const tenantId = `render-${run}`;
    await definitionStore.putTemplate({
      tenantId,
      templateId: 'invoice',
      subject: 'Invoice {{ item.invoiceNumber }} {{ item.note }}',
      text: 'Invoice {{ item.invoiceNumber }}',
    });
    await definitionStore.putDefinition({
      tenantId,
      environment: TEST_ENVIRONMENT,
      definitionId: 'bill-run-invoices',
      eventType: 'com.tenantmail.bill-run.completed',
      forEach: { items: '$.invoices', key: '$.invoiceId' },
      templateId: 'invoice',
      to: ['$.billTo', '$.contacts'],
      category: 'bulk',
      active: true,
    });
    const event = billRun(tenantId, `render-${run}`, 3) as {
      data: { invoices: Record<string, unknown>[] };
    };
    const invoices = event.data.invoices;
    if (invoices[1]) invoices[1].note = 'line one\nBcc: victim@evil.example';
    if (invoices[2]) invoices[2].contacts = [{ name: 'No address' }, 'not-an-address'];
    const outcome = await dispatchEvents(
      { body: JSON.stringify(event), sqsMessageId: `sqs-render-${run}` },
      dispatchDeps(queues),
    );
    // Invoices 0 and 2 go out; invoice 1 fails to render; invoice 0's and 1's missing $.contacts and invoice 2's
    // two bad contacts are recipient rejections.
    expect(outcome).toMatchObject({ queued: 2, rejected: 5 });
    expect((await drainRequests(queues.sendBulk)).map((r) => r.subject).sort()).toEqual([
      'Invoice N0',
      'Invoice N2',
    ]);
    const rejected = (await recordsOf(tenantId)).filter((r) => r.status === MessageStatus.REJECTED);
    expect(rejected.map((r) => `${r.itemKey} ${r.reasonCode}: ${r.reason}`).sort()).toEqual([
      'i0 RECIPIENT_NOT_FOUND: $.contacts resolved to nothing',
      'i1 RECIPIENT_NOT_FOUND: $.contacts resolved to nothing',
      'i1 RENDERING_FAILURE: template invoice failed to render: subject must not contain a line break (CR or LF)',
      'i2 INVALID_RECIPIENT: $.contacts resolved to "not-an-address", which is not of the form local@domain',
      'i2 RECIPIENT_NOT_FOUND: $.contacts resolved to a contact without email',
    ]);
  });

  it('rejects the jobs of a definition whose template no longer exists', async () => {
    const tenantId = `notemplate-${run}`;
    await seedBillRunDefinition(tenantId);
    await documents.send(
      new DeleteCommand({
        TableName: testStack.table('definitions'),
        Key: definitionKeys.template(tenantId, 'invoice'),
      }),
    );
    const outcome = await dispatchEvents(
      { body: JSON.stringify(billRun(tenantId, `nt-${run}`, 2)), sqsMessageId: `sqs-nt-${run}` },
      dispatchDeps(queues),
    );
    expect(outcome).toMatchObject({ queued: 0, rejected: 2 });
    const records = await recordsOf(tenantId);
    expect(records.map((r) => r.reasonCode)).toEqual(['TEMPLATE_NOT_FOUND', 'TEMPLATE_NOT_FOUND']);
    expect(records[0]?.reason).toBe(
      `definition bill-run-invoices sends template invoice, which tenant ${tenantId} does not have`,
    );
  });

  it('returns a transient failure (the send queue is unreachable) as a batch item failure', async () => {
    const tenantId = `transient-${run}`;
    await seedBillRunDefinition(tenantId);
    const missing = `${queues.send}-does-not-exist`;
    const handler = createDispatchEventsHandler(
      dispatchDeps(queues, {
        lanes: new SqsSendLanes(sqs, { queueUrls: { transactional: missing, bulk: missing } }),
      }),
    );
    const response = await handler(
      sqsEvent(JSON.stringify(billRun(tenantId, `tr-${run}`, 1)), 'transient-1'),
      {} as never,
    );
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'transient-1' }] });
    expect(await drainQueue(queues.eventsDlq)).toEqual([]);
  });
});

describe('chunk and continue', () => {
  it('dispatches a 1,200-invoice bill run through the events queue in three invocations, one message per invoice', async () => {
    const tenantId = `chunks-${run}`;
    await seedBillRunDefinition(tenantId);
    const { invocations } = await publishAndDispatch(
      [JSON.stringify(billRun(tenantId, `chunks-${run}`, 1200))],
      500,
    );
    expect(invocations).toBe(3);
    const requests = await drainRequests(queues.sendBulk);
    expect(requests).toHaveLength(1200);
    expect(new Set(requests.map((r) => r.idempotencyKey)).size).toBe(1200);
    expect(new Set(requests.map((r) => r.to[0])).size).toBe(1200);
  });

  it('dead-letters a message whose continuation cursor is malformed', async () => {
    const body = JSON.stringify({
      ...billRun(`cursor-${run}`, `cursor-${run}`, 1),
      [DISPATCH_CURSOR_ATTRIBUTE]: 'x',
    });
    const outcome = await dispatchEvents({ body, sqsMessageId: `sqs-cursor-${run}` }, dispatchDeps(queues));
    expect(outcome).toMatchObject({ kind: 'dead-lettered', reasonCode: 'INVALID_EVENT' });
    await drainQueue(queues.eventsDlq);
  });
});
