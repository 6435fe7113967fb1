import type { Context } from 'aws-lambda';
import {
  cursorAfter,
  type LaneMessage,
  MessageStatus as S,
  type StuckRecord,
  SWEEP_ROUND_MARGIN_MS,
  type SweepDeps,
  type SweepPosition,
  sweepStuck,
} from '../../../lambdas/domain/message';
import { laneMessage, sendRequestSchema } from '../../../lambdas/domain/sending/send-request';
import { createSweepStuckHandler, SWEEP_METRICS } from '../../../lambdas/handlers/sweep-stuck';

/** The sweeper over in-memory ports: which write it makes for which stuck record, and what it publishes. */
function harness(
  records: StuckRecord[],
  options: {
    lanesEmpty?: boolean;
    requests?: Record<string, string>;
    raced?: boolean;
    /** Entries of records no longer pending, walked after the records (shard P0). */
    passed?: string[];
  } = {},
) {
  const writes: string[] = [];
  const published: LaneMessage[] = [];
  const advanced: Map<string, SweepPosition>[] = [];
  const write = (kind: string) => async (record: StuckRecord, extra?: unknown) => {
    writes.push(`${kind} ${record.messageId}${typeof extra === 'string' ? ` ${extra}` : ''}`);
    return !options.raced;
  };
  const deps: SweepDeps = {
    ledger: {
      stuck: async (_now, limit) => {
        const taken = records.slice(0, limit);
        const walked = [
          ...taken.map((r) => ({ sweepAt: r.sweepAt, messageId: r.messageId })),
          ...(options.passed ?? []).map((messageId) => ({ sweepAt: '2026-12-01T11:00:00.000Z', messageId })),
        ];
        return {
          records: taken,
          passed: options.passed?.length ?? 0,
          walked: new Map([['P0', walked]]),
          cursorVersion: 3,
          caughtUp: taken.length === records.length,
        };
      },
      advanceSweep: async (scan, to) => {
        expect(scan.cursorVersion).toBe(3);
        advanced.push(new Map(to));
        return true;
      },
      markRequeued: write('requeued'),
      postpone: async (record, until) => {
        writes.push(`postponed ${record.messageId} ${until.toISOString()}`);
        return !options.raced;
      },
      completeAccepted: write('completed'),
      markUnrecoverable: write('unrecoverable'),
      request: async (messageId) => options.requests?.[messageId],
    },
    lanes: {
      publish: async (messages) => {
        published.push(...messages);
        return { sent: messages.map((m) => m.messageId) };
      },
    },
    depth: { isEmpty: async () => options.lanesEmpty ?? true },
    clock: { now: () => new Date('2026-12-01T12:00:00.000Z') },
    settings: { batchSize: 10, postponeSeconds: 60 },
  };
  return { deps, writes, published, advanced };
}

const stuck = (
  messageId: string,
  status: StuckRecord['status'],
  extra: Partial<StuckRecord> = {},
): StuckRecord => ({
  messageId,
  tenantId: 't',
  status,
  category: 'transactional',
  sweepAt: '2026-12-01T11:00:00.000Z',
  ...extra,
});
const body = laneMessage(
  sendRequestSchema.parse({
    tenantId: 't',
    environment: 'developer-sandbox',
    to: ['a@b.example'],
    subject: 's',
    text: 'x',
  }),
  'k1',
).body;

