import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoMessageLedger } from '../../../lambdas/adapters/message-ledger/dynamo-message-ledger';
import { SWEEP_CURSOR_KEY } from '../../../lambdas/adapters/message-ledger/sweep-walk';
import { SqsLaneDepth } from '../../../lambdas/adapters/sqs-lane-depth';
import { SqsSendLanes } from '../../../lambdas/adapters/sqs-send-lanes';
import { toFeedbackEvent } from '../../../lambdas/domain/feedback/feedback-event';
import { parseSesEvent } from '../../../lambdas/domain/feedback/ses-event-schema';
import {
  type MessageLedger,
  MessageStatus,
  type SweepResult,
  sweepStuck,
} from '../../../lambdas/domain/message';
import { laneMessage } from '../../../lambdas/domain/sending/send-request';
import { testAws } from '../../support/env';
import { createScratchTable, deleteScratchTable } from '../../support/scratch-table';
import { fixture, type Json } from '../../unit/feedback/load-fixture';

/** Keys asked for by each BatchGetItem: how often the sweeper read each record. */
const reads = new Map<string, number>();
const dynamodb = new DynamoDBClient(testAws.dynamodb);
dynamodb.middlewareStack.add(
  (next) => async (args) => {
    const input = args.input as { RequestItems?: Record<string, { Keys?: unknown[] }> };
    if (input.RequestItems && !('Keys' in input))
      for (const { Keys = [] } of Object.values(input.RequestItems))
        for (const key of Keys as { messageId?: string | { S?: string } }[]) {
          const id = typeof key.messageId === 'string' ? key.messageId : (key.messageId?.S ?? '');
          reads.set(id, (reads.get(id) ?? 0) + 1);
        }
    return next(args);
  },
  { step: 'initialize', name: 'countRecordReads' },
);
const documents = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
const sqs = new SQSClient(testAws.sqs);
const run = Date.now().toString(36);
let tableName: string;
let urls: { transactional: string; bulk: string };
let clockNow = new Date();
const clock = { now: () => clockNow };
const ledger = () => new DynamoMessageLedger(documents, { tableName, sweepGraceSeconds: 60, clock });

beforeAll(async () => {
  urls = { transactional: '', bulk: '' };
  for (const lane of ['transactional', 'bulk'] as const) {
    const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: `sweep-${lane}-${run}` }));
    urls[lane] = QueueUrl;
  }
});

// Each test has a table of its own: the sweeper's cursor lives in the table, and each test starts its clock anew.
beforeEach(async () => {
  tableName = await createScratchTable(dynamodb, 'messages', { label: 'sweep' });
  reads.clear();
  for (const QueueUrl of Object.values(urls)) await sqs.send(new PurgeQueueCommand({ QueueUrl }));
});

afterEach(async () => {
  await deleteScratchTable(dynamodb, tableName);
});

afterAll(async () => {
  for (const QueueUrl of Object.values(urls)) await sqs.send(new DeleteQueueCommand({ QueueUrl }));
  sqs.destroy();
  documents.destroy();
});

const request = (key: string, category: 'transactional' | 'bulk' = 'transactional') =>
  laneMessage(
    {
      type: 'email',
      idempotencyKey: key,
      tenantId: 'sweep-co',
      environment: 'developer-sandbox',
      to: [`${key}@example.com`],
      cc: [],
      bcc: [],
      subject: `Invoice ${key}`,
      text: 'ready',
      category,
      headers: {},
    },
    key,
  );

async function queued(key: string, category: 'transactional' | 'bulk' = 'transactional') {
  const message = request(key, category);
  await ledger().createJobRecords([
    {
      messageId: message.messageId,
      jobId: key,
      tenantId: 'sweep-co',
      environment: 'developer-sandbox',
      category,
      status: MessageStatus.QUEUED,
      recipients: [`${key}@example.com`],
      request: message.body,
    },
  ]);
  return message;
}

