import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoReputationStore } from '../../../lambdas/adapters/reputation-store';
import { SendFeedbackRecorder } from '../../../lambdas/adapters/send-feedback-recorder';
import { toFeedbackEvent } from '../../../lambdas/domain/feedback/feedback-event';
import {
  evaluate,
  type ReputationDelta,
  reputationDeltas,
} from '../../../lambdas/domain/feedback/reputation-guard';
import { parseFeedbackMessage } from '../../../lambdas/domain/feedback/ses-event-schema';
import { testAws } from '../../support/env';
import { createScratchTable, deleteScratchTable } from '../../support/scratch-table';
import { fixtureText } from '../../unit/feedback/load-fixture';

const delta = (eventKey: string, at: string, kind: 'sends' | 'bounces' | 'complaints'): ReputationDelta => ({
  eventKey,
  at,
  sends: kind === 'sends' ? 1 : 0,
  bounces: kind === 'bounces' ? 1 : 0,
  complaints: kind === 'complaints' ? 1 : 0,
});

describe('DynamoReputationStore', () => {
  let client: DynamoDBClient;
  let documents: DynamoDBDocumentClient;
  let tableName: string;
  let store: DynamoReputationStore;

  beforeAll(async () => {
    client = new DynamoDBClient(testAws.dynamodb);
    documents = DynamoDBDocumentClient.from(client);
    tableName = await createScratchTable(client, 'counters', { label: 'feedback' });
    store = new DynamoReputationStore(documents, tableName);
  });

  afterAll(async () => {
    await deleteScratchTable(client, tableName);
    client.destroy();
  });

  it('adds sends, bounces and complaints into hourly buckets keyed by bucket start', async () => {
    const result = await store.record('t-buckets', [
      delta('s1', '2024-03-01T10:05:00.000Z', 'sends'),
      delta('s2', '2024-03-01T10:55:00.000Z', 'sends'),
      delta('b1', '2024-03-01T10:30:00.000Z', 'bounces'),
      delta('c1', '2024-03-01T11:10:00.000Z', 'complaints'),
    ]);
    expect(result).toEqual({ counted: 4 });
    const { Item } = await documents.send(
      new GetCommand({
        TableName: tableName,
        Key: { pk: 'REPUTATION#t-buckets', sk: '2024-03-01T10:00:00.000Z' },
      }),
    );
    expect(Item).toMatchObject({ sends: 2, bounces: 1, complaints: 0 });
    expect(typeof Item?.expiresAt).toBe('number');
  });

  it("writes a batch's sends in one ADD per tenant when the sender flushes (no marker), and forgets them after", async () => {
    const counting = DynamoDBDocumentClient.from(new DynamoDBClient(testAws.dynamodb));
    const requests: string[] = [];
    counting.middlewareStack.add(
      (next, context) => async (args) => {
        requests.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize' },
    );
    const recorder = new SendFeedbackRecorder(
      new DynamoReputationStore(counting, tableName),
      { put: async () => ({ stored: true }) },
      { now: () => new Date('2024-03-01T10:30:00.000Z') },
    );
    for (let i = 0; i < 10; i += 1) {
      await recorder.accepted('t-sends', [
        `a${i}@example.com`,
        `b${i}@example.com`,
        'success@simulator.amazonses.com',
      ]);
    }
    await recorder.accepted('t-sends-2', ['c@example.com']);
    await recorder.accepted('t-sends-3', ['bounce@simulator.amazonses.com']);
    expect(requests).toEqual([]);
    await recorder.flush();
    // One write per tenant with sends; the simulator's addresses are not counted (nor is the tenant with only them).
    expect(requests).toEqual(['UpdateItemCommand', 'UpdateItemCommand']);
    await recorder.flush();
    expect(requests).toHaveLength(2);
    const window = (tenantId: string) => store.readWindow(tenantId, new Date('2024-03-01T11:59:00.000Z'), 24);
    expect(await window('t-sends')).toEqual({ sends: 20, bounces: 0, complaints: 0 });
    expect(await window('t-sends-2')).toEqual({ sends: 1, bounces: 0, complaints: 0 });
    counting.destroy();
  });

  it('does not double count the same SES event delivered twice', async () => {
    const bounce = toFeedbackEvent(parseFeedbackMessage(fixtureText('sns-envelope-bounce.json')));
    const duplicate = toFeedbackEvent(parseFeedbackMessage(fixtureText('bounce-permanent.json')));
    expect(await store.record('t-dup', reputationDeltas(bounce))).toEqual({ counted: 1 });
    expect(await store.record('t-dup', reputationDeltas(duplicate))).toEqual({ counted: 0 });
    const counters = await store.readWindow('t-dup', new Date('2017-08-05T01:00:00.000Z'), 24);
    expect(counters).toEqual({ sends: 0, bounces: 1, complaints: 0 });
  });

  it('counts the new deltas of a batch that also holds an already counted one', async () => {
    await store.record('t-mixed', [delta('old', '2024-03-01T10:00:00.000Z', 'sends')]);
    const result = await store.record('t-mixed', [
      delta('old', '2024-03-01T10:00:00.000Z', 'sends'),
      delta('new-1', '2024-03-01T10:01:00.000Z', 'sends'),
      delta('new-2', '2024-03-01T10:02:00.000Z', 'bounces'),
      delta('new-2', '2024-03-01T10:02:00.000Z', 'bounces'),
    ]);
    expect(result).toEqual({ counted: 2 });
    expect(await store.readWindow('t-mixed', new Date('2024-03-01T10:30:00.000Z'), 1)).toEqual({
      sends: 2,
      bounces: 1,
      complaints: 0,
    });
  });

  it('counts each delta once when the same events are recorded concurrently', async () => {
    const deltas = Array.from({ length: 20 }, (_, i) =>
      delta(`race-${i}`, '2024-03-01T10:00:00.000Z', 'sends'),
    );
    const results = await Promise.all([store.record('t-race', deltas), store.record('t-race', deltas)]);
    expect(results.reduce((sum, r) => sum + r.counted, 0)).toBe(20);
    expect((await store.readWindow('t-race', new Date('2024-03-01T10:00:00.000Z'), 1)).sends).toBe(20);
  });

  it('records more deltas than fit in one transaction', async () => {
    const deltas = Array.from({ length: 120 }, (_, i) =>
      delta(`many-${i}`, new Date(Date.UTC(2024, 2, 1, i % 5, i)).toISOString(), 'sends'),
    );
    expect(await store.record('t-many', deltas)).toEqual({ counted: 120 });
    expect((await store.readWindow('t-many', new Date('2024-03-01T23:00:00.000Z'), 24)).sends).toBe(120);
  });

  it('reads only the buckets inside the window', async () => {
    await store.record('t-window', [
      delta('w-old', '2024-02-20T10:00:00.000Z', 'bounces'),
      delta('w-edge', '2024-02-29T13:00:00.000Z', 'bounces'),
      delta('w-in', '2024-03-01T09:00:00.000Z', 'sends'),
      delta('w-future', '2024-03-01T13:00:00.000Z', 'sends'),
    ]);
    const counters = await store.readWindow('t-window', new Date('2024-03-01T12:30:00.000Z'), 24);
    expect(counters).toEqual({ sends: 1, bounces: 1, complaints: 0 });
  });

  it('feeds the reputation guard with the window it reads', async () => {
    const at = '2024-03-01T10:00:00.000Z';
    const deltas = [
      ...Array.from({ length: 2_000 }, (_, i) => delta(`g-send-${i}`, at, 'sends')),
      ...Array.from({ length: 90 }, (_, i) => delta(`g-bounce-${i}`, at, 'bounces')),
    ];
    await store.record('t-guard', deltas);
    const result = evaluate(await store.readWindow('t-guard', new Date('2024-03-01T11:00:00.000Z'), 168));
    expect(result).toMatchObject({ level: 'pause', sends: 2_000, bounces: 90, sampleSufficient: true });
  });
});
