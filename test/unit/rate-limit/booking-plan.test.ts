import fc from 'fast-check';
import { planBooking, slotsAfterShift } from '../../../lambdas/domain/rate-limit/booking-plan';
import {
  horizonFor,
  type PaceCell,
  type PaceRule,
  type PaceState,
  paceRules,
  queueIdOf,
  type RateLimits,
  returnIdOf,
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

function stateOf(
  rules: readonly PaceRule[],
  times: ReadonlyArray<readonly [number?, number?, number?]>,
): PaceState {
  const state: Record<string, number> = {};
  for (const [index, rule] of rules.entries()) {
    const [arrival, queue, back] = times[index] ?? [];
    if (arrival !== undefined) state[rule.id] = NOW + arrival;
    if (queue !== undefined) state[queueIdOf(rule.id)] = NOW + queue;
    if (back !== undefined) state[returnIdOf(rule.id)] = NOW + back;
  }
  return state;
}

const caseArb = limitsArb.chain((limits) => {
  const rules = paceRules(limits);
  const timesArb = fc.array(fc.tuple(timeArb, timeArb, timeArb), {
    minLength: rules.length,
    maxLength: rules.length,
  });
  return fc.record({
    rules: fc.constant(rules),
    cells: fc.array(cellArb, { minLength: 1, maxLength: 12 }),
    view: timesArb.map((times) => stateOf(rules, times)),
    // The state actually stored when the write lands (other senders wrote since this one looked).
    actual: timesArb.map((times) => stateOf(rules, times)),
    below: fc.array(
      fc.tuple(fc.option(fc.nat(90_000)), fc.option(fc.nat(90_000)), fc.option(fc.nat(90_000))),
      {
        minLength: rules.length,
        maxLength: rules.length,
      },
    ),
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
          const [arrival, queue, back] = below[index] ?? [];
          if (arrival !== null && arrival !== undefined) stored[rule.id] = floor - arrival;
          if (queue !== null && queue !== undefined) stored[queueIdOf(rule.id)] = floor - queue;
          if (back !== null && back !== undefined) stored[returnIdOf(rule.id)] = floor - back;
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
          let queue = plan.queue ? plan.queue.from + queueAbove : actual[queueId];
          const to = plan.arrival?.to ?? Number.NaN;
          let arrival = plan.arrival
            ? Math.round(plan.arrival.from + where * (Number.isFinite(to) ? to - plan.arrival.from : 20_000))
            : (queue ?? NOW) - arrivalBelow;
          if (plan.queueVsArrival === 'behind' && queue !== undefined && queue > arrival) queue = undefined;
          if (plan.queueVsArrival === 'ahead') arrival = Math.min(arrival, queue ?? arrival);
          const stored: Record<string, number> = { [plan.ruleId]: arrival };
          if (queue !== undefined) stored[queueId] = queue;
          // The return time where the plan's condition allows it: past its bound, at or behind the arrival time
          // (or absent), or, when the batch takes no return place, wherever another sender put it.
          const returnId = returnIdOf(plan.ruleId);
          const returns = plan.returns;
          const back = !returns
            ? actual[returnId]
            : 'from' in returns
              ? returns.from + queueAbove
              : actual[returnId] === undefined
                ? undefined
                : arrival - arrivalBelow;
          if (back !== undefined) stored[returnId] = back;
          const replayed = schedule(stored, rules, cells, NOW);
          const granted = (slots: ReadonlyArray<{ granted: boolean }>) => slots.map((slot) => slot.granted);
          expect(granted(replayed.slots)).toEqual(granted(schedule(view, rules, cells, NOW).slots));
          const after = { ...stored };
          if (plan.arrival) after[plan.ruleId] = arrival + plan.arrival.delta;
          if (plan.queue) after[queueId] = (queue ?? Number.NaN) + plan.queue.delta;
          if (returns)
            after[returnId] =
              'from' in returns ? (back ?? Number.NaN) + returns.delta : arrival + returns.offset;
          expect(Math.ceil(replayed.state[plan.ruleId] ?? Number.NaN)).toBe(after[plan.ruleId]);
          if (plan.queue) expect(Math.ceil(replayed.state[queueId] ?? Number.NaN)).toBe(after[queueId]);
          if (returns) expect(Math.ceil(replayed.state[returnId] ?? Number.NaN)).toBe(after[returnId]);
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
    // A return time stored by another sender is left where it is: mail booked in line does not depend on it.
    const returning = { ...backlogged, 'second.recipients^': NOW + 3_000 };
    expect(planBooking(returning, rules, [bulk(true), bulk(true), receipt()], NOW, ONE_SECOND_BULK)).toEqual(
      planBooking(backlogged, rules, [bulk(true), bulk(true), receipt()], NOW, ONE_SECOND_BULK),
    );
    // The bucket full for a second: mail back from a deferral is refused again and takes the next place in the
    // return line, first-time mail its place in the queue. With no return time ahead of the arrival time, the
    // return line starts there, however full the bucket is: set from the arrival time found.
    const full = { 'second.recipients': NOW + 2_000, 'second.recipients~': NOW + 5_000 };
    expect(planBooking(full, rules, [bulk(true), bulk()], NOW, ONE_SECOND_BULK)).toEqual({
      kind: 'shift',
      ruleId: 'second.recipients',
      arrival: { delta: 0, from: NOW + 1_001, to: NOW + 4_980 },
      queue: { delta: 20, from: NOW + 5_000 },
      queueVsArrival: 'any',
      returns: { offset: 20 },
    });
    // A return line ahead of the arrival time: places behind it, which moves by their length, as long as the
    // arrival time stands no further than the return time (the queue past both refused emails' line).
    const behind = { ...full, 'second.recipients^': NOW + 3_000 };
    expect(planBooking(behind, rules, [bulk(true), bulk(true), bulk()], NOW, ONE_SECOND_BULK)).toEqual({
      kind: 'shift',
      ruleId: 'second.recipients',
      arrival: { delta: 0, from: NOW + 1_001, to: NOW + 3_000 },
      queue: { delta: 20, from: NOW + 3_040 },
      queueVsArrival: 'any',
      returns: { delta: 40, from: NOW + 3_000 },
    });
    const near = { 'second.recipients': NOW + 2_000, 'second.recipients^': NOW + 2_010 };
    expect(planBooking(near, rules, [bulk(true)], NOW, ONE_SECOND_BULK)).toEqual({
      kind: 'shift',
      ruleId: 'second.recipients',
      arrival: { delta: 0, from: NOW + 1_001, to: NOW + 2_010 },
      queueVsArrival: 'any',
      returns: { delta: 20, from: NOW + 2_010 },
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

  it('writes nothing when every cell is refused without a place, and a return place when bulk mail is refused again', () => {
    const rules = paceRules({ recipientsPerSecond: 2 });
    const returningReceipt: PaceCell = { ...receipt(), queued: true };
    const state = { 'second.recipients': NOW + 9_000, 'second.recipients~': NOW + 12_000 };
    expect(planBooking(state, rules, [returningReceipt], NOW).kind).toBe('unchanged');
    // Queue and return times the arrival time has passed hold no one back, as if they were not stored.
    const stale = {
      'second.recipients': NOW + 9_000,
      'second.recipients~': NOW + 4_000,
      'second.recipients^': NOW,
    };
    expect(planBooking(stale, rules, [returningReceipt], NOW).kind).toBe('unchanged');
    // Bulk mail refused again: a place in the return line, from the arrival time (the bucket is 9 s full).
    expect(planBooking(stale, rules, [bulk(true)], NOW)).toEqual({
      kind: 'shift',
      ruleId: 'second.recipients',
      arrival: { delta: 0, from: NOW + horizonFor('bulk', rules) + 1, to: Number.POSITIVE_INFINITY },
      queueVsArrival: 'any',
      returns: { offset: 500 },
    });
  });
});
