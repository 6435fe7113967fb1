import { SQSClient, SQSServiceException } from '@aws-sdk/client-sqs';
import {
  billRunCompleted,
  CONTINUATION_HEADROOM_BYTES,
  composedEmail,
  createPublisher,
  customEvent,
  type InvoiceData,
  invoicePosted,
} from 'tenant-mail/client';
import { parseNotificationEvent } from '../../../lambdas/domain/notifications/event-schema';
import { createDispatchEventsHandler } from '../../../lambdas/handlers/dispatch-events';
import { createSqsPoller } from '../../../local/twin/sqs-poller';
import { testAws } from '../../support/env';
import {
  createDispatchQueues,
  type DispatchQueues,
  deleteDispatchQueues,
  dispatchDeps,
  drainQueue,
  drainRequests,
  seedBillRunDefinition,
  sqs,
  TEST_ENVIRONMENT,
} from '../dispatch/dispatch-harness';

const run = `${Date.now().toString(36)}-${process.pid}`;
let queues: DispatchQueues;

beforeAll(async () => {
  queues = await createDispatchQueues(`publisher-${run}`);
});

afterAll(async () => {
  await deleteDispatchQueues(queues);
  sqs.destroy();
});

const source = 'https://billing.platform.example/tests';

/** An invoice with every field of the documented example (docs/events.md, "Bill run completed"). */
function invoice(n: number): InvoiceData {
  const number = String(n).padStart(6, '0');
  return {
    invoiceId: `8a8082c4-${number}`,
    invoiceNumber: `INV-${number}`,
    accountId: `A-${number}`,
    accountNumber: `A0${number}`,
    accountName: `Customer ${number} Limited`,
    invoiceDate: '2025-03-01',
    dueDate: '2025-03-31',
    currency: 'EUR',
    amount: '99.00',
    balance: '99.00',
    billTo: {
      name: `Customer ${number} Accounts Payable`,
      email: `success+inv${number}@simulator.amazonses.com`,
    },
    pdfUrl: `https://billing.platform.example/invoices/INV-${number}.pdf`,
  };
}

/** Runs the real dispatcher on the events queue, as the event source mapping would, until it is empty. */
async function dispatchAll(): Promise<void> {
  const handler = createDispatchEventsHandler(dispatchDeps(queues));
  const poller = createSqsPoller(sqs, handler, {
    queueUrl: queues.events,
    queueArn: 'arn:aws:sqs:local:events',
  });
  await poller.drain();
}