describe('sweepStuck (in-memory ports)', () => {
  it('completes an accepted send, re-enqueues a lost job with its own message id, dead-letters one with nothing kept', async () => {
    const h = harness(
      [
        stuck('accepted', S.SENDING, { providerMessageId: 'ses-1' }),
        stuck('lost', S.QUEUED),
        stuck('orphan', S.DEFERRED),
      ],
      { requests: { lost: body } },
    );
    expect(await sweepStuck(h.deps)).toEqual({
      rounds: 1,
      caughtUp: true,
      found: 3,
      passed: 0,
      completed: 1,
      requeued: 1,
      unrecoverable: 1,
      postponed: 0,
      raced: 0,
    });
    expect(h.writes).toEqual([
      'completed accepted',
      'requeued lost stuck in QUEUED, lane empty: re-enqueued',
      'unrecoverable orphan stuck in DEFERRED with no kept request: its queue message was lost or is in a dead-letter queue (redrive it)',
    ]);
    expect(h.published.map((m) => [m.messageId, JSON.parse(m.body).idempotencyKey])).toEqual([
      ['lost', 'k1'],
    ]);
  });

  it('postpones a record whose lease or eligibility has not run out to that time, even with its lane empty', async () => {
    const later = new Date('2026-12-01T12:17:00.000Z');
    const h = harness(
      [
        stuck('claimed', S.SENDING, { notBefore: later }),
        stuck('deferred', S.DEFERRED, { notBefore: later }),
        stuck('lapsed', S.SENDING, { notBefore: new Date('2026-12-01T11:59:59.000Z') }),
      ],
      { requests: { lapsed: body } },
    );
    expect(await sweepStuck(h.deps)).toMatchObject({ found: 3, postponed: 2, requeued: 1, raced: 0 });
    expect(h.writes).toEqual([
      'postponed claimed 2026-12-01T12:17:00.000Z',
      'postponed deferred 2026-12-01T12:17:00.000Z',
      'requeued lapsed stuck in SENDING, lane empty: re-enqueued',
    ]);
    expect(h.published.map((m) => m.messageId)).toEqual(['lapsed']);
  });

  it('postpones every record while its lane still holds messages, and publishes nothing', async () => {
    const h = harness([stuck('waiting', S.QUEUED), stuck('sending', S.SENDING)], {
      lanesEmpty: false,
      requests: { waiting: body },
    });
    expect(await sweepStuck(h.deps)).toMatchObject({ found: 2, postponed: 2, requeued: 0 });
    expect(h.writes).toEqual([
      'postponed waiting 2026-12-01T12:01:00.000Z',
      'postponed sending 2026-12-01T12:01:00.000Z',
    ]);
    expect(h.published).toEqual([]);
  });

  it('completes an accepted send even while its lane is busy, and counts records moved meanwhile as raced', async () => {
    const busy = harness([stuck('accepted', S.SENDING, { providerMessageId: 'ses-1' })], {
      lanesEmpty: false,
    });
    expect(await sweepStuck(busy.deps)).toMatchObject({ completed: 1, postponed: 0 });
    const raced = harness([stuck('a', S.QUEUED), stuck('b', S.SENDING, { providerMessageId: 'x' })], {
      requests: { a: body },
      raced: true,
    });
    expect(await sweepStuck(raced.deps)).toEqual({
      rounds: 1,
      caughtUp: false,
      found: 2,
      passed: 0,
      completed: 0,
      requeued: 0,
      unrecoverable: 0,
      postponed: 0,
      raced: 2,
    });
  });

  it('counts a postponement or a dead-lettering that lost its race as raced, not as done', async () => {
    const busy = harness([stuck('a', S.QUEUED), stuck('b', S.DEFERRED)], { lanesEmpty: false, raced: true });
    expect(await sweepStuck(busy.deps)).toMatchObject({ found: 2, postponed: 0, raced: 2 });
    const nothingKept = harness([stuck('c', S.QUEUED)], { requests: {}, raced: true });
    expect(await sweepStuck(nothingKept.deps)).toMatchObject({ found: 1, unrecoverable: 0, raced: 1 });
    // A re-enqueue the lane did not accept is not marked, and counts as raced.
    const refused = harness([stuck('d', S.QUEUED)], { requests: { d: body } });
    refused.deps.lanes.publish = async () => ({ sent: [] });
    expect(await sweepStuck(refused.deps)).toMatchObject({ requeued: 0, raced: 1 });
    expect(refused.writes).toEqual([]);
  });

  it('asks each lane once per sweep whether it is empty', async () => {
    const h = harness(
      [stuck('a', S.QUEUED), stuck('b', S.QUEUED), stuck('c', S.QUEUED, { category: 'bulk' })],
      { requests: {} },
    );
    const asked: string[] = [];
    h.deps.depth.isEmpty = async (category) => {
      asked.push(category);
      return true;
    };
    await sweepStuck(h.deps);
    expect(asked).toEqual(['transactional', 'bulk']);
  });

  it('reads at most the batch size', async () => {
    const h = harness(
      Array.from({ length: 15 }, (_, i) => stuck(`m${i}`, S.QUEUED)),
      { requests: {} },
    );
    expect((await sweepStuck(h.deps)).found).toBe(10);
  });

  it('moves the cursor past every entry it finished, passed entries included', async () => {
    const h = harness([stuck('a', S.QUEUED), stuck('b', S.SENDING, { providerMessageId: 'x' })], {
      requests: { a: body },
      passed: ['sent-1', 'sent-2'],
    });
    expect(await sweepStuck(h.deps)).toMatchObject({ found: 2, passed: 2, requeued: 1, completed: 1 });
    expect(h.advanced).toEqual([
      new Map([['P0', { sweepAt: '2026-12-01T11:00:00.000Z', messageId: 'sent-2' }]]),
    ]);
  });

  it('never moves the cursor past a record whose write lost its race', async () => {
    const h = harness([stuck('a', S.QUEUED)], { raced: true, requests: { a: body }, passed: ['sent-1'] });
    expect(await sweepStuck(h.deps)).toMatchObject({ found: 1, passed: 1, raced: 1 });
    // `a` is the shard's first entry: the cursor stays where it was (no write at all).
    expect(h.advanced).toEqual([]);
  });
});