async function claim(messageId: string) {
  const result = await ledger().claim({
    messageId,
    tenantId: 'sweep-co',
    environment: 'developer-sandbox',
    category: 'transactional',
    recipients: ['x@example.com'],
    subject: 's',
  });
  if (!result.claimed) throw new Error('not claimed');
  return result.lease;
}

const sweep = (
  at: Date,
  settings: { batchSize?: number; entriesPerRun?: number } = {},
  sweeper: SweepLedger = ledger(),
  remainingTimeMs?: () => number,
) => {
  clockNow = at;
  return sweepStuck(
    {
      ledger: sweeper,
      lanes: new SqsSendLanes(sqs, { queueUrls: urls }),
      depth: new SqsLaneDepth(sqs, urls),
      clock,
      settings: { batchSize: 100, postponeSeconds: 60, ...settings },
    },
    remainingTimeMs,
  );
};
type SweepLedger = Parameters<typeof sweepStuck>[0]['ledger'];
type Message = ReturnType<typeof request>;

/** The sweeper's cursor item, as stored. */
async function cursor() {
  const { Item } = await documents.send(
    new GetCommand({ TableName: tableName, Key: { messageId: SWEEP_CURSOR_KEY }, ConsistentRead: true }),
  );
  return Item;
}

/** A record the sender claimed and recorded SENT at `at`. */
async function sentAt(key: string, at: Date) {
  const message = await queued(key);
  clockNow = at;
  const lease = await claim(message.messageId);
  await ledger().recordSent(message.messageId, lease, {
    method: 'default',
    from: 'n@example.com',
    providerMessageId: `ses-${key}`,
  });
  return message;
}

async function drain(lane: 'transactional' | 'bulk') {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: urls[lane], MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
  );
  return Messages;
}

/** The walk stops this far behind the sweeper's clock (the ledger's default lag). */
const LAG = 60_000;
/** A result that keeps a loop of sweeps going until one finds and passes nothing. */
const NOTHING_YET: SweepResult = {
  rounds: 1,
  caughtUp: false,
  found: 1,
  passed: 0,
  requeued: 0,
  completed: 0,
  postponed: 0,
  unrecoverable: 0,
  raced: 0,
};
const plus = (start: Date, ms: number) => new Date(start.getTime() + ms);

