import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { DynamoMessageLedger } from '../../../lambdas/adapters/message-ledger/dynamo-message-ledger';
import { ThrottledError, TransientError } from '../../../lambdas/domain/errors';
import { toFeedbackEvent } from '../../../lambdas/domain/feedback/feedback-event';
import { parseSesEvent } from '../../../lambdas/domain/feedback/ses-event-schema';
import {
  isAccepted,
  isFinal,
  type LaneMessage,
  type MessageLedger,
  sweepStuck,
} from '../../../lambdas/domain/message';
import type { EmailSender } from '../../../lambdas/domain/sending/ports';
import { type SendEmailDeps, sendEmail } from '../../../lambdas/domain/sending/send-email';
import { messageIdFor } from '../../../lambdas/domain/sending/send-request';
import { testAws } from '../../support/env';
import { createScratchTable, deleteScratchTable } from '../../support/scratch-table';
import { fixture, type Json } from '../../unit/feedback/load-fixture';

/**
 * A model of the message lifecycle against the real ledger on DynamoDB Local: an in-memory SQS (copies,
 * receive counts, visibility timeout, a DLQ after 5 receives), a provider that accepts, fails before accepting,
 * throttles, or accepts just before the process dies, SES Delivery events in any order, sweeps and redrives.
 * Invariants after everything settles: every email has exactly one final status; the provider accepted each
 * email at most once, plus once per crash that fell between acceptance and record before its event arrived.
 */
const dynamodb = new DynamoDBClient(testAws.dynamodb);
const documents = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
let tableName: string;

beforeAll(async () => {
  tableName = await createScratchTable(dynamodb, 'messages', { label: 'model' });
});
afterAll(async () => {
  await deleteScratchTable(dynamodb, tableName);
  documents.destroy();
});

type Provider = 'ok' | 'fail-before' | 'throttle' | 'crash-after-accept';
type Action =
  | { readonly kind: 'deliver'; readonly provider: Provider }
  | { readonly kind: 'duplicate'; readonly email: number }
  | { readonly kind: 'feedback'; readonly email: number }
  | { readonly kind: 'advance' }
  | { readonly kind: 'sweep' }
  | { readonly kind: 'redrive' };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .constantFrom<Provider>('ok', 'fail-before', 'throttle', 'crash-after-accept')
      .map((provider) => ({ kind: 'deliver' as const, provider })),
  },
  { weight: 1, arbitrary: fc.nat(2).map((email) => ({ kind: 'duplicate' as const, email })) },
  { weight: 2, arbitrary: fc.nat(2).map((email) => ({ kind: 'feedback' as const, email })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'advance' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'sweep' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'redrive' as const }) },
);

class Crash extends Error {}

interface Copy {
  body: string;
  receives: number;
  visibleAt: number;
}

let runCounter = 0;
/**
 * Where the next scenario's clock starts. The scenarios share one table, and with it the sweeper's cursor, so
 * time only moves forward: each scenario starts a day after the latest time any earlier one reached.
 */
let nextStart = Date.parse('2026-01-01T00:00:00.000Z');

