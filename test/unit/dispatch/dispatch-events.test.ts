import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import {
  type JobRecord,
  type JobRecordResult,
  type LaneMessage,
  MessageStatus,
} from '../../../lambdas/domain/message';
import {
  composedToSendRequest,
  parseComposedEmail,
} from '../../../lambdas/domain/notifications/composed-email-schema';
import type { Definition } from '../../../lambdas/domain/notifications/definition-schema';
import { parseDefinition } from '../../../lambdas/domain/notifications/definition-schema';
import {
  DEFAULT_DISPATCH_LIMITS,
  DISPATCH_CURSOR_ATTRIBUTE,
  type DispatchDeps,
  type DispatchLedger,
  type DispatchOutcome,
  dispatchEvents,
} from '../../../lambdas/domain/notifications/dispatch-events';
import { TemplateRenderer } from '../../../lambdas/domain/notifications/template-renderer';
import { parseTemplate, type Template } from '../../../lambdas/domain/notifications/template-schema';
import type { SendRequest } from '../../../lambdas/domain/sending/send-request';
import { createDispatchEventsHandler } from '../../../lambdas/handlers/dispatch-events';
import { sqsEvent } from '../../../local/twin/sqs-poller';

/**
 * The ports implemented in memory with the semantics of the DynamoDB and SQS adapters (conditional create,
 * per-lane publish), so the chunking arithmetic is checked on 10,000 invoices in a unit test. The
 * same behaviour against DynamoDB Local and fauxqs is covered by test/integration/dispatch.
 */
class MemoryLedger implements DispatchLedger {
  readonly records = new Map<string, Omit<JobRecord, 'status'> & { status: MessageStatus }>();
  readonly invalid = new Map<string, { code: string; reason: string }>();
  async createJobRecords(records: readonly JobRecord[]): Promise<JobRecordResult[]> {
    return records.map((record) => {
      const existing = this.records.get(record.messageId);
      if (existing) return { created: false, status: existing.status };
      this.records.set(record.messageId, { ...record });
      return { created: true };
    });
  }
  readonly published = new Set<string>();
  async wasPublished(batchKey: string): Promise<boolean> {
    return this.published.has(batchKey);
  }
  async markPublished(batchKey: string): Promise<void> {
    this.published.add(batchKey);
  }
  async recordInvalid(messageId: string, detail: { code: string; reason: string }): Promise<void> {
    this.invalid.set(messageId, detail);
  }
}

const TENANT = 'unit-tenant';
const ENVIRONMENT = 'developer-sandbox';

const definition: Definition = parseDefinition({
  tenantId: TENANT,
  environment: ENVIRONMENT,
  definitionId: 'bill-run-invoices',
  eventType: 'com.tenantmail.bill-run.completed',
  forEach: { items: '$.invoices', key: '$.invoiceId' },
  templateId: 'invoice',
  to: ['$.billTo'],
  category: 'bulk',
  active: true,
});
const template: Template = parseTemplate({
  tenantId: TENANT,
  templateId: 'invoice',
  subject: 'Invoice {{ item.invoiceNumber }}',
  text: 'Invoice {{ item.invoiceNumber }}',
  version: 1,
});

function billRun(count: number) {
  return {
    specversion: '1.0',
    id: 'bill-run-10k',
    source: 'https://billing.platform.example/tests',
    type: 'com.tenantmail.bill-run.completed',
    time: '2025-03-01T06:00:00Z',
    tenantid: TENANT,
    environment: ENVIRONMENT,
    data: {
      billRunId: 'br',
      targetDate: '2025-03-01',
      invoices: Array.from({ length: count }, (_, i) => ({
        invoiceId: `i${i}`,
        invoiceNumber: `N${i}`,
        accountId: `a${i}`,
        invoiceDate: '2025-03-01',
        dueDate: '2025-03-31',
        currency: 'EUR',
        amount: '1.00',
        billTo: { email: `success+${i}@simulator.amazonses.com` },
      })),
    },
  };
}

