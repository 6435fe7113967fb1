import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoRateGovernor } from '../../../lambdas/adapters/rate-governor-store';
import {
  COUNTER_TTL_MARGIN_SECONDS,
  RateLimitUnsatisfiableError,
  type ReservationRequest,
} from '../../../lambdas/domain/rate-limit/rate-limits';
import { testAws } from '../../support/env';
import { createScratchTable, deleteScratchTable } from '../../support/scratch-table';
import { ManualClock } from './counters-table';

const MINUTE_START = Date.UTC(2026, 0, 5, 9, 30, 0);

describe('DynamoRateGovernor (DynamoDB Local)', () => {
  const client = new DynamoDBClient(testAws.dynamodb);
  let tableName: string;
  let keyCounter = 0;
  const clock = new ManualClock(MINUTE_START);

  const governor = (bulkShare?: number) =>
    new DynamoRateGovernor({ client, tableName, clock, ...(bulkShare ? { bulkShare } : {}) });
  const request = (overrides: Partial<ReservationRequest> = {}): ReservationRequest => ({
    key: `smtp#tenant-${++keyCounter}#production`,
    limits: { messagesPerMinute: 3 },
    messages: 1,
    recipients: 1,
    priority: 'transactional',
    ...overrides,
  });

  beforeAll(async () => {
    tableName = await createScratchTable(client, 'counters', { label: 'governor' });
  });

  afterAll(async () => {
    await deleteScratchTable(client, tableName);
    client.destroy();
  });

  beforeEach(() => clock.set(MINUTE_START + 10_000));

  it('grants up to the limit in a window and then tells the caller when the window rolls over', async () => {
    const base = request();
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await governor().reserve(base));

    expect(results.slice(0, 3)).toEqual([{ granted: true }, { granted: true }, { granted: true }]);
    expect(results[3]).toEqual({
      granted: false,
      retryAfterSeconds: 50,
      eligibleAt: new Date(MINUTE_START + 60_000).toISOString(),
    });

    clock.set(MINUTE_START + 60_000);
    expect(await governor().reserve(base)).toEqual({ granted: true });
  });

  it('stores one counter per window, expiring after the window end plus a margin', async () => {
    const base = request();
    await governor().reserve(base);

    const item = await client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: `RATE#${base.key}` }, sk: { S: `minute#${MINUTE_START}` } },
      }),
    );
    expect(item.Item?.messages?.N).toBe('1');
    expect(item.Item?.recipients).toBeUndefined();
    expect(Number(item.Item?.expiresAt?.N)).toBe((MINUTE_START + 60_000) / 1000 + COUNTER_TTL_MARGIN_SECONDS);
  });

  it('reserves all windows or none: a full minute leaves the second and day counters untouched', async () => {
    const base = request({ limits: { messagesPerSecond: 5, messagesPerMinute: 2, recipientsPerDay: 100 } });
    expect(await governor().reserve(base)).toEqual({ granted: true });
    expect(await governor().reserve(base)).toEqual({ granted: true });
    const refused = await governor().reserve(base);
    expect(refused).toMatchObject({ granted: false, retryAfterSeconds: 50 });

    const second = Math.floor(clock.now() / 1000) * 1000;
    const secondItem = await client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: `RATE#${base.key}` }, sk: { S: `second#${second}` } },
      }),
    );
    const day = Math.floor(clock.now() / 86_400_000) * 86_400_000;
    const dayItem = await client.send(
      new GetItemCommand({
        TableName: tableName,
        Key: { pk: { S: `RATE#${base.key}` }, sk: { S: `day#${day}` } },
      }),
    );
    expect(secondItem.Item?.messages?.N).toBe('2');
    expect(dayItem.Item?.recipients?.N).toBe('2');
  });

  it('counts recipients separately from messages', async () => {
    const base = request({ limits: { messagesPerMinute: 100, recipientsPerMinute: 5 }, recipients: 3 });
    expect(await governor().reserve(base)).toEqual({ granted: true });
    expect(await governor().reserve(base)).toMatchObject({ granted: false });
    expect(await governor().reserve({ ...base, recipients: 2 })).toEqual({ granted: true });
  });

  it('keeps a share of capacity for transactional mail that bulk mail cannot take', async () => {
    const base = request({ limits: { messagesPerMinute: 10 } });
    const bulk = { ...base, priority: 'bulk' as const };
    const bulkResults = [];
    for (let i = 0; i < 10; i++) bulkResults.push((await governor(0.8).reserve(bulk)).granted);
    expect(bulkResults.filter(Boolean)).toHaveLength(8);

    const transactional = [];
    for (let i = 0; i < 3; i++) transactional.push((await governor(0.8).reserve(base)).granted);
    expect(transactional).toEqual([true, true, false]);
  });

  it('refuses for good a request larger than the limit itself', async () => {
    await expect(
      governor().reserve(request({ limits: { recipientsPerMinute: 5 }, recipients: 6 })),
    ).rejects.toThrow(RateLimitUnsatisfiableError);
  });

  it('grants every request when no limit applies, without touching the table', async () => {
    expect(await governor().reserve(request({ limits: {} }))).toEqual({ granted: true });
  });

  it('never grants more than the limit to many concurrent senders sharing one key', async () => {
    const base = request({ limits: { messagesPerMinute: 7, messagesPerDay: 1_000 } });
    const senders = Array.from({ length: 12 }, () => governor());
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => senders[i % senders.length]?.reserve(base)),
    );
    let granted = results.filter((result) => result?.granted).length;
    expect(granted).toBeLessThanOrEqual(7);

    // A sender that lost only write conflicts is told to retry in a second; retrying fills exactly to the limit.
    for (;;) {
      const next = await governor().reserve(base);
      if (!next.granted) {
        expect(next.retryAfterSeconds).toBe(50);
        break;
      }
      granted += 1;
    }
    expect(granted).toBe(7);
  });
});
