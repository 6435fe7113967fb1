import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoRateGovernor, PACE_TTL_MARGIN_SECONDS } from '../../../lambdas/adapters/rate-governor-store';
import {
  PERIODS_MS,
  type Reservation,
  type ReservationRequest,
} from '../../../lambdas/domain/rate-limit/rate-limits';
import { testAws } from '../../support/env';
import { createScratchTable, deleteScratchTable } from '../../support/scratch-table';
import { ManualClock } from './counters-table';

const START = Date.UTC(2026, 0, 5, 9, 30, 10);
const ONE_SECOND_BULK = { transactional: 5_000, bulk: 1_000 } as const;

/** Counts the DynamoDB commands a client sends, by name. */
function countCommands(client: DynamoDBClient): Map<string, number> {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => (args) => {
      const name = context.commandName ?? '?';
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return counts;
}

describe('DynamoRateGovernor (DynamoDB Local)', () => {
  const client = new DynamoDBClient(testAws.dynamodb);
  let tableName: string;
  let keyCounter = 0;
  const clock = new ManualClock(START);

  // Written for a bulk horizon of 1 s (the product's is HORIZON_MS, 250 ms).
  const governor = (options: { coalesceMs?: number; client?: DynamoDBClient } = {}) =>
    new DynamoRateGovernor({
      client: options.client ?? client,
      tableName,
      clock,
      horizons: ONE_SECOND_BULK,
      ...options,
    });
  const request = (overrides: Partial<ReservationRequest> = {}): ReservationRequest => ({
    key: `smtp#tenant-${++keyCounter}#production`,
    limits: { messagesPerMinute: 30 },
    messages: 1,
    recipients: 1,
    priority: 'bulk',
    ...overrides,
  });

  beforeAll(async () => {
    tableName = await createScratchTable(client, 'counters', { label: 'governor' });
  });

  afterAll(async () => {
    await deleteScratchTable(client, tableName);
    client.destroy();
  });

  beforeEach(() => clock.set(START));

  it('gives each send its slot an interval apart, and refuses past the horizon with the exact wait', async () => {
    const base = request();
    const results: Reservation[] = [];
    for (let i = 0; i < 3; i++) results.push(await governor({ coalesceMs: 0 }).reserve(base));
    expect(results).toEqual([
      { granted: true, sendAtMs: START },
      { granted: true, sendAtMs: START + 2_067 },
      // Its slot at 4,134 ms is past the horizon (one interval): it comes back an interval before (whole seconds
      // when deferred through the queue).
      {
        granted: false,
        eligibleAtMs: START + 2_067,
        retryAfterSeconds: 3,
        eligibleAt: new Date(START + 3_000).toISOString(),
      },
    ]);
    // Back from its deferral (the sender passes `queued`), it books its slot.
    clock.set(START + 3_000);
    expect(await governor({ coalesceMs: 0 }).reserve({ ...base, queued: true })).toEqual({
      granted: true,
      sendAtMs: START + 4_134,
    });
  });

  it('keeps one item per key: a version, the arrival time of each limit, and a TTL after the last slot', async () => {
    const base = request({ limits: { messagesPerMinute: 30, recipientsPerDay: 10_000 } });
    await governor({ coalesceMs: 0 }).reserve({ ...base, recipients: 4 });
    const { Item } = await client.send(
      new GetItemCommand({ TableName: tableName, Key: { pk: { S: `RATE#${base.key}` }, sk: { S: 'gcra' } } }),
    );
    const dayInterval = PERIODS_MS.day / 5_001;
    expect(Item?.v).toEqual({ N: '1' });
    expect(Item?.tats?.M).toEqual({
      'minute.messages': { N: String(START + 2_067) },
      'day.recipients': { N: String(Math.ceil(START + 4 * dayInterval)) },
    });
    expect(Number(Item?.expiresAt?.N)).toBe(
      Math.ceil((START + 4 * dayInterval) / 1000) + PACE_TTL_MARGIN_SECONDS,
    );
  });

  it('schedules the concurrent reservations of one batch in a single conditional write', async () => {
    const counted = new DynamoDBClient(testAws.dynamodb);
    const counts = countCommands(counted);
    const base = request({ limits: { recipientsPerSecond: 10 } });
    const shared = governor({ client: counted });
    const results = await Promise.all(Array.from({ length: 10 }, () => shared.reserve(base)));
    expect(counts.get('UpdateItemCommand')).toBe(1);
    expect(results.map((result) => (result.granted ? result.sendAtMs - START : -1))).toEqual([
      0, 100, 200, 300, 400, 500, 600, 700, 800, 900,
    ]);
    counted.destroy();
  });

  it('writes a queue place for a first refusal of bulk mail and for bulk mail refused again, nothing for transactional mail refused again', async () => {
    const counted = new DynamoDBClient(testAws.dynamodb);
    const counts = countCommands(counted);
    const base = request({ limits: { messagesPerMinute: 1 } });
    const shared = governor({ client: counted, coalesceMs: 0 });
    const interval = 62_000; // 1 a minute, spaced over 62 s; the bulk horizon is one interval
    expect((await shared.reserve(base)).granted).toBe(true);
    expect((await shared.reserve(base)).granted).toBe(true); // one interval ahead is within reach
    expect(counts.get('UpdateItemCommand')).toBe(2);
    expect(await shared.reserve(base)).toMatchObject({ granted: false, eligibleAtMs: START + interval });
    expect(counts.get('UpdateItemCommand')).toBe(3);
    // Two emails back from deferrals find their slots taken (the next free one is 2 intervals away, out of reach),
    // one through another container that has not seen the key yet: the next places behind the queue, distinct,
    // each asked back a horizon before it.
    const back = { ...base, queued: true };
    const elsewhere = governor({ client: counted, coalesceMs: 0 });
    expect(await shared.reserve(back)).toMatchObject({ granted: false, eligibleAtMs: START + 2 * interval });
    expect(await elsewhere.reserve(back)).toMatchObject({
      granted: false,
      eligibleAtMs: START + 3 * interval,
    });
    const { Item } = await client.send(
      new GetItemCommand({ TableName: tableName, Key: { pk: { S: `RATE#${base.key}` }, sk: { S: 'gcra' } } }),
    );
    expect(Item?.tats?.M?.['minute.messages~']).toEqual({ N: String(START + 5 * interval) });
    // Transactional mail refused again comes back at its slot, ahead of the queue, and writes nothing.
    const writes = counts.get('UpdateItemCommand') ?? 0;
    expect(await shared.reserve({ ...back, priority: 'transactional' })).toMatchObject({
      granted: false,
      eligibleAtMs: START + 2 * interval,
    });
    expect(counts.get('UpdateItemCommand')).toBe(writes);
    counted.destroy();
  });

  it('grants every request when no limit applies, without touching the table', async () => {
    const counted = new DynamoDBClient(testAws.dynamodb);
    const counts = countCommands(counted);
    expect(await governor({ client: counted }).reserve(request({ limits: {} }))).toEqual({
      granted: true,
      sendAtMs: START,
    });
    expect(counts.size).toBe(0);
    counted.destroy();
  });

  it('keeps concurrent senders with stale views of the key within the limit (compare-and-swap)', async () => {
    const base = request({ limits: { messagesPerMinute: 60 }, priority: 'transactional' });
    const senders = Array.from({ length: 8 }, () => governor({ coalesceMs: 0 }));
    const sendTimes: number[] = [];
    for (let round = 0; round < 20; round++) {
      const results = await Promise.all(senders.map((sender) => sender.reserve(base)));
      for (const result of results) if (result.granted) sendTimes.push(result.sendAtMs);
      clock.advance(500);
    }
    sendTimes.sort((a, b) => a - b);
    expect(new Set(sendTimes).size).toBe(sendTimes.length);
    for (let i = 1; i < sendTimes.length; i++) {
      expect((sendTimes[i] ?? 0) - (sendTimes[i - 1] ?? 0)).toBeGreaterThanOrEqual(1_000);
    }
    // 10 s of demand far above the limit: the minute's pace (one every 1,034 ms) is used, not wasted.
    expect(sendTimes.length).toBeGreaterThanOrEqual(10);
  });
});
