import {
  ceilingFor,
  planReservation,
  RateLimitUnsatisfiableError,
  refusal,
} from '../../../lambdas/domain/rate-limit/rate-limits';

const NOW = Date.UTC(2026, 0, 5, 9, 30, 15, 250);
const request = {
  key: 'smtp#t#production',
  messages: 1,
  recipients: 4,
  priority: 'transactional' as const,
};

describe('rate limit windows', () => {
  it('plans one fixed window per unit that has a limit, aligned to the epoch', () => {
    const plans = planReservation(
      { ...request, limits: { messagesPerSecond: 2, messagesPerMinute: 30, recipientsPerDay: 10_000 } },
      NOW,
    );
    expect(plans.map((plan) => [plan.unit, plan.windowStart])).toEqual([
      ['second', Date.UTC(2026, 0, 5, 9, 30, 15)],
      ['minute', Date.UTC(2026, 0, 5, 9, 30)],
      ['day', Date.UTC(2026, 0, 5)],
    ]);
    expect(plans[2]?.recipients).toEqual({ amount: 4, ceiling: 10_000 });
    expect(plans[2]?.messages).toBeUndefined();
  });

  it('lets bulk mail fill only its share, but never less than one request', () => {
    expect(ceilingFor(30, 1, 'transactional', 0.8)).toBe(30);
    expect(ceilingFor(30, 1, 'bulk', 0.8)).toBe(24);
    expect(ceilingFor(1, 1, 'bulk', 0.8)).toBe(1);
    expect(ceilingFor(50, 45, 'bulk', 0.8)).toBe(45);
  });

  it('refuses a request that exceeds a limit on its own', () => {
    expect(() =>
      planReservation({ ...request, recipients: 60, limits: { recipientsPerMinute: 50 } }, NOW),
    ).toThrow(RateLimitUnsatisfiableError);
  });

  it('makes a refused request eligible when the last full window ends', () => {
    const minuteEnd = Date.UTC(2026, 0, 5, 9, 31);
    expect(refusal([{ windowEnd: NOW + 750 }, { windowEnd: minuteEnd }], NOW)).toEqual({
      granted: false,
      retryAfterSeconds: 45,
      eligibleAt: new Date(NOW + 45_000).toISOString(),
    });
  });

  it('never asks the caller to come back sooner than one second', () => {
    expect(refusal([], NOW)).toMatchObject({ retryAfterSeconds: 1 });
  });
});