async function runScenario(actions: readonly Action[]): Promise<void> {
  const run = `${Date.now().toString(36)}-${runCounter++}`;
  const tenantId = `model-${run}`;
  let now = nextStart;
  const clock = {
    now: () => {
      nextStart = Math.max(nextStart, now + 86_400_000);
      return new Date(now);
    },
  };
  const ledger: MessageLedger = new DynamoMessageLedger(documents, {
    tableName,
    clock,
    sweepGraceSeconds: 60,
  });
  const queue: Copy[] = [];
  const dlq: Copy[] = [];
  const accepted = new Map<string, number>();
  const inDoubt = new Map<string, number>();
  const evented = new Set<string>();
  const bodies = [0, 1, 2].map((i) =>
    JSON.stringify({
      tenantId,
      idempotencyKey: `k${i}`,
      environment: 'developer-sandbox',
      to: [`r${i}@example.com`],
      subject: `S${i}`,
      text: 't',
    }),
  );
  const ids = [0, 1, 2].map((i) => messageIdFor(tenantId, `k${i}`));
  for (const body of bodies) queue.push({ body, receives: 0, visibleAt: now });

  const lanes = {
    publish: async (messages: readonly LaneMessage[], options: { delaySeconds?: number } = {}) => {
      for (const m of messages)
        queue.push({ body: m.body, receives: 0, visibleAt: now + (options.delaySeconds ?? 0) * 1000 });
      return { sent: messages.map((m) => m.messageId) };
    },
  };
  let provider: Provider = 'ok';
  let crashed = false;
  const sender: EmailSender = {
    async send(email) {
      if (provider === 'fail-before') throw new TransientError('SES_UNREACHABLE', 'down');
      if (provider === 'throttle')
        throw new ThrottledError('SES_THROTTLED', 'Maximum sending rate exceeded.', 1);
      accepted.set(email.messageId, (accepted.get(email.messageId) ?? 0) + 1);
      if (provider === 'crash-after-accept') {
        crashed = true;
        if (!evented.has(email.messageId))
          inDoubt.set(email.messageId, (inDoubt.get(email.messageId) ?? 0) + 1);
      }
      return { providerMessageId: `ses-${email.messageId}-${accepted.get(email.messageId)}` };
    },
  };
  // After a crash the process is gone: every later write of that invocation fails.
  const crashing = new Proxy(ledger, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (crashed) return Promise.reject(new Crash('process died'));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const deps: SendEmailDeps = {
    ledger: crashing,
    tenants: {
      get: async () => ({
        tenantId,
        displayName: 'Model Co',
        profileEmail: 'ops@model.example',
        environments: { 'developer-sandbox': { method: 'default', enabled: true } },
      }),
    },
    senders: { default: sender },
    suppressions: { isSuppressed: async () => new Map() },
    identities: { list: async () => [] },
    governor: { reserve: async () => ({ granted: true, sendAtMs: 0 }) },
    sesQuota: { limits: async () => ({}) },
    sendFeedback: {
      accepted: async () => undefined,
      rejected: async () => undefined,
      flush: async () => undefined,
    },
    lanes,
    clock,
    settings: {
      scope: 'dev',
      servedEnvironments: ['developer-sandbox'],
      platformFromAddress: 'notifications@mail.example',
      maxReceiveCount: 5,
      recordRetryDelaysMs: [0],
    },
  };

  const deliver = async (as: Provider) => {
    const index = queue.findIndex((copy) => copy.visibleAt <= now);
    if (index < 0) return;
    const copy = queue[index] as Copy;
    copy.receives += 1;
    if (copy.receives > 5) {
      queue.splice(index, 1);
      dlq.push(copy);
      return;
    }
    provider = as;
    crashed = false;
    let done = false;
    try {
      await sendEmail({ body: copy.body, sqsMessageId: `sqs-${index}`, receiveCount: copy.receives }, deps);
      done = !crashed;
    } catch {
      done = false;
    }
    crashed = false;
    if (done) queue.splice(queue.indexOf(copy), 1);
    else copy.visibleAt = now + 180_000;
  };
  const feedback = async (email: number) => {
    const id = ids[email] as string;
    if (!accepted.get(id) || evented.has(id)) return;
    evented.add(id);
    const raw = fixture('delivery.json', { messageId: id, tenantId });
    const mail = raw.mail as Json;
    mail.destination = [`r${email}@example.com`];
    (raw.delivery as Json).recipients = [`r${email}@example.com`];
    const event = toFeedbackEvent(parseSesEvent(raw));
    await ledger.applyFeedback(event.correlation, event);
  };
  const sweep = () =>
    sweepStuck({
      ledger,
      lanes,
      depth: { isEmpty: async () => queue.length === 0 },
      clock,
      settings: { batchSize: 50, postponeSeconds: 60 },
    });

  for (const step of actions) {
    if (step.kind === 'deliver') await deliver(step.provider);
    else if (step.kind === 'duplicate')
      queue.push({ body: bodies[step.email] as string, receives: 0, visibleAt: now });
    else if (step.kind === 'feedback') await feedback(step.email);
    else if (step.kind === 'advance') now += 200_000;
    else if (step.kind === 'sweep') await sweep();
    else for (const copy of dlq.splice(0)) queue.push({ ...copy, receives: 0, visibleAt: now });
  }
  // Settle: the provider recovers, time passes, the operator redrives, feedback arrives, the sweeper runs.
  for (let round = 0; round < 12; round++) {
    now += 200_000;
    for (const copy of dlq.splice(0)) queue.push({ ...copy, receives: 0, visibleAt: now });
    while (queue.some((copy) => copy.visibleAt <= now)) await deliver('ok');
    for (const email of [0, 1, 2]) await feedback(email);
    await sweep();
  }

  for (const id of ids) {
    const record = await ledger.get(id);
    expect(record).toBeDefined();
    expect(isFinal(record?.status ?? 'QUEUED')).toBe(true);
    const sends = accepted.get(id) ?? 0;
    expect(sends).toBeGreaterThanOrEqual(1);
    expect(sends).toBeLessThanOrEqual(1 + (inDoubt.get(id) ?? 0));
    expect(isAccepted(record?.status ?? 'QUEUED')).toBe(true);
    if (sends > 1)
      expect(record?.timeline.filter((line) => line.status === 'SENDING').length).toBeGreaterThan(1);
  }
}

describe('message lifecycle model (real ledger on DynamoDB Local)', () => {
  it('ends every email in one final state, sent once unless a crash fell between acceptance and record', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 30 }), (actions) => runScenario(actions)),
      // Fewer runs per mutant under StrykerJS (scripts/mutation.ts), where each mutant reruns the test.
      { numRuns: process.env.TENANT_MAIL_MUTATION ? 8 : 25 },
    );
  }, 300_000);
});
