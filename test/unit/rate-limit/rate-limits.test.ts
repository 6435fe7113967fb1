import fc from 'fast-check';
import {
  askAgainAt,
  assertSatisfiable,
  BULK_WAIT_IN_PLACE_MS,
  deferralOf,
  HORIZON_MS,
  horizonFor,
  LANDING_ALLOWANCE_MS,
  type PaceCell,
  type PaceState,
  PERIODS_MS,
  paceRules,
  type RateLimits,
  RateLimitUnsatisfiableError,
  schedule,
} from '../../../lambdas/domain/rate-limit/rate-limits';
import { busiestSpan } from '../../support/busiest-span';

const NOW = Date.UTC(2026, 0, 5, 9, 30, 15, 250);
const bulk = (recipients = 1): PaceCell => ({ messages: 1, recipients, priority: 'bulk' });
const receipt = (recipients = 1): PaceCell => ({ messages: 1, recipients, priority: 'transactional' });
/** The mechanics below at a bulk horizon of 1 s (two slots ahead at 2/s); the product's is `HORIZON_MS`. */
const ONE_SECOND_BULK = { transactional: 5_000, bulk: 1_000 } as const;

describe('pacing rules (GCRA)', () => {
  it('spaces per-second and per-minute limits strictly and lets half a daily limit through at once', () => {
    const rules = paceRules({ messagesPerMinute: 30, recipientsPerSecond: 14, recipientsPerDay: 10_000 });
    expect(LANDING_ALLOWANCE_MS).toEqual({ second: 0, minute: 2_000, day: 0 });
    expect(rules.map((rule) => [rule.id, rule.intervalMs, rule.toleranceMs])).toEqual([
      ['second.recipients', 1_000 / 14, 0],
      // 62 s / 30, in whole milliseconds.
      ['minute.messages', 2_067, 0],
      ['day.recipients', PERIODS_MS.day / 5_001, 4_999 * (PERIODS_MS.day / 5_001)],
    ]);
  });

  it('has no rule for an absent limit and refuses a non-positive one', () => {
    expect(paceRules({})).toEqual([]);
    expect(() => paceRules({ messagesPerSecond: 0 })).toThrow(RangeError);
  });

  it('refuses for good a send larger than a limit on its own', () => {
    expect(() => assertSatisfiable(paceRules({ recipientsPerMinute: 50 }), bulk(60))).toThrow(
      RateLimitUnsatisfiableError,
    );
    expect(() => assertSatisfiable(paceRules({ recipientsPerMinute: 50 }), bulk(50))).not.toThrow();
  });

  it('gives an idle limit a slot now, and the next one an interval later', () => {
    const rules = paceRules({ messagesPerMinute: 30 });
    const { slots, state } = schedule({}, rules, [bulk(), bulk()], NOW);
    expect(slots).toEqual([
      { granted: true, sendAtMs: NOW },
      { granted: true, sendAtMs: NOW + 2_067 },
    ]);
    expect(state['minute.messages']).toBe(NOW + 4_134);
  });

  it('keeps a per-minute limit where the sends land, each up to the allowance after its slot (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 120 }),
        fc.array(fc.integer({ min: 0, max: LANDING_ALLOWANCE_MS.minute }), { minLength: 1, maxLength: 200 }),
        (limit, landingDelays) => {
          const rules = paceRules({ messagesPerMinute: limit });
          let state: PaceState = {};
          const landed: Array<{ at: number; amount: number }> = [];
          // A backlog sent back to back: each send asks at its predecessor's slot and lands a little after its own.
          let now = NOW;
          for (const delay of landingDelays) {
            const planned = schedule(state, rules, [{ ...bulk(), queued: true }], now);
            state = planned.state;
            const [slot] = planned.slots;
            if (!slot?.granted) throw new Error('a back-to-back send was refused');
            landed.push({ at: slot.sendAtMs + delay, amount: 1 });
            now = slot.sendAtMs;
          }
          expect(busiestSpan(landed, PERIODS_MS.minute)).toBeLessThanOrEqual(limit);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses beyond the horizon with the exact time the send would fit, spreading a backlog in order', () => {
    const rules = paceRules({ recipientsPerSecond: 2 });
    const cells = Array.from({ length: 6 }, () => bulk());
    const { slots, state } = schedule({}, rules, cells, NOW, ONE_SECOND_BULK);
    expect(slots.slice(0, 3)).toEqual([
      { granted: true, sendAtMs: NOW },
      { granted: true, sendAtMs: NOW + 500 },
      { granted: true, sendAtMs: NOW + 1_000 },
    ]);
    // Refused cells book nothing, but each comes back later than the one before it.
    expect(state['second.recipients']).toBe(NOW + 1_500);
    const eligible = slots.slice(3).map((slot) => (slot.granted ? 0 : slot.eligibleAtMs));
    // Each a horizon before its place (1.5, 2 and 2.5 s from now): exact, whole seconds are the deferral's.
    expect(eligible).toEqual([NOW + 500, NOW + 1_000, NOW + 1_500]);
  });

  it('schedules transactional mail before bulk mail of the same batch, with a longer horizon', () => {
    const rules = paceRules({ recipientsPerSecond: 1 });
    const { slots } = schedule({}, rules, [bulk(), bulk(), receipt()], NOW);
    expect(slots[2]).toEqual({ granted: true, sendAtMs: NOW });
    expect(slots[0]).toEqual({ granted: true, sendAtMs: NOW + 1_000 });
    expect(slots[1]?.granted).toBe(false);
    const busy: PaceState = { 'second.recipients': NOW + 3_000 };
    expect(schedule(busy, rules, [receipt()], NOW).slots[0]).toEqual({
      granted: true,
      sendAtMs: NOW + 3_000,
    });
    expect(schedule(busy, rules, [bulk()], NOW).slots[0]?.granted).toBe(false);
  });

  it('lets a bulk send book at least one interval ahead when the interval is longer than its horizon', () => {
    const rules = paceRules({ messagesPerMinute: 10 });
    const { slots } = schedule({ 'minute.messages': NOW + 5_000 }, rules, [bulk()], NOW);
    expect(slots[0]).toEqual({ granted: true, sendAtMs: NOW + 5_000 });
    expect(HORIZON_MS.bulk).toBeLessThan(5_000);
    // A daily limit's long interval never stretches the horizon: that send is deferred, not slept on.
    const daily = paceRules({ messagesPerDay: 4 });
    expect(horizonFor('bulk', daily)).toBe(HORIZON_MS.bulk);
    const third = schedule({}, daily, [bulk(), bulk(), bulk()], NOW).slots[2];
    expect(third).toEqual({ granted: false, eligibleAtMs: NOW + PERIODS_MS.day / 3 - HORIZON_MS.bulk });
  });

  it('queues first-time bulk mail: concurrent batches are refused with distinct places, not the same time', () => {
    const rules = paceRules({ recipientsPerSecond: 2 });
    const first = schedule(
      {},
      rules,
      Array.from({ length: 6 }, () => bulk()),
      NOW,
      ONE_SECOND_BULK,
    );
    const second = schedule(
      first.state,
      rules,
      Array.from({ length: 4 }, () => bulk()),
      NOW,
      ONE_SECOND_BULK,
    );
    const eligible = [...first.slots, ...second.slots].flatMap((slot) =>
      slot.granted ? [] : [slot.eligibleAtMs],
    );
    expect(eligible).toEqual([500, 1_000, 1_500, 2_000, 2_500, 3_000, 3_500].map((ms) => NOW + ms));
    expect(first.state['second.recipients~']).toBe(NOW + 3_000);
    expect(second.state['second.recipients~']).toBe(NOW + 5_000);
  });

  it('lets an email back from a deferral, and transactional mail, book ahead of the bulk queue', () => {
    const rules = paceRules({ recipientsPerSecond: 2 });
    const state: PaceState = { 'second.recipients': NOW, 'second.recipients~': NOW + 20_000 };
    expect(schedule(state, rules, [bulk()], NOW).slots[0]).toEqual({
      granted: false,
      eligibleAtMs: NOW + 20_000 - horizonFor('bulk', rules),
    });
    expect(schedule(state, rules, [{ ...bulk(), queued: true }], NOW).slots[0]).toEqual({
      granted: true,
      sendAtMs: NOW,
    });
    expect(schedule(state, rules, [receipt()], NOW).slots[0]).toEqual({ granted: true, sendAtMs: NOW });
  });

  it('sends bulk mail refused again with its slot out of reach behind the queue, at distinct places', () => {
    const rules = paceRules({ recipientsPerSecond: 2 });
    const back: PaceCell = { ...bulk(), queued: true };
    // Others took the slots up to 10 s from now; the queue's places run to 20 s.
    const taken: PaceState = { 'second.recipients': NOW + 10_000, 'second.recipients~': NOW + 20_000 };
    // Two senders, one after the other on the stored state, with emails back from deferrals.
    const first = schedule(taken, rules, [back], NOW, ONE_SECOND_BULK);
    const second = schedule(first.state, rules, [back, back], NOW, ONE_SECOND_BULK);
    const eligible = [...first.slots, ...second.slots].map((slot) => (slot.granted ? 0 : slot.eligibleAtMs));
    // Places at 20, 20.5 and 21 s, each asked back a horizon (1 s) before it, as a first refusal is.
    expect(eligible).toEqual([NOW + 19_000, NOW + 19_500, NOW + 20_000]);
    expect(first.state).toEqual({ ...taken, 'second.recipients~': NOW + 20_500 });
    expect(second.state).toEqual({ ...taken, 'second.recipients~': NOW + 21_500 });
    // Its slot within reach (the sender waits up to BULK_WAIT_IN_PLACE_MS for it): back at that slot, no place;
    // one millisecond further, behind the queue.
    const near: PaceState = { ...taken, 'second.recipients': NOW + BULK_WAIT_IN_PLACE_MS };
    expect(schedule(near, rules, [back], NOW, ONE_SECOND_BULK)).toEqual({
      state: near,
      slots: [{ granted: false, eligibleAtMs: NOW + BULK_WAIT_IN_PLACE_MS }],
      due: [NOW + BULK_WAIT_IN_PLACE_MS],
    });
    const beyond: PaceState = { ...taken, 'second.recipients': NOW + BULK_WAIT_IN_PLACE_MS + 1 };
    expect(schedule(beyond, rules, [back], NOW, ONE_SECOND_BULK).slots).toEqual([
      { granted: false, eligibleAtMs: NOW + 19_000 },
    ]);
    // With no queue ahead, the places start where the slots are free; transactional mail never goes behind it.
    const noQueue: PaceState = { 'second.recipients': NOW + 10_000 };
    expect(schedule(noQueue, rules, [back], NOW, ONE_SECOND_BULK).slots[0]).toEqual({
      granted: false,
      eligibleAtMs: NOW + 9_000,
    });
    const receiptBack: PaceCell = { ...receipt(), queued: true };
    const busy: PaceState = { 'second.recipients': NOW + 30_000, 'second.recipients~': NOW + 40_000 };
    expect(schedule(busy, rules, [receiptBack], NOW)).toMatchObject({
      state: busy,
      slots: [{ granted: false, eligibleAtMs: NOW + 30_000 }],
    });
  });

  it('forgets a queue time once it has passed', () => {
    const rules = paceRules({ recipientsPerSecond: 2 });
    const { state } = schedule({ 'second.recipients~': NOW - 5 }, rules, [bulk()], NOW);
    expect(state).toEqual({ 'second.recipients': NOW + 500 });
  });

  it('turns an eligible time into whole seconds of deferral', () => {
    expect(deferralOf(NOW + 1_200, NOW)).toEqual({
      retryAfterSeconds: 2,
      eligibleAt: new Date(NOW + 2_000).toISOString(),
    });
    expect(deferralOf(NOW - 5, NOW).retryAfterSeconds).toBe(1);
  });

  const limitsArb = fc.record(
    {
      messagesPerSecond: fc.integer({ min: 1, max: 20 }),
      messagesPerMinute: fc.integer({ min: 1, max: 120 }),
      recipientsPerSecond: fc.integer({ min: 5, max: 60 }),
      recipientsPerDay: fc.integer({ min: 50, max: 400 }),
    },
    { requiredKeys: [] },
  );
  const stepArb = fc.record({
    advanceMs: fc.integer({ min: 0, max: 40_000 }),
    cells: fc.array(
      fc.record({
        messages: fc.constant(1),
        recipients: fc.integer({ min: 1, max: 5 }),
        priority: fc.constantFrom('transactional' as const, 'bulk' as const),
        queued: fc.boolean(),
      }),
      { minLength: 1, maxLength: 12 },
    ),
  });

  it('never lets more than a limit through in ANY span of its period, whatever arrives when (property)', () => {
    fc.assert(
      fc.property(
        limitsArb,
        fc.array(stepArb, { minLength: 1, maxLength: 60 }),
        (limits: RateLimits, steps) => {
          const rules = paceRules(limits);
          let state: PaceState = {};
          let now = NOW;
          const sends: Array<{ at: number; cell: PaceCell }> = [];
          for (const step of steps) {
            now += step.advanceMs;
            const cells = step.cells.filter((cell) => {
              try {
                assertSatisfiable(rules, cell);
                return true;
              } catch {
                return false;
              }
            });
            const planned = schedule(state, rules, cells, now);
            state = planned.state;
            planned.slots.forEach((slot, index) => {
              const cell = cells[index];
              if (!cell) return;
              if (slot.granted) {
                expect(slot.sendAtMs).toBeGreaterThanOrEqual(now);
                expect(slot.sendAtMs - now).toBeLessThanOrEqual(horizonFor(cell.priority, rules));
                sends.push({ at: slot.sendAtMs, cell });
              } else {
                expect(slot.eligibleAtMs).toBeGreaterThan(now);
              }
            });
          }
          for (const rule of rules) {
            const [period] = rule.id.split('.') as [keyof typeof PERIODS_MS];
            const amounts = sends.map(({ at, cell }) => ({ at, amount: cell[rule.counts] }));
            expect(busiestSpan(amounts, PERIODS_MS[period])).toBeLessThanOrEqual(rule.limit);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('drains a backlog near the rate, bulk mail waiting in place for near places, with few deferrals per email', () => {
    const rules = paceRules({ recipientsPerSecond: 14 });
    const EMAILS = 1_000;
    // Emails waiting to be received: when they become visible and whether they hold a place in the queue.
    let waiting = Array.from({ length: EMAILS }, () => ({ visibleAt: NOW, queued: false }));
    // Two senders (the bulk lane's concurrency): each holds its batch of up to 10 until every email in it is
    // sent or deferred; an email waiting in place asks again at its time, until its sender's patience ends.
    const senders = [0, 1].map(() => ({ freeAt: NOW, holding: [] as { asksAt: number; until: number }[] }));
    let state: PaceState = {};
    const sentAt: number[] = [];
    let deferrals = 0;
    let writes = 0;
    const ask = (
      sender: (typeof senders)[number],
      cells: readonly PaceCell[],
      until: readonly number[],
      now: number,
    ) => {
      const planned = schedule(state, rules, cells, now);
      if (JSON.stringify(planned.state) !== JSON.stringify(state)) writes += 1;
      state = planned.state;
      planned.slots.forEach((slot, index) => {
        const patience = until[index] ?? 0;
        if (slot.granted) {
          sentAt.push(slot.sendAtMs);
          sender.freeAt = Math.max(sender.freeAt, slot.sendAtMs);
        } else if (slot.eligibleAtMs <= patience) {
          sender.holding.push({ asksAt: askAgainAt(slot.eligibleAtMs), until: patience });
        } else {
          deferrals += 1;
          // SQS delays in whole seconds.
          waiting.push({
            visibleAt: now + deferralOf(slot.eligibleAtMs, now).retryAfterSeconds * 1_000,
            queued: true,
          });
        }
      });
    };
    for (let now = NOW; sentAt.length < EMAILS && now < NOW + 600_000; now += 10) {
      for (const sender of senders) {
        const due = sender.holding.filter((email) => email.asksAt <= now);
        if (due.length > 0) {
          sender.holding = sender.holding.filter((email) => !due.includes(email));
          ask(
            sender,
            due.map(() => ({ ...bulk(), queued: true })),
            due.map((email) => email.until),
            now,
          );
        }
        if (sender.holding.length > 0 || sender.freeAt > now) continue;
        const batch = waiting.filter((email) => email.visibleAt <= now).slice(0, 10);
        if (batch.length === 0) continue;
        waiting = waiting.filter((email) => !batch.includes(email));
        ask(
          sender,
          batch.map((email) => ({ ...bulk(), queued: email.queued })),
          batch.map(() => now + BULK_WAIT_IN_PLACE_MS),
          now,
        );
      }
    }
    expect(sentAt).toHaveLength(EMAILS);
    const seconds = (Math.max(...sentAt) - Math.min(...sentAt)) / 1_000;
    // In this model (whole-second SQS delays, two senders of 10, 14/s, a 250 ms bulk horizon, waiting in place up
    // to 2 s and asking again on the horizon's grid): 99.2 % of the rate, no deferral, 0.46 writes per email.
    // Booking 1 s ahead without waiting in place gave 98.2 %, 1.06 deferrals and 0.27 writes; the short horizon
    // asking again at each email's own time, 1.10 writes; waiting at most 1 s, 0.97 deferrals.
    expect((EMAILS - 1) / seconds / 14).toBeGreaterThanOrEqual(0.95);
    expect(deferrals / EMAILS).toBeLessThanOrEqual(0.1);
    expect(writes / EMAILS).toBeLessThanOrEqual(0.6);
  });
});