describe('sweepStuck on DynamoDB Local and fauxqs', () => {
  it('finishes every kind of stuck record and leaves records inside their deadline alone', async () => {
    const start = new Date();
    clockNow = start;
    // A job whose lane message was lost; a send the provider accepted but SENT was not recorded; a direct send
    // that crashed with nothing kept; a fresh job still inside its deadline.
    const lost = await queued(`lost-${run}`);
    const accepted = request(`accepted-${run}`);
    const acceptedLease = await claim(accepted.messageId);
    await ledger().recordAccepted(accepted.messageId, acceptedLease, 'ses-accepted-1');
    const orphan = request(`orphan-${run}`);
    await claim(orphan.messageId);

    // The accepted one is due at once (its deadline is `now`), found once the walk's lag has passed.
    expect(await sweep(plus(start, 1_000 + LAG))).toMatchObject({ found: 1, completed: 1 });
    clockNow = plus(start, 150_000);
    const fresh = await queued(`fresh-${run}`);

    // Lease 120 s + grace 60 s later, everything but the fresh job is due.
    const result = await sweep(plus(start, 185_000 + LAG));
    expect(result).toEqual({
      rounds: 1,
      caughtUp: true,
      found: 2,
      passed: 0,
      requeued: 1,
      completed: 0,
      postponed: 0,
      unrecoverable: 1,
      raced: 0,
    });

    expect(await ledger().get(accepted.messageId)).toMatchObject({
      status: 'SENT',
      sesMessageId: 'ses-accepted-1',
    });
    const lostRecord = await ledger().get(lost.messageId);
    expect(lostRecord).toMatchObject({ status: 'QUEUED', sweeps: 1 });
    expect(lostRecord?.timeline.at(-1)?.detail).toMatch(/^SWEPT: stuck in QUEUED, lane empty/);
    expect(await ledger().get(orphan.messageId)).toMatchObject({
      status: 'DEAD_LETTERED',
      reasonCode: 'STUCK',
    });
    expect((await ledger().get(fresh.messageId))?.status).toBe('QUEUED');

    // The re-enqueued copy carries the same key (so it maps to the same record) and the tenant's group.
    const messages = await drain('transactional');
    expect(messages.map((m) => JSON.parse(m.Body ?? '{}').idempotencyKey)).toEqual([`lost-${run}`]);
  });

  it('postpones a stuck record while its lane still holds messages, and re-enqueues it once the lane is empty', async () => {
    const start = new Date();
    clockNow = start;
    const waiting = await queued(`waiting-${run}`, 'bulk');
    await sqs.send(
      new SendMessageCommand({ QueueUrl: urls.bulk, MessageBody: 'someone else', MessageGroupId: 't' }),
    );
    const later = plus(start, 60_000 + LAG);
    expect(await sweep(later)).toMatchObject({ found: 1, postponed: 1, requeued: 0 });
    expect(await sweep(later)).toMatchObject({ found: 0, passed: 0 });
    expect((await drain('bulk')).map((m) => m.Body)).toEqual(['someone else']);
    await sqs.send(new PurgeQueueCommand({ QueueUrl: urls.bulk }));
    expect(await sweep(plus(later, 61_000 + LAG))).toMatchObject({ found: 1, requeued: 1 });
    expect((await ledger().get(waiting.messageId))?.status).toBe('QUEUED');
  });

  it('does not move the deadline at the claim; a claim still under its lease when the deadline comes is postponed, not sent again', async () => {
    const start = new Date();
    clockNow = start;
    const slow = await queued(`slow-${run}`);
    const created = await ledger().get(slow.messageId);
    clockNow = plus(start, 50_000);
    await claim(slow.messageId);
    // The claim leaves the byPending index entry alone (no index write): same shard, same deadline.
    const claimed = await ledger().get(slow.messageId);
    expect(claimed).toMatchObject({
      status: 'SENDING',
      sweepAt: created?.sweepAt,
      pendingShard: created?.pendingShard,
    });

    // Due by its deadline, but its lease (120 s from the claim) plus grace (60 s) has not run out.
    expect(await sweep(plus(start, 65_000 + LAG))).toMatchObject({ found: 1, postponed: 1, requeued: 0 });
    expect((await ledger().get(slow.messageId))?.sweepAt).toBe(plus(start, 230_000).toISOString());
    expect(await sweep(plus(start, 100_000 + LAG))).toMatchObject({ found: 0 });
    expect(await drain('transactional')).toEqual([]);
    // The sender never came back: after its lease and the grace, the kept request goes back on the lane.
    expect(await sweep(plus(start, 231_000 + LAG))).toMatchObject({ found: 1, requeued: 1 });
    expect(await ledger().get(slow.messageId)).toMatchObject({ status: 'QUEUED', sweeps: 1 });
    const messages = await drain('transactional');
    expect(messages.map((m) => JSON.parse(m.Body ?? '{}').idempotencyKey)).toEqual([`slow-${run}`]);
  });

  it('leaves a record the sender moved between the read and the write (conditional on status and deadline)', async () => {
    const start = new Date();
    clockNow = start;
    const racing = await queued(`racing-${run}`);
    const due = plus(start, 120_000);
    const [stuck] = (await ledger().stuck(due, 10, 100)).records.filter(
      (r) => r.messageId === racing.messageId,
    );
    if (!stuck) throw new Error('expected the record to be due');
    clockNow = due;
    await claim(racing.messageId);
    expect(await ledger().markRequeued(stuck, 'late')).toBe(false);
    expect((await ledger().get(racing.messageId))?.status).toBe('SENDING');
  });
});

