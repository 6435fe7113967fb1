import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoMessageLedger } from '../../../lambdas/adapters/message-ledger/dynamo-message-ledger';
import { SqsLaneDepth } from '../../../lambdas/adapters/sqs-lane-depth';
import { SqsSendLanes } from '../../../lambdas/adapters/sqs-send-lanes';
import { MessageStatus, sweepStuck } from '../../../lambdas/domain/message';
import { laneMessage } from '../../../lambdas/domain/sending/send-request';
import { testAws } from '../../support/env';
import { createScratchTable, deleteScratchTable } from '../../support/scratch-table';

const dynamodb = new DynamoDBClient(testAws.dynamodb);
const documents = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
const sqs = new SQSClient(testAws.sqs);
const run = Date.now().toString(36);
let tableName: string;
let urls: { transactional: string; bulk: string };
let clockNow = new Date();
const clock = { now: () => clockNow };
const ledger = () => new DynamoMessageLedger(documents, { tableName, sweepGraceSeconds: 60, clock });

beforeAll(async () => {
  tableName = await createScratchTable(dynamodb, 'messages', { label: 'sweep' });
  urls = { transactional: '', bulk: '' };
  for (const lane of ['transactional', 'bulk'] as const) {
    const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: `sweep-${lane}-${run}` }));
    urls[lane] = QueueUrl;
  }
});

afterAll(async () => {
  await deleteScratchTable(dynamodb, tableName);
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

const sweep = (at: Date) => {
  clockNow = at;
  return sweepStuck({
    ledger: ledger(),
    lanes: new SqsSendLanes(sqs, { queueUrls: urls }),
    depth: new SqsLaneDepth(sqs, urls),
    clock,
    settings: { batchSize: 100, postponeSeconds: 60 },
  });
};

async function drain(lane: 'transactional' | 'bulk') {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: urls[lane], MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
  );
  return Messages;
}

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

    expect(await sweep(new Date(start.getTime() + 30_000))).toMatchObject({ found: 1, completed: 1 });
    clockNow = new Date(start.getTime() + 150_000);
    const fresh = await queued(`fresh-${run}`);

    // Lease 120 s + grace 60 s later, everything but the fresh job is due.
    const result = await sweep(new Date(start.getTime() + 185_000));
    expect(result).toEqual({ found: 2, requeued: 1, completed: 0, postponed: 0, unrecoverable: 1, raced: 0 });

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
    const later = new Date(start.getTime() + 120_000);
    expect(await sweep(later)).toMatchObject({ found: 1, postponed: 1, requeued: 0 });
    expect(await sweep(later)).toMatchObject({ found: 0 });
    expect((await drain('bulk')).map((m) => m.Body)).toEqual(['someone else']);
    await sqs.send(new PurgeQueueCommand({ QueueUrl: urls.bulk }));
    expect(await sweep(new Date(later.getTime() + 61_000))).toMatchObject({ found: 1, requeued: 1 });
    expect((await ledger().get(waiting.messageId))?.status).toBe('QUEUED');
  });

  it('does not move the deadline at the claim; a claim still under its lease when the deadline comes is postponed, not sent again', async () => {
    await sqs.send(new PurgeQueueCommand({ QueueUrl: urls.transactional }));
    const start = new Date();
    clockNow = start;
    const slow = await queued(`slow-${run}`);
    const created = await ledger().get(slow.messageId);
    clockNow = new Date(start.getTime() + 50_000);
    await claim(slow.messageId);
    // The claim leaves the byPending index entry alone (no index write): same shard, same deadline.
    const claimed = await ledger().get(slow.messageId);
    expect(claimed).toMatchObject({
      status: 'SENDING',
      sweepAt: created?.sweepAt,
      pendingShard: created?.pendingShard,
    });

    // Due by its deadline, but its lease (120 s from the claim) plus grace (60 s) has not run out.
    expect(await sweep(new Date(start.getTime() + 65_000))).toMatchObject({
      found: 1,
      postponed: 1,
      requeued: 0,
    });
    expect((await ledger().get(slow.messageId))?.sweepAt).toBe(
      new Date(start.getTime() + 230_000).toISOString(),
    );
    expect(await sweep(new Date(start.getTime() + 100_000))).toMatchObject({ found: 0 });
    expect(await drain('transactional')).toEqual([]);
    // The sender never came back: after its lease and the grace, the kept request goes back on the lane.
    // (The table is shared with the tests above: the record re-enqueued there is due again by now too.)
    expect((await sweep(new Date(start.getTime() + 231_000))).requeued).toBeGreaterThanOrEqual(1);
    expect(await ledger().get(slow.messageId)).toMatchObject({ status: 'QUEUED', sweeps: 1 });
    const messages = await drain('transactional');
    expect(messages.map((m) => JSON.parse(m.Body ?? '{}').idempotencyKey)).toContain(`slow-${run}`);
  });

  it('leaves a record the sender moved between the read and the write (conditional on status and deadline)', async () => {
    const start = new Date();
    clockNow = start;
    const racing = await queued(`racing-${run}`);
    const due = new Date(start.getTime() + 120_000);
    const [stuck] = await ledger()
      .stuck(due, 10)
      .then((all) => all.filter((r) => r.messageId === racing.messageId));
    if (!stuck) throw new Error('expected the record to be due');
    clockNow = due;
    await claim(racing.messageId);
    expect(await ledger().markRequeued(stuck, 'late')).toBe(false);
    expect((await ledger().get(racing.messageId))?.status).toBe('SENDING');
  });
});
