import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoRateGovernor } from '../../../lambdas/adapters/rate-governor-store';
import type { Priority, ReservationRequest } from '../../../lambdas/domain/rate-limit/rate-limits';
import { busiestSpan } from '../../support/busiest-span';
import { testAws } from '../../support/env';
import { createScratchTable, deleteScratchTable } from '../../support/scratch-table';
import { ManualClock } from './counters-table';

const START = Date.UTC(2026, 0, 5, 9, 45, 0);

/** A container's own DynamoDB client, counting the writes DynamoDB refused on their condition (each one billed). */
function containerClient(): { client: DynamoDBClient; failedConditions: () => number } {
  const client = new DynamoDBClient(testAws.dynamodb);
  let failed = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        if ((error as Error).name === 'ConditionalCheckFailedException') failed += 1;
        throw error;
      }
    },
    { step: 'initialize', name: 'countFailedConditions' },
  );
  return { client, failedConditions: () => failed };
}

describe('several rate governors sharing one limit (DynamoDB Local)', () => {
  const clients: Array<ReturnType<typeof containerClient>> = [];
  const admin = new DynamoDBClient(testAws.dynamodb);
  const clock = new ManualClock(START);
  let tableName: string;
  let keyCounter = 0;

  /** Governors as separate Lambda containers: each its own client, its own view of the state. */
  const containers = (count: number, horizons?: Readonly<Record<Priority, number>>) =>
    Array.from({ length: count }, () => {
      const counted = containerClient();
      clients.push(counted);
      return {
        governor: new DynamoRateGovernor({ client: counted.client, tableName, clock, horizons }),
        failedConditions: counted.failedConditions,
      };
    });

  beforeAll(async () => {
    tableName = await createScratchTable(admin, 'counters', { label: 'governors' });
  });

  afterAll(async () => {
    await deleteScratchTable(admin, tableName);
    admin.destroy();
    for (const { client } of clients) client.destroy();
  });

  beforeEach(() => clock.set(START));

  it('never books more recipients in any second than the rate, whatever the mix of senders and mail, and rarely conflicts', async () => {
    const RATE = 50;
    const key = `ses-${++keyCounter}`;
    const senders = containers(6);
    const sends: Array<{ at: number; amount: number }> = [];
    const deferred = new Map<number, ReservationRequest[]>();
    let refused = 0;
    // 4 s of demand about three times the rate: transactional and bulk mail, 1 to 3 recipients, first-time and
    // back from a deferral (a refused email comes back when it was told to, holding its place).
    for (let round = 0; round < 40; round += 1) {
      const now = clock.now();
      const returning = deferred.get(now) ?? [];
      deferred.delete(now);
      const batches = senders.map((_, sender) =>
        Array.from({ length: 4 }, (_, index): ReservationRequest => {
          const n = round * 100 + sender * 10 + index;
          const priority: Priority = n % 7 === 0 ? 'transactional' : 'bulk';
          return {
            key,
            limits: { recipientsPerSecond: RATE },
            messages: 1,
            recipients: 1 + (n % 3),
            priority,
          };
        }),
      );
      for (const [index, request] of returning.entries()) batches[index % senders.length]?.push(request);
      await Promise.all(
        senders.map(async ({ governor }, sender) => {
          const requests = batches[sender] ?? [];
          const answers = await Promise.all(requests.map((request) => governor.reserve(request)));
          for (const [index, answer] of answers.entries()) {
            const request = requests[index];
            if (!request) continue;
            if (answer.granted) {
              sends.push({ at: answer.sendAtMs, amount: request.recipients });
              continue;
            }
            refused += 1;
            const back = Math.ceil(Date.parse(answer.eligibleAt) / 100) * 100;
            deferred.set(back, [...(deferred.get(back) ?? []), { ...request, queued: true }]);
          }
        }),
      );
      clock.advance(100);
    }
    expect(refused).toBeGreaterThan(0); // the demand really was over the rate
    expect(busiestSpan(sends, 1_000)).toBeLessThanOrEqual(RATE);
    // Stale views cost few lost conditions: the backlogged limit and its queue are moved by additions (a
    // compare-and-swap of the whole state loses most of its 240 batches here).
    const failed = senders.reduce((total, { failedConditions }) => total + failedConditions(), 0);
    expect(failed).toBeLessThan(240 / 5);
  });

  it('adds concurrent bookings to a backlogged limit without losing a condition, each in its own slots', async () => {
    const key = `ses-${++keyCounter}`;
    const limits = { recipientsPerSecond: 40 };
    // Written for a bulk horizon of 1 s (the product's is HORIZON_MS, 250 ms).
    const senders = containers(5, { transactional: 5_000, bulk: 1_000 });
    const request = (priority: Priority): ReservationRequest => ({
      key,
      limits,
      messages: 1,
      recipients: 1,
      priority,
      queued: true,
    });
    // Each container books once, one after the other, and so has seen the limit backlogged (every view stale
    // but the last).
    for (const { governor } of senders)
      expect((await governor.reserve(request('transactional'))).granted).toBe(true);
    const before = senders.map(({ failedConditions }) => failedConditions());
    const sendTimes: number[] = [];
    for (let round = 0; round < 3; round += 1) {
      const answers = await Promise.all(
        senders.flatMap(({ governor }) => [
          governor.reserve(request('transactional')),
          governor.reserve(request('bulk')),
        ]),
      );
      for (const answer of answers) if (answer.granted) sendTimes.push(answer.sendAtMs);
      clock.advance(150);
    }
    expect(senders.map(({ failedConditions }, index) => failedConditions() - (before[index] ?? 0))).toEqual([
      0, 0, 0, 0, 0,
    ]);
    // 30 reservations in 0.45 s at 40 a second all fit their horizons (bulk mail books up to 1 s ahead).
    sendTimes.sort((a, b) => a - b);
    expect(sendTimes).toHaveLength(30);
    for (let i = 1; i < sendTimes.length; i += 1) {
      expect((sendTimes[i] ?? 0) - (sendTimes[i - 1] ?? 0)).toBeGreaterThanOrEqual(25);
    }
  });
});