describe('cursorAfter', () => {
  const at = (messageId: string, sweepAt = '2026-12-01T11:00:00.000Z') => ({ sweepAt, messageId });

  it('stops each shard at the last entry before the first unfinished one', () => {
    const walked = new Map([
      ['P0', [at('a'), at('b'), at('c', '2026-12-01T11:00:01.000Z'), at('d', '2026-12-01T11:00:02.000Z')]],
      ['P1', [at('e'), at('f')]],
      ['P2', [at('g')]],
      ['P3', []],
    ]);
    expect(cursorAfter(walked, new Set(['c', 'g']))).toEqual(
      new Map([
        ['P0', at('b')],
        ['P1', at('f')],
      ]),
    );
  });

  it('moves nowhere when nothing was walked or everything is unfinished', () => {
    expect(cursorAfter(new Map(), new Set())).toEqual(new Map());
    expect(cursorAfter(new Map([['P0', [at('a'), at('b')]]]), new Set(['a']))).toEqual(new Map());
  });
});

describe('sweepStuck over a backlog larger than one walk', () => {
  /** A ledger whose cursor moves through `count` stuck records, `limit` at a time. */
  function backlog(count: number) {
    const records = Array.from({ length: count }, (_, i) =>
      stuck(`m-${String(i).padStart(3, '0')}`, S.QUEUED, {
        sweepAt: `2026-12-01T11:${String(i % 60).padStart(2, '0')}:00.000Z`,
      }),
    );
    let offset = 0;
    let reads = 0;
    const request = JSON.stringify(
      laneMessage(
        sendRequestSchema.parse({
          type: 'email',
          idempotencyKey: 'k',
          tenantId: 't',
          environment: 'developer-sandbox',
          to: ['a@example.org'],
          subject: 's',
          text: 't',
        }),
        'k',
      ).body,
    );
    const deps: SweepDeps = {
      ledger: {
        stuck: async (_now, limit) => {
          reads += 1;
          const taken = records.slice(offset, offset + limit);
          return {
            records: taken,
            passed: 0,
            walked: new Map([['P0', taken.map((r) => ({ sweepAt: r.sweepAt, messageId: r.messageId }))]]),
            cursorVersion: reads,
            caughtUp: offset + taken.length >= records.length,
          };
        },
        advanceSweep: async (_scan, to) => {
          offset = records.findIndex((r) => r.messageId === to.get('P0')?.messageId) + 1;
          return true;
        },
        markRequeued: async () => true,
        postpone: async () => true,
        completeAccepted: async () => true,
        markUnrecoverable: async () => true,
        request: async () => JSON.parse(request) as string,
      },
      lanes: { publish: async (messages) => ({ sent: messages.map((m) => m.messageId) }) },
      depth: { isEmpty: async () => true },
      clock: { now: () => new Date('2026-12-01T12:00:00.000Z') },
      settings: { batchSize: 10, postponeSeconds: 60 },
    };
    return { deps, reads: () => reads };
  }

  it('walks on while the function has time, until the cursor has caught up', async () => {
    const { deps, reads } = backlog(25);
    const result = await sweepStuck(deps, () => 100_000);
    expect(result).toMatchObject({ found: 25, requeued: 25, rounds: 3, caughtUp: true });
    expect(reads()).toBe(3);
  });

  it('starts no other walk with less than the margin left, and says it did not catch up', async () => {
    const { deps } = backlog(25);
    const result = await sweepStuck(deps, () => SWEEP_ROUND_MARGIN_MS - 1);
    expect(result).toMatchObject({ found: 10, rounds: 1, caughtUp: false });
  });

  it('makes one walk when it is given no clock of the time left', async () => {
    const { deps } = backlog(25);
    expect(await sweepStuck(deps)).toMatchObject({ found: 10, rounds: 1, caughtUp: false });
  });

  it.each([
    [SWEEP_ROUND_MARGIN_MS - 1, 1],
    [100_000, 0],
  ])('the handler publishes SweepBehind (EMF) for a run with %s ms left: %s', async (left, behind) => {
    const lines: string[] = [];
    // Powertools writes EMF and logs to stdout (the Lambda log stream).
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    });
    try {
      const handler = createSweepStuckHandler(backlog(25).deps);
      await handler({}, {
        getRemainingTimeInMillis: () => left,
        functionName: 'sweeper',
      } as unknown as Context);
    } finally {
      spy.mockRestore();
    }
    const emf = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line._aws);
    expect(emf).toEqual([
      expect.objectContaining({ service: 'tenant-mail', MessagesSwept: 25 - 15 * behind }),
    ]);
    expect(emf[0]).toMatchObject({ [SWEEP_METRICS.behind]: behind });
    expect(emf[0]?._aws).toMatchObject({
      CloudWatchMetrics: [
        {
          Namespace: 'TenantMail',
          Dimensions: [['service']],
          Metrics: expect.arrayContaining([{ Name: 'SweepBehind', Unit: 'Count' }]),
        },
      ],
    });
  });
});
