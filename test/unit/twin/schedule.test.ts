import { nextRun, parseSchedule } from '../../../local/twin/schedule';

/** Examples from the EventBridge user guide ("Using cron and rate expressions to schedule rules"), in UTC. */
describe('EventBridge schedule expressions', () => {
  const nextAfter = (iso: string, expression: string) =>
    nextRun(parseSchedule(expression), new Date(iso))?.toISOString();

  it.each([
    ['cron(0 10 * * ? *)', '2026-12-01T09:00:00.000Z', '2026-12-01T10:00:00.000Z'],
    ['cron(0 10 * * ? *)', '2026-12-01T10:00:00.000Z', '2026-12-02T10:00:00.000Z'],
    ['cron(15 12 * * ? *)', '2026-12-01T12:15:30.000Z', '2026-12-02T12:15:00.000Z'],
    // 18:00 Monday to Friday: 2026-12-04 is a Friday, so after it comes Monday the 7th.
    ['cron(0 18 ? * MON-FRI *)', '2026-12-04T18:00:00.000Z', '2026-12-07T18:00:00.000Z'],
    ['cron(0 8 1 * ? *)', '2026-12-01T08:00:00.000Z', '2027-01-01T08:00:00.000Z'],
    ['cron(0/10 * ? * MON-FRI *)', '2026-12-01T09:01:00.000Z', '2026-12-01T09:10:00.000Z'],
    ['cron(0/5 8-17 ? * MON-FRI *)', '2026-12-01T17:55:00.000Z', '2026-12-02T08:00:00.000Z'],
    // The stack's own daily refresh.
    ['cron(0 3 * * ? *)', '2026-12-01T18:00:00.000Z', '2026-12-02T03:00:00.000Z'],
    // 1 is Sunday: 2026-12-06 is a Sunday.
    ['cron(30 6 ? * 1 *)', '2026-12-01T00:00:00.000Z', '2026-12-06T06:30:00.000Z'],
    ['cron(0 0 1 1 ? 2028)', '2026-12-01T00:00:00.000Z', '2028-01-01T00:00:00.000Z'],
  ])('%s after %s fires at %s', (expression, from, expected) => {
    expect(nextAfter(from, expression)).toBe(expected);
  });

  it('returns nothing for a cron schedule whose years are over', () => {
    expect(nextAfter('2026-12-01T00:00:00.000Z', 'cron(0 0 1 1 ? 2020)')).toBeUndefined();
  });

  it.each([
    ['rate(5 minutes)', 300_000],
    ['rate(1 hour)', 3_600_000],
    ['rate(15 minutes)', 900_000],
    ['rate(7 days)', 604_800_000],
  ])('%s fires every %d ms', (expression, ms) => {
    expect(parseSchedule(expression)).toEqual({ kind: 'rate', everyMs: ms });
  });

  it.each([
    ['cron(0 10 * * * *)', 'exactly one of day-of-month and day-of-week must be ?'],
    ['cron(0 10 ? * ? *)', 'exactly one of day-of-month and day-of-week must be ?'],
    ['cron(0 9 ? * 2#1 *)', 'L, W and # are not supported'],
    ['cron(0 9 L * ? *)', 'L, W and # are not supported'],
    ['cron(60 9 * * ? *)', '60 is not a value between 0 and 59'],
    ['cron(0 9 * *)', 'unsupported schedule expression'],
    ['rate(0 minutes)', 'unsupported rate expression'],
  ])('refuses %s', (expression, message) => {
    expect(() => parseSchedule(expression)).toThrow(message);
  });

  it('reads month and day names in ranges that contain the letters L and W', () => {
    expect(nextAfter('2026-12-01T00:00:00.000Z', 'cron(0 12 ? JUN-JUL MON-WED *)')).toBe(
      '2027-06-01T12:00:00.000Z',
    );
  });
});