describe('the sweeper walks byPending with a cursor', () => {
  it('keeps a SENT record in the index, passes its entry once and never reads it again', async () => {
    const start = new Date();
    clockNow = start;
    const sent = await sentAt(`sent-${run}`, plus(start, 1_000));
    // SENT left the index keys alone: the entry stays (no index write).
    expect(await ledger().get(sent.messageId)).toMatchObject({
      status: 'SENT',
      sweepAt: plus(start, 60_000).toISOString(),
      pendingShard: expect.stringMatching(/^P\d$/),
    });
    // 30 s past its deadline the entry is still inside the walk's lag (60 s): not read yet.
    expect(await sweep(plus(start, 90_000))).toMatchObject({ found: 0, passed: 0 });
    expect(reads.get(sent.messageId)).toBeUndefined();

    expect(await sweep(plus(start, 61_000 + LAG))).toMatchObject({ found: 0, passed: 1 });
    expect(reads.get(sent.messageId)).toBe(1);
    const shard = String((await ledger().get(sent.messageId))?.pendingShard);
    expect((await cursor())?.[shard]).toEqual({
      sweepAt: plus(start, 60_000).toISOString(),
      messageId: sent.messageId,
    });
    for (const minutes of [5, 10, 60])
      expect(await sweep(plus(start, minutes * 60_000))).toMatchObject({ found: 0, passed: 0 });
    expect(reads.get(sent.messageId)).toBe(1);
  });

  it('finds a stuck QUEUED record behind many completed ones, reading each of them once over several runs', async () => {
    const start = new Date();
    clockNow = start;
    const done = [];
    for (let i = 0; i < 24; i += 1) done.push(await sentAt(`done-${i}-${run}`, start));
    clockNow = plus(start, 5);
    const lost = await queued(`behind-${run}`);
    // Two entries per shard per run (8 in all): the walk needs several runs to pass the 24 finished ones.
    const totals = { requeued: 0, passed: 0, runs: 0 };
    for (let last: SweepResult = { ...NOTHING_YET }; totals.runs < 20 && last.found + last.passed > 0; ) {
      totals.runs += 1;
      last = await sweep(plus(start, 61_000 + LAG + totals.runs), { entriesPerRun: 8 });
      totals.requeued += last.requeued;
      totals.passed += last.passed;
    }
    expect(totals.requeued).toBe(1);
    expect(totals.passed).toBe(24);
    expect(totals.runs).toBeGreaterThan(3);
    for (const message of done) expect(reads.get(message.messageId)).toBe(1);
    expect(await ledger().get(lost.messageId)).toMatchObject({ status: 'QUEUED', sweeps: 1 });
  });

  it('walks a backlog larger than one page in one run while the function has time', async () => {
    const start = new Date();
    clockNow = start;
    const done = [];
    for (let i = 0; i < 24; i += 1) done.push(await sentAt(`burst-${i}-${run}`, start));
    clockNow = plus(start, 5);
    const lost = await queued(`burst-behind-${run}`);
    // Eight entries per page, as in the test above, but the run has two minutes: it walks on until caught up.
    const result = await sweep(plus(start, 61_000 + LAG), { entriesPerRun: 8 }, ledger(), () => 120_000);
    expect(result).toMatchObject({ requeued: 1, passed: 24, caughtUp: true });
    expect(result.rounds).toBeGreaterThan(3);
    for (const message of done) expect(reads.get(message.messageId)).toBe(1);
    expect(await ledger().get(lost.messageId)).toMatchObject({ status: 'QUEUED', sweeps: 1 });
  });

  it('moves the cursor no further than the records the run could take (batch size)', async () => {
    const start = new Date();
    clockNow = start;
    const jobs = [];
    for (let i = 0; i < 3; i += 1) jobs.push(await queued(`limit-${i}-${run}`));
    const at = plus(start, 61_000 + LAG);
    for (let i = 0; i < 3; i += 1) {
      expect(await sweep(at, { batchSize: 1 })).toMatchObject({ found: 1, requeued: 1 });
      // The sender takes the re-enqueued message (an empty lane lets the next one be re-enqueued too).
      await sqs.send(new PurgeQueueCommand({ QueueUrl: urls.transactional }));
    }
    expect(await sweep(at, { batchSize: 1 })).toMatchObject({ found: 0 });
    for (const job of jobs)
      expect(await ledger().get(job.messageId)).toMatchObject({ status: 'QUEUED', sweeps: 1 });
  });

  it('does not pass a record whose write lost its race: the next run finds it again', async () => {
    const start = new Date();
    clockNow = start;
    const racing = await queued(`raced-${run}`);
    const real = ledger();
    // The sender claims the record between the sweeper's read and its write (the claim keeps the deadline).
    const racy: SweepLedger = Object.assign(Object.create(real) as MessageLedger, {
      markRequeued: async (...args: Parameters<MessageLedger['markRequeued']>) => {
        await claim(racing.messageId);
        return real.markRequeued(...args);
      },
    });
    const at = plus(start, 61_000 + LAG);
    expect(await sweep(at, {}, racy)).toMatchObject({ found: 1, requeued: 0, raced: 1 });
    expect(await cursor()).toBeUndefined();
    // Still SENDING at its old place, under a live lease: found again and postponed to lease + grace.
    expect(await sweep(at)).toMatchObject({ found: 1, postponed: 1 });
    expect((await ledger().get(racing.messageId))?.sweepAt).toBe(plus(at, 180_000).toISOString());
  });

  it('gives a redriven DEAD_LETTERED record a new place past the cursor, so a crash after the redrive is swept', async () => {
    const start = new Date();
    clockNow = start;
    const orphan = await queued(`redrive-${run}`);
    // No kept request: the sweeper dead-letters it; its entry stays and the cursor passes it.
    const scan = await ledger().stuck(plus(start, 61_000 + LAG), 10, 100);
    expect(scan.records.map((r) => r.messageId)).toEqual([orphan.messageId]);
    const record = scan.records[0];
    if (!record) throw new Error('expected the record');
    expect(await ledger().markUnrecoverable(record, 'lost')).toBe(true);
    expect(await sweep(plus(start, 61_000 + LAG))).toMatchObject({ found: 0, passed: 1 });
    // An operator redrives the DLQ an hour later: the claim renews the deadline; then the sender dies.
    clockNow = plus(start, 3_600_000);
    await claim(orphan.messageId);
    expect((await ledger().get(orphan.messageId))?.sweepAt).toBe(plus(clockNow, 180_000).toISOString());
    const found = await sweep(plus(start, 3_600_000 + 181_000 + LAG));
    expect(found).toMatchObject({ found: 1 });
    expect(await ledger().get(orphan.messageId)).toMatchObject({ status: 'QUEUED', sweeps: 1 });
  });

  it('releases PAUSED records from the HELD partition, and lists only records still PAUSED there', async () => {
    const start = new Date();
    clockNow = start;
    const keys = ['held-a', 'held-b', 'held-c', 'held-d'].map((k) => `${k}-${run}`);
    const messages = [];
    for (const key of keys) {
      const message = await queued(key);
      const lease = await claim(message.messageId);
      await ledger().settle(message.messageId, lease, MessageStatus.PAUSED, {
        code: 'TENANT_PAUSED',
        reason: 'paused',
        tenantId: 'sweep-co',
      });
      messages.push(message);
    }
    const [a, b, c, d] = messages as [Message, Message, Message, Message];
    const held = async () => {
      const ids: string[] = [];
      for await (const m of ledger().held('sweep-co')) ids.push(m.messageId);
      return ids.sort();
    };
    expect(await held()).toEqual([a, b, c, d].map((m) => m.messageId).sort());

    // `a` is released; `b` is claimed straight from PAUSED (a redelivered copy) and sent.
    clockNow = plus(start, 3_600_000);
    expect(await ledger().markReleased(a.messageId)).toBe(true);
    const lease = await claim(b.messageId);
    // The claim from PAUSED moved the record to its shard with a new deadline.
    expect(await ledger().get(b.messageId)).toMatchObject({
      sweepAt: plus(clockNow, 180_000).toISOString(),
      pendingShard: expect.stringMatching(/^P\d$/),
    });
    await ledger().recordSent(b.messageId, lease, {
      method: 'default',
      from: 'n@example.com',
      providerMessageId: 'ses-b',
    });
    // `d`'s earlier attempt had reached SES after all: its Delivery completes it, and its entry stays under HELD.
    const raw = fixture('delivery.json', { messageId: d.messageId, tenantId: 'sweep-co' });
    (raw.mail as Json).destination = ['x@example.com'];
    (raw.delivery as Json).recipients = ['x@example.com'];
    const event = toFeedbackEvent(parseSesEvent(raw));
    expect(await ledger().applyFeedback(event.correlation, event)).toMatchObject({ status: 'DELIVERED' });
    expect(await ledger().get(d.messageId)).toMatchObject({ pendingShard: 'HELD#sweep-co' });
    expect(await held()).toEqual([c.messageId]);
    expect((await ledger().get(a.messageId))?.status).toBe('QUEUED');
  });

  it("puts a record's new byPending place at the writer's time or later, and leaves the place alone otherwise", async () => {
    const start = new Date();
    clockNow = start;
    const place = async (messageId: string) => {
      const record = await ledger().get(messageId);
      return { sweepAt: String(record?.sweepAt), pendingShard: String(record?.pendingShard) };
    };
    // Never behind the writer's clock: so never behind a cursor, which stays at least the lag behind the clock.
    const notBehind = async (messageId: string) => {
      const { sweepAt, pendingShard } = await place(messageId);
      expect(pendingShard).toMatch(/^P\d$/);
      expect(sweepAt >= clockNow.toISOString()).toBe(true);
    };
    const later = (minutes: number) => {
      clockNow = plus(start, minutes * 60_000);
    };
    const a = await queued(`place-a-${run}`);
    await notBehind(a.messageId);
    later(30);
    const created = await place(a.messageId);
    let lease = await claim(a.messageId);
    expect(await place(a.messageId)).toEqual(created);
    await ledger().settle(a.messageId, lease, MessageStatus.QUEUED, { code: 'RETRY', reason: 'again' });
    await notBehind(a.messageId);
    later(60);
    lease = await claim(a.messageId);
    await ledger().settle(a.messageId, lease, MessageStatus.DEFERRED, {
      code: 'THROTTLED',
      reason: 'rate',
      eligibleAt: plus(clockNow, 5_000).toISOString(),
    });
    await notBehind(a.messageId);
    later(90);
    lease = await claim(a.messageId);
    await ledger().recordAccepted(a.messageId, lease, 'ses-place-a');
    await notBehind(a.messageId);
    const accepted = await place(a.messageId);
    later(91);
    await ledger().recordSent(a.messageId, lease, {
      method: 'default',
      from: 'n@example.com',
      providerMessageId: 'ses-place-a',
    });
    expect(await place(a.messageId)).toEqual(accepted);

    // A final status the sender records before sending keeps the place; a release gives a new one.
    const b = await queued(`place-b-${run}`);
    const queuedPlace = await place(b.messageId);
    lease = await claim(b.messageId);
    await ledger().settle(b.messageId, lease, MessageStatus.REJECTED, { code: 'INVALID', reason: 'bad' });
    expect(await place(b.messageId)).toEqual(queuedPlace);
    const c = await queued(`place-c-${run}`);
    lease = await claim(c.messageId);
    await ledger().settle(c.messageId, lease, MessageStatus.PAUSED, {
      code: 'TENANT_PAUSED',
      reason: 'paused',
      tenantId: 'sweep-co',
    });
    later(200);
    expect(await ledger().markReleased(c.messageId)).toBe(true);
    await notBehind(c.messageId);
  });
});