function harness(definitions: Definition[] = [definition], maxItemsPerInvocation = 500) {
  const ledger = new MemoryLedger();
  const published: (LaneMessage & { request: SendRequest })[] = [];
  const continuations: string[] = [];
  const deadLetters: { body: string; code: string; reason: string }[] = [];
  const deps: DispatchDeps = {
    definitions: {
      definitionsFor: async () => definitions,
      templateFor: async (_tenant, id) => (id === template.templateId ? template : undefined),
    },
    renderer: new TemplateRenderer(),
    ledger,
    lanes: {
      publish: async (messages) => {
        published.push(...messages.map((m) => ({ ...m, request: JSON.parse(m.body) as SendRequest })));
        return { sent: messages.map((m) => m.messageId) };
      },
    },
    eventsQueue: {
      continueLater: async (body) => {
        continuations.push(body);
      },
      deadLetter: async (body, reason) => {
        deadLetters.push({ body, ...reason });
      },
    },
    settings: {
      ...DEFAULT_DISPATCH_LIMITS,
      servedEnvironments: ['developer-sandbox', 'central-sandbox'],
      maxItemsPerInvocation,
    },
  };
  /** Runs the body and every continuation it leads to, as the events queue would deliver them. */
  const runToCompletion = async (body: string) => {
    const outcomes: DispatchOutcome[] = [];
    const bodies = [body];
    let index = 0;
    for (let next = bodies.shift(); next !== undefined; next = bodies.shift()) {
      const before = continuations.length;
      outcomes.push(await dispatchEvents({ body: next, sqsMessageId: `sqs-${index++}` }, deps));
      bodies.push(...continuations.slice(before));
    }
    return outcomes;
  };
  return { deps, ledger, published, continuations, deadLetters, runToCompletion };
}

describe('dispatchEvents: chunk and continue', () => {
  it('dispatches a 10,000-invoice bill run in 20 invocations of 500 with exactly 10,000 distinct messages', async () => {
    const { published, ledger, runToCompletion } = harness();
    const body = JSON.stringify(billRun(10_000));
    const outcomes = await runToCompletion(body);

    expect(outcomes).toHaveLength(20);
    expect(outcomes.every((o) => o.kind === 'event' && o.queued === 500)).toBe(true);
    expect(outcomes.map((o) => o.continuation)).toEqual([
      ...Array.from({ length: 19 }, (_, i) => `bill-run-invoices:${(i + 1) * 500}`),
      undefined,
    ]);
    expect(published).toHaveLength(10_000);
    expect(new Set(published.map((m) => m.messageId)).size).toBe(10_000);
    expect(new Set(published.map((m) => m.request.to[0])).size).toBe(10_000);
    expect(published.every((m) => m.request.category === 'bulk' && m.request.idempotencyKey)).toBe(true);
    expect(ledger.records.size).toBe(10_000);
  });

  it('creates nothing new when the event and all its continuations are delivered again', async () => {
    const { published, ledger, runToCompletion } = harness();
    const body = JSON.stringify(billRun(2_000));
    await runToCompletion(body);
    expect(published).toHaveLength(2_000);
    // Each chunk of 50 jobs noted, in one write, that its lane messages reached SQS: nothing is published again.
    expect(ledger.published.size).toBe(2_000 / 50);
    const again = await runToCompletion(body);
    expect(again.map((o) => o.queued + o.requeued)).toEqual([0, 0, 0, 0]);
    expect(again.map((o) => o.duplicates)).toEqual([500, 500, 500, 500]);
    expect(published).toHaveLength(2_000);
    // A chunk with no such note (the earlier attempt died before it): its records still QUEUED go on their lanes
    // again under the same ids (the sender's claim makes each pair one email).
    ledger.published.clear();
    const unmarked = await runToCompletion(body);
    expect(unmarked.map((o) => o.requeued)).toEqual([500, 500, 500, 500]);
    expect(new Set(published.map((m) => m.messageId)).size).toBe(2_000);
    // Once the sender moved them on, a redelivery publishes nothing, marked or not.
    ledger.published.clear();
    for (const record of ledger.records.values()) record.status = MessageStatus.SENT;
    const late = await runToCompletion(body);
    expect(late.map((o) => o.queued + o.requeued)).toEqual([0, 0, 0, 0]);
    expect(late.map((o) => o.duplicates)).toEqual([500, 500, 500, 500]);
    expect(published).toHaveLength(4_000);
  });

  it('continues with the next definition when the budget ends exactly at a definition boundary', async () => {
    const second = parseDefinition({
      ...definition,
      definitionId: 'z-second',
      to: ['success+ar@simulator.amazonses.com'],
      forEach: undefined,
    });
    const { published, runToCompletion } = harness([second, definition], 500);
    const outcomes = await runToCompletion(JSON.stringify(billRun(500)));
    expect(outcomes.map((o) => o.continuation)).toEqual(['z-second:0', undefined]);
    expect(published).toHaveLength(501);
  });

  it('carries the cursor as a CloudEvents extension attribute on the continuation', async () => {
    const { continuations, runToCompletion } = harness(undefined, 400);
    await runToCompletion(JSON.stringify(billRun(500)));
    expect(continuations).toHaveLength(1);
    const continuation = JSON.parse(continuations[0] ?? '{}') as Record<string, unknown>;
    expect(continuation[DISPATCH_CURSOR_ATTRIBUTE]).toBe('bill-run-invoices:400');
    expect(continuation.id).toBe('bill-run-10k');
  });
});

