import fc from 'fast-check';
import { planBooking, slotsAfterShift } from '../../../lambdas/domain/rate-limit/booking-plan';
import {
  type PaceCell,
  type PaceRule,
  type PaceState,
  paceRules,
  queueIdOf,
  type RateLimits,
  schedule,
} from '../../../lambdas/domain/rate-limit/rate-limits';

const NOW = Date.UTC(2026, 0, 5, 9, 30, 15, 250);
const bulk = (queued = false): PaceCell => ({
  messages: 1,
  recipients: 1,
  priority: 'bulk',
  ...(queued ? { queued } : {}),
});
const receipt = (): PaceCell => ({ messages: 1, recipients: 1, priority: 'transactional' });
/** Plans at a bulk horizon of 1 s (the product's is `HORIZON_MS`): the bounds below are written for it. */
const ONE_SECOND_BULK = { transactional: 5_000, bulk: 1_000 } as const;

const limitsArb = fc.oneof(
  fc.record({ recipientsPerSecond: fc.constantFrom(1, 13.58, 14, 48.5, 50) }),
  fc.constant<RateLimits>({ messagesPerMinute: 30 }),
  fc.constant<RateLimits>({ messagesPerMinute: 30, recipientsPerDay: 10_000 }),
  fc.constant<RateLimits>({ messagesPerSecond: 1, messagesPerDay: 200 }),
);
const cellArb: fc.Arbitrary<PaceCell> = fc.record(
  {
    messages: fc.constant(1),
    recipients: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 5 })),
    priority: fc.constantFrom('transactional' as const, 'bulk' as const),
    queued: fc.boolean(),
  },
  { requiredKeys: ['messages', 'recipients', 'priority'] },
);
/** A stored time relative to NOW: mostly near it, sometimes absent. */
const timeArb = fc.option(fc.integer({ min: -6_000, max: 12_000 }), { nil: undefined });

function stateOf(rules: readonly PaceRule[], times: ReadonlyArray<readonly [number?, number?]>): PaceState {
  const state: Record<string, number> = {};
  for (const [index, rule] of rules.entries()) {
    const [arrival, queue] = times[index] ?? [];
    if (arrival !== undefined) state[rule.id] = NOW + arrival;
    if (queue !== undefined) state[queueIdOf(rule.id)] = NOW + queue;
  }
  return state;
}

const caseArb = limitsArb.chain((limits) => {
  const rules = paceRules(limits);
  const timesArb = fc.array(fc.tuple(timeArb, timeArb), { minLength: rules.length, maxLength: rules.length });
  return fc.record({
    rules: fc.constant(rules),
    cells: fc.array(cellArb, { minLength: 1, maxLength: 12 }),
    view: timesArb.map((times) => stateOf(rules, times)),
    // The state actually stored when the write lands (other senders wrote since this one looked).
    actual: timesArb.map((times) => stateOf(rules, times)),
    below: fc.array(fc.tuple(fc.option(fc.nat(90_000)), fc.option(fc.nat(90_000))), {
      minLength: rules.length,
      maxLength: rules.length,
    }),
  });
});