describe('Publisher', () => {
  it('splits a 10,000-invoice bill run into numbered parts that dispatch to 10,000 emails, none twice when published again', async () => {
    const tenantId = `pub-billrun-${run}`;
    await seedBillRunDefinition(tenantId);
    const invoices = Array.from({ length: 10_000 }, (_, i) => invoice(i));
    // Built anew for each publish, as a producer retrying after a crash would (a new `time` each time).
    const build = () =>
      billRunCompleted(
        { tenantId, environment: TEST_ENVIRONMENT, source },
        { billRunId: `BR-${run}`, targetDate: '2025-03-01', invoices },
      );
    const publisher = createPublisher({ sqs, queueUrl: queues.events });

    const [first] = await publisher.publish([build()]);
    if (first?.status !== 'accepted') throw new Error(`bill run not accepted: ${JSON.stringify(first)}`);
    expect(first.messages.length).toBeGreaterThanOrEqual(5);
    const count = first.messages.length;
    expect(first.messages.map((m) => m.part)).toEqual(
      Array.from({ length: count }, (_, i) => ({ index: i + 1, count })),
    );
    expect(new Set(first.messages.map((m) => m.id)).size).toBe(count);

    await dispatchAll();
    const requests = await drainRequests(queues.sendBulk);
    expect(requests).toHaveLength(10_000);
    expect(new Set(requests.map((r) => r.idempotencyKey)).size).toBe(10_000);
    expect(new Set(requests.map((r) => r.to[0]))).toEqual(new Set(invoices.map((i) => i.billTo.email)));

    const [again] = await publisher.publish([build()]);
    expect(again).toMatchObject({ status: 'accepted', id: first.id });
    expect(again?.messages.map((m) => m.id)).toEqual(first.messages.map((m) => m.id));
    await dispatchAll();
    expect(await drainRequests(queues.sendBulk)).toEqual([]);
    expect(await drainQueue(queues.eventsDlq)).toEqual([]);
  }, 900_000);

  it('returns the one invalid event failed with the schema reason and accepts the others', async () => {
    const tenantId = `pub-mixed-${run}`;
    const attributes = { tenantId, environment: TEST_ENVIRONMENT, source };
    const results = await createPublisher({ sqs, queueUrl: queues.events }).publish([
      invoicePosted(attributes, invoice(1)),
      invoicePosted(attributes, { ...invoice(2), currency: 'euro' }),
      customEvent({ ...attributes, type: 'com.acme.subscription.renewed', key: 'S-1' }, { plan: 'pro' }),
      composedEmail({
        tenantId,
        environment: TEST_ENVIRONMENT,
        idempotencyKey: `reset-${run}`,
        to: [{ email: 'success+ann@simulator.amazonses.com', name: 'Ann' }],
        subject: 'Reset your password',
        text: 'Use this link within 30 minutes.',
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['accepted', 'failed', 'accepted', 'accepted']);
    // The documented reason format (docs/events.md, "Two kinds of message on the events queue").
    expect(results[1]).toMatchObject({
      code: 'INVALID_EVENT',
      reason: 'invalid event: data.currency: must be a 3-letter ISO 4217 code such as "EUR"',
      issues: [{ path: 'data.currency', message: 'must be a 3-letter ISO 4217 code such as "EUR"' }],
    });
    const onQueue = (await drainQueue(queues.events)).map((m) => JSON.parse(m.Body ?? '{}'));
    expect(onQueue.map((b) => b.id ?? b.idempotencyKey).sort()).toEqual(
      [results[0]?.id, results[2]?.id, `reset-${run}`].sort(),
    );
  });

  it('derives the same id for the same business key, and a different one per tenant', () => {
    const attributes = { environment: TEST_ENVIRONMENT, source };
    const a = invoicePosted({ ...attributes, tenantId: 'acme', time: '2025-03-01T00:00:00Z' }, invoice(7));
    const b = invoicePosted({ ...attributes, tenantId: 'acme', time: '2025-03-02T00:00:00Z' }, invoice(7));
    const c = invoicePosted({ ...attributes, tenantId: 'globex' }, invoice(7));
    const id = (m: typeof a) => (m.kind === 'event' ? m.event.id : '');
    expect(id(a)).toBe(id(b));
    expect(id(a)).not.toBe(id(c));
    expect(id(a)).toMatch(/^[\x21-\x7e]{1,256}$/);
  });

  it('retries a throttled call and the entries SQS failed on its side, then accepts every event', async () => {
    const tenantId = `pub-retry-${run}`;
    const client = new SQSClient({ ...testAws.sqs, maxAttempts: 1 });
    const faults = injectFaults(client);
    const attributes = { tenantId, environment: TEST_ENVIRONMENT, source };
    const messages = Array.from({ length: 12 }, (_, i) => invoicePosted(attributes, invoice(100 + i)));
    const results = await createPublisher({
      sqs: client,
      queueUrl: queues.events,
      retry: { baseDelayMs: 1 },
      concurrency: 1,
    }).publish(messages);
    client.destroy();
    expect(faults.throttled).toBe(1);
    expect(faults.failedEntries).toBe(2);
    expect(results.every((r) => r.status === 'accepted')).toBe(true);
    const onQueue = (await drainQueue(queues.events)).map((m) => JSON.parse(m.Body ?? '{}').id);
    expect(onQueue.sort()).toEqual(results.map((r) => r.id).sort());
  });

  it('gives up on a queue that keeps throttling after the configured attempts, and says so', async () => {
    const client = new SQSClient({ ...testAws.sqs, maxAttempts: 1 });
    let calls = 0;
    client.middlewareStack.add(
      () => async () => {
        calls++;
        throw throttled();
      },
      { step: 'initialize', name: 'alwaysThrottled' },
    );
    const attributes = { tenantId: `pub-throttled-${run}`, environment: TEST_ENVIRONMENT, source };
    const results = await createPublisher({
      sqs: client,
      queueUrl: queues.events,
      retry: { maxAttempts: 3, baseDelayMs: 1 },
    }).publish([invoicePosted(attributes, invoice(400))]);
    client.destroy();
    expect(calls).toBe(3);
    expect(results[0]).toMatchObject({
      status: 'failed',
      code: 'RequestThrottled',
      reason: 'RequestThrottled: Request is throttled. (gave up after 3 attempts)',
    });
  });

  it('reports the SQS reason for an entry the queue refuses, without retrying it', async () => {
    const tenantId = `pub-refused-${run}`;
    const attributes = { tenantId, environment: TEST_ENVIRONMENT, source };
    const results = await createPublisher({ sqs, queueUrl: queues.events }).publish([
      invoicePosted(attributes, invoice(200)),
      // U+FFFF is valid JSON and passes the schema, but SQS refuses it in a body.
      invoicePosted(attributes, { ...invoice(201), accountName: 'Bad \uffff name' }),
    ]);
    expect(results[0]?.status).toBe('accepted');
    expect(results[1]).toMatchObject({ status: 'failed', code: 'InvalidMessageContents' });
    expect(results[1]?.status === 'failed' && results[1].reason).not.toMatch(/gave up/);
    expect(await drainQueue(queues.events)).toHaveLength(1);
  });

  it('fails every event with the SQS error when the queue does not exist', async () => {
    const attributes = { tenantId: `pub-noqueue-${run}`, environment: TEST_ENVIRONMENT, source };
    const results = await createPublisher({
      sqs,
      queueUrl: `${queues.events}-missing`,
      retry: { baseDelayMs: 1 },
    }).publish([invoicePosted(attributes, invoice(300))]);
    expect(results[0]).toMatchObject({ status: 'failed', code: expect.stringMatching(/QueueDoesNotExist/) });
  });

  it('keeps every part under the message limit, with room for the continuation cursor, and loses no invoice', async () => {
    const maxMessageBytes = 200_000;
    const invoices = Array.from({ length: 3_000 }, (_, i) => invoice(1_000 + i));
    const [result] = await createPublisher({ sqs, queueUrl: queues.events, maxMessageBytes }).publish([
      billRunCompleted(
        { tenantId: `pub-parts-${run}`, environment: TEST_ENVIRONMENT, source },
        { billRunId: `BR-parts-${run}`, targetDate: '2025-03-01', invoices },
      ),
    ]);
    expect(result?.status).toBe('accepted');
    const bodies = (await drainQueue(queues.events)).map((m) => m.Body ?? '');
    expect(bodies.length).toBe(result?.messages.length);
    expect(bodies.length).toBeGreaterThan(1);
    for (const body of bodies) {
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(maxMessageBytes - CONTINUATION_HEADROOM_BYTES);
      // Valid on its own, as the dispatcher will read it.
      expect(parseNotificationEvent(JSON.parse(body)).data.part).toEqual({
        index: expect.any(Number),
        count: bodies.length,
      });
    }
    const parts = bodies
      .map((body) => JSON.parse(body).data as { part: { index: number }; invoices: InvoiceData[] })
      .sort((a, b) => a.part.index - b.part.index);
    expect(parts.flatMap((p) => p.invoices)).toEqual(invoices);
  });
});

/**
 * Faults fauxqs cannot produce, injected on a real client talking to it: the first call is refused with SQS's
 * `RequestThrottled` error, and the next has two of its entries answered as `Failed` with `SenderFault: false`
 * (the SendMessageBatch shapes of the SQS API reference) instead of being sent.
 */
function injectFaults(client: SQSClient) {
  const faults = { throttled: 0, failedEntries: 0 };
  let calls = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      calls++;
      const input = args.input as { Entries?: { Id: string }[] };
      if (calls === 1) {
        faults.throttled++;
        throw throttled();
      }
      if (calls !== 2 || !input.Entries || input.Entries.length <= 2) return next(args);
      const dropped = input.Entries.slice(0, 2);
      input.Entries = input.Entries.slice(2);
      const result = await next(args);
      const output = result.output as { Failed?: unknown[] };
      output.Failed = [
        ...(output.Failed ?? []),
        ...dropped.map((entry) => ({
          Id: entry.Id,
          SenderFault: false,
          Code: 'InternalError',
          Message: 'We encountered an internal error. Please try again.',
        })),
      ];
      faults.failedEntries += dropped.length;
      return result;
    },
    { step: 'initialize', name: 'injectFaults' },
  );
  return faults;
}

/** SQS's throttling error for SendMessageBatch (`RequestThrottled`, HTTP 400, a client fault). */
function throttled(): SQSServiceException {
  return new SQSServiceException({
    name: 'RequestThrottled',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'Request is throttled.',
  });
}