describe('dispatchEvents: budgets that keep one tenant from holding the dispatcher', () => {
  /** A renderer that takes `ms` of (virtual) time per job. */
  const slow = (h: ReturnType<typeof harness>, ms: number) => {
    let now = 0;
    const real = h.deps.renderer;
    Object.assign(h.deps, {
      clock: { now: () => new Date(now) },
      renderer: {
        render: async (...args: Parameters<TemplateRenderer['render']>) => {
          now += ms;
          return real.render(...args);
        },
      },
    });
  };

  it('stops rendering at the per-event budget, with every rendered job recorded, and continues after the last', async () => {
    const h = harness();
    slow(h, 200);
    Object.assign(h.deps, { settings: { ...h.deps.settings, renderBudgetMs: 20_000 } });
    const outcomes = await h.runToCompletion(JSON.stringify(billRun(300)));
    // 50 jobs × 200 ms per chunk: two chunks reach the 20 s budget.
    expect(outcomes.map((o) => o.continuation)).toEqual([
      'bill-run-invoices:100',
      'bill-run-invoices:200',
      undefined,
    ]);
    expect(outcomes.map((o) => o.queued)).toEqual([100, 100, 100]);
    expect(h.ledger.records.size).toBe(300);
    expect(new Set(h.published.map((m) => m.messageId)).size).toBe(300);
  });

  it('continues later when the function is about to time out, never losing the chunk it finished', async () => {
    const h = harness();
    let remaining = 60_000;
    const record = (body: string) => ({
      body,
      sqsMessageId: 'sqs-t',
      remainingTimeMs: () => {
        remaining -= 20_000;
        return remaining;
      },
    });
    const first = await dispatchEvents(record(JSON.stringify(billRun(300))), h.deps);
    // After the first chunk 40 s are left, after the second 20 s: below the 15 s margin at the third check.
    expect(first).toMatchObject({ queued: 150, continuation: 'bill-run-invoices:150' });
    expect(h.ledger.records.size).toBe(150);
  });

  it('refuses an event whose data nests deeper than the limit, whole, with the limit named', async () => {
    const h = harness();
    const event = billRun(2) as { data: Record<string, unknown> };
    event.data.extra = '__DEEP__';
    // 50,000 nested arrays, written as text: JSON.stringify itself would overflow the stack on them.
    const body = JSON.stringify(event).replace('"__DEEP__"', `${'['.repeat(50_000)}"x"${']'.repeat(50_000)}`);
    const outcome = await dispatchEvents({ body, sqsMessageId: 'deep' }, h.deps);
    expect(outcome).toMatchObject({ kind: 'dead-lettered', reasonCode: 'INVALID_EVENT' });
    expect(h.deadLetters[0]?.reason).toContain('the limit is 32 levels');
    expect(h.ledger.records.size).toBe(0);
    expect(h.published).toHaveLength(0);
  });
});