describe('planBooking', () => {
  it('plans a reset only when every stored state at or before its floors schedules the batch the same way', () => {
    fc.assert(
      fc.property(caseArb, ({ rules, cells, view, below }) => {
        const plan = planBooking(view, rules, cells, NOW);
        fc.pre(plan.kind === 'reset');
        if (plan.kind !== 'reset') return;
        const stored: Record<string, number> = {};
        for (const [index, rule] of rules.entries()) {
          const floor = plan.floors[rule.id] ?? Number.NaN;
          const [arrival, queue] = below[index] ?? [];
          if (arrival !== null && arrival !== undefined) stored[rule.id] = floor - arrival;
          if (queue !== null && queue !== undefined) stored[queueIdOf(rule.id)] = floor - queue;
        }
        const replayed = schedule(stored, rules, cells, NOW);
        expect(replayed.slots).toEqual(plan.slots);
        expect(replayed.state).toEqual(plan.state);
      }),
      { numRuns: 400 },
    );
  });

  it('plans a shift only when, wherever the times stand within its conditions, the batch moves them by its deltas', () => {
    fc.assert(
      fc.property(
        caseArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.nat(20_000),
        fc.nat(20_000),
        ({ rules, cells, view, actual }, where, queueAbove, arrivalBelow) => {
          const plan = planBooking(view, rules, cells, NOW);
          fc.pre(plan.kind === 'shift');
          if (plan.kind !== 'shift') return;
          const queueId = queueIdOf(plan.ruleId);
          // A stored state that meets the write's condition (other senders moved the times since this one looked).
          const fromArrival = plan.queue !== undefined && 'offset' in plan.queue;
          let queue = plan.queue && 'from' in plan.queue ? plan.queue.from + queueAbove : actual[queueId];
          const to = plan.arrival?.to ?? Number.NaN;
          let arrival = plan.arrival
            ? Math.round(plan.arrival.from + where * (Number.isFinite(to) ? to - plan.arrival.from : 20_000))
            : (queue ?? NOW) - arrivalBelow;
          // At or behind the arrival time, wherever (a queue set from the arrival time may have been anywhere).
          if (fromArrival && queue !== undefined) queue = arrival - queueAbove;
          if (plan.queueVsArrival === 'behind' && queue !== undefined && queue > arrival) queue = undefined;
          if (plan.queueVsArrival === 'ahead') arrival = Math.min(arrival, queue ?? arrival);
          const stored: Record<string, number> = { [plan.ruleId]: arrival };
          if (queue !== undefined) stored[queueId] = queue;
          const replayed = schedule(stored, rules, cells, NOW);
          const granted = (slots: ReadonlyArray<{ granted: boolean }>) => slots.map((slot) => slot.granted);
          expect(granted(replayed.slots)).toEqual(granted(schedule(view, rules, cells, NOW).slots));
          const after = { ...stored };
          if (plan.arrival) after[plan.ruleId] = arrival + plan.arrival.delta;
          if (plan.queue) {
            after[queueId] =
              'offset' in plan.queue ? arrival + plan.queue.offset : (queue ?? Number.NaN) + plan.queue.delta;
          }
          expect(Math.ceil(replayed.state[plan.ruleId] ?? Number.NaN)).toBe(after[plan.ruleId]);
          if (plan.queue) expect(Math.ceil(replayed.state[queueId] ?? Number.NaN)).toBe(after[queueId]);
          expect(slotsAfterShift(plan, after, rules, cells, NOW)).toEqual(replayed.slots);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('adds to a backlogged strictly spaced limit, and resets an idle one', () => {
    const rules = paceRules({ recipientsPerSecond: 50 });
    const backlogged = { 'second.recipients': NOW + 300 };
    expect(planBooking(backlogged, rules, [bulk(true), bulk(true), receipt()], NOW, ONE_SECOND_BULK)).toEqual(
      {
        kind: 'shift',
        ruleId: 'second.recipients',
        // The last bulk cell sends 40 ms after the arrival time and may do so at most 1 s from now.
        arrival: { delta: 60, from: NOW, to: NOW + 960 },
        queueVsArrival: 'any',
      },
    );
    // First-time bulk mail behind a queue 5 s long takes the next places in it, whatever its length.
    const queued = { 'second.recipients': NOW + 300, 'second.recipients~': NOW + 5_000 };
    expect(planBooking(queued, rules, [bulk(), bulk(true), bulk()], NOW, ONE_SECOND_BULK)).toEqual({
      kind: 'shift',
      ruleId: 'second.recipients',
      arrival: { delta: 20, from: NOW, to: NOW + 1_000 },
      queue: { delta: 40, from: NOW + 1_020 },
      queueVsArrival: 'any',
    });
    // The bucket full for 1.5 s: mail back from a deferral is refused and waits for its slot (within reach: 1 s
    // past the horizon), first-time mail takes its place in the queue, and neither depends on exactly how full.
    const full = { 'second.recipients': NOW + 1_500, 'second.recipients~': NOW + 5_000 };
    expect(planBooking(full, rules, [bulk(true), bulk()], NOW, ONE_SECOND_BULK)).toEqual({
      kind: 'shift',
      ruleId: 'second.recipients',
      arrival: { delta: 0, from: NOW + 1_001, to: NOW + 2_000 },
      queue: { delta: 20, from: NOW + 2_020 },
      queueVsArrival: 'any',
    });
    // Full for 3 s: its slot is out of reach, so, like first-time mail, it takes the next place in the queue; the
    // arrival time may stand anywhere from there up to where the queue stays past the line.
    const fuller = { 'second.recipients': NOW + 3_000, 'second.recipients~': NOW + 5_000 };
    expect(planBooking(fuller, rules, [bulk(true), bulk()], NOW, ONE_SECOND_BULK)).toEqual({
      kind: 'shift',
      ruleId: 'second.recipients',
      arrival: { delta: 0, from: NOW + 2_001, to: NOW + 4_980 },
      queue: { delta: 40, from: NOW + 5_000 },
      queueVsArrival: 'any',
    });
    expect(planBooking(fuller, rules, [bulk(true), bulk(true)], NOW, ONE_SECOND_BULK)).toEqual({
      kind: 'shift',
      ruleId: 'second.recipients',
      arrival: { delta: 0, from: NOW + 2_001, to: NOW + 5_000 },
      queue: { delta: 40, from: NOW + 5_000 },
      queueVsArrival: 'any',
    });
    // No queue ahead of the arrival time: their places start where the line stands, set from the arrival time.
    const noQueue = { 'second.recipients': NOW + 3_000 };
    expect(planBooking(noQueue, rules, [bulk(true), bulk(true)], NOW, ONE_SECOND_BULK)).toEqual({
      kind: 'shift',
      ruleId: 'second.recipients',
      arrival: { delta: 0, from: NOW + 2_001, to: Number.POSITIVE_INFINITY },
      queue: { offset: 40 },
      queueVsArrival: 'behind',
    });
    // Only first-time bulk mail: the queue may stand anywhere from the first place past the horizon.
    const joiners = [bulk(), bulk()];
    expect(planBooking(queued, rules, joiners, NOW, ONE_SECOND_BULK)).toEqual({
      kind: 'shift',
      ruleId: 'second.recipients',
      queue: { delta: 40, from: NOW + 1_001 },
      queueVsArrival: 'ahead',
    });
    const at = (queue: number) =>
      schedule(
        { 'second.recipients': NOW, 'second.recipients~': queue },
        rules,
        joiners,
        NOW,
        ONE_SECOND_BULK,
      );
    expect(at(NOW + 1_001).slots.map((slot) => slot.granted)).toEqual([false, false]);
    expect(at(NOW + 1_000).slots[0]?.granted).toBe(true);
    expect(
      planBooking({ 'second.recipients': NOW - 20 }, rules, [bulk()], NOW, ONE_SECOND_BULK),
    ).toMatchObject({
      kind: 'reset',
      floors: { 'second.recipients': NOW },
      state: { 'second.recipients': NOW + 20 },
    });
  });

  it('compares the exact state when the batch starts the queue or paces several limits', () => {
    const rules = paceRules({ recipientsPerSecond: 2 });
    const full = { 'second.recipients': NOW + 900 };
    expect(planBooking(full, rules, [bulk(), bulk(), bulk()], NOW).kind).toBe('replace');
    const relay = paceRules({ messagesPerMinute: 30, recipientsPerDay: 10_000 });
    expect(
      planBooking({ 'minute.messages': NOW + 1_000, 'day.recipients': NOW + 1_000 }, relay, [bulk()], NOW)
        .kind,
    ).toBe('replace');
  });

  it('writes nothing when every cell is refused without a queue place', () => {
    const rules = paceRules({ recipientsPerSecond: 2 });
    // Transactional mail back from a deferral and refused again comes back at its slot: no place is taken.
    const receiptBack: PaceCell = { ...receipt(), queued: true };
    const state = { 'second.recipients': NOW + 9_000, 'second.recipients~': NOW + 12_000 };
    expect(planBooking(state, rules, [receiptBack], NOW).kind).toBe('unchanged');
    // A queue time the arrival time has passed holds no one back, as if it were not stored.
    const stale = { 'second.recipients': NOW + 9_000, 'second.recipients~': NOW + 4_000 };
    expect(planBooking(stale, rules, [receiptBack], NOW).kind).toBe('unchanged');
    // Bulk mail refused again takes a place behind the queue: a write.
    expect(planBooking(stale, rules, [bulk(true)], NOW).kind).toBe('shift');
  });
});