describe('composedToSendRequest', () => {
  it('maps the documented composed email onto the send-queue message', () => {
    const fixture = JSON.parse(
      readFileSync(join(__dirname, '../../fixtures/events/composed-email.json'), 'utf8'),
    ) as unknown;
    const request = composedToSendRequest(parseComposedEmail(fixture));
    expect(request).toMatchObject({
      type: 'email',
      idempotencyKey: 'password-reset-7f3a9c',
      to: ['success+ann@simulator.amazonses.com'],
      category: 'transactional',
      headers: { 'X-Request-Id': 'req-7f3a9c' },
    });
  });
});

describe('dispatchEvents: bad input', () => {
  it('dead-letters a body that is not JSON with its reason', async () => {
    const { deps, deadLetters, ledger } = harness();
    const outcome = await dispatchEvents({ body: 'not json', sqsMessageId: 'm1' }, deps);
    expect(outcome).toMatchObject({ kind: 'dead-lettered', reasonCode: 'INVALID_EVENT' });
    expect(deadLetters).toEqual([
      {
        body: 'not json',
        code: 'INVALID_EVENT',
        reason: expect.stringMatching(/^invalid event: body is not JSON/),
      },
    ]);
    expect([...ledger.invalid.values()]).toEqual([
      { code: 'INVALID_EVENT', reason: deadLetters[0]?.reason, body: 'not json' },
    ]);
  });

  it('lets a transient failure through so SQS retries the record', async () => {
    const { deps } = harness();
    const failing: DispatchDeps = {
      ...deps,
      definitions: {
        definitionsFor: async () => {
          throw new Error('DynamoDB unavailable');
        },
        templateFor: async () => undefined,
      },
    };
    await expect(
      dispatchEvents({ body: JSON.stringify(billRun(1)), sqsMessageId: 'm2' }, failing),
    ).rejects.toThrow('DynamoDB unavailable');
  });
});

describe('dispatch handler: tenants whose jobs keep failing are reported', () => {
  it('publishes JobsRejected with the tenant for the jobs it rejected', async () => {
    const { deps } = harness();
    const withoutTemplate: DispatchDeps = {
      ...deps,
      definitions: { ...deps.definitions, templateFor: async () => undefined },
    };
    const recorded: { dimension?: string; name: string; value: number }[] = [];
    const metrics = {
      singleMetric: () => {
        let dimension: string | undefined;
        return {
          addDimension: (_name: string, value: string) => {
            dimension = value;
          },
          addMetric: (name: string, _unit: string, value: number) => {
            recorded.push({ ...(dimension ? { dimension } : {}), name, value });
          },
        };
      },
    } as unknown as Metrics;
    const handler = createDispatchEventsHandler(
      withoutTemplate,
      new Logger({ serviceName: 'tenant-mail', logLevel: 'ERROR' }),
      metrics,
    );
    await handler(sqsEvent({ body: JSON.stringify(billRun(3)) }), {
      getRemainingTimeInMillis: () => 60_000,
    } as Context);
    expect(recorded).toEqual([{ dimension: billRun(3).tenantid, name: 'JobsRejected', value: 3 }]);
  });
});
