/**
 * EventBridge schedule expressions, as the twin runs them: `rate(value unit)` and
 * `cron(minutes hours day-of-month month day-of-week year)` in UTC, with the syntax EventBridge documents
 * (`*`, `?`, lists, ranges, `/` increments, `JAN`–`DEC`, `SUN`–`SAT` where 1 is Sunday). `L`, `W` and `#`
 * are refused with a clear error rather than guessed.
 */
export type Schedule =
  | { readonly kind: 'rate'; readonly everyMs: number }
  | { readonly kind: 'cron'; readonly fields: CronFields };

interface CronFields {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  /** Undefined when `?` (the other day field decides). */
  readonly daysOfMonth?: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 1 = Sunday … 7 = Saturday; undefined when `?`. */
  readonly daysOfWeek?: ReadonlySet<number>;
  readonly years?: ReadonlySet<number>;
}

const UNITS: Record<string, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

export function parseSchedule(expression: string): Schedule {
  const rate = /^rate\((\d+) ([a-z]+)\)$/.exec(expression.trim());
  if (rate) {
    const unit = UNITS[rate[2] ?? ''];
    if (!unit || Number(rate[1]) < 1) throw new Error(`unsupported rate expression: ${expression}`);
    return { kind: 'rate', everyMs: Number(rate[1]) * unit };
  }
  const cron = /^cron\((.+)\)$/.exec(expression.trim());
  const parts = cron?.[1]?.trim().split(/\s+/) ?? [];
  if (parts.length !== 6) throw new Error(`unsupported schedule expression: ${expression}`);
  const [minutes, hours, dom, month, dow, year] = parts as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?'))
    throw new Error(`${expression}: exactly one of day-of-month and day-of-week must be ?`);
  return {
    kind: 'cron',
    fields: {
      minutes: field(minutes, 0, 59, expression),
      hours: field(hours, 0, 23, expression),
      ...(dom === '?' ? {} : { daysOfMonth: field(dom, 1, 31, expression) }),
      months: field(month, 1, 12, expression, MONTHS),
      ...(dow === '?' ? {} : { daysOfWeek: field(dow, 1, 7, expression, DAYS) }),
      ...(year === '*' ? {} : { years: field(year, 1970, 2199, expression) }),
    },
  };
}

/** The first time strictly after `after` at which the cron schedule fires, or undefined if it never does again. */
export function nextCronRun(schedule: Extract<Schedule, { kind: 'cron' }>, after: Date): Date | undefined {
  const { fields } = schedule;
  const start = new Date(after.getTime());
  start.setUTCSeconds(0, 0);
  start.setUTCMinutes(start.getUTCMinutes() + 1);
  const day = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()));
  for (let i = 0; i < 366 * 30; i++, day.setUTCDate(day.getUTCDate() + 1)) {
    if (fields.years && !fields.years.has(day.getUTCFullYear())) continue;
    if (!fields.months.has(day.getUTCMonth() + 1)) continue;
    if (fields.daysOfMonth && !fields.daysOfMonth.has(day.getUTCDate())) continue;
    if (fields.daysOfWeek && !fields.daysOfWeek.has(day.getUTCDay() + 1)) continue;
    for (const hour of [...fields.hours].sort((a, b) => a - b)) {
      for (const minute of [...fields.minutes].sort((a, b) => a - b)) {
        const candidate = new Date(day.getTime() + hour * 3_600_000 + minute * 60_000);
        if (candidate.getTime() >= start.getTime()) return candidate;
      }
    }
  }
  return undefined;
}

/** When the schedule next fires after `after` (rate schedules: one period later). */
export function nextRun(schedule: Schedule, after: Date): Date | undefined {
  return schedule.kind === 'rate'
    ? new Date(after.getTime() + schedule.everyMs)
    : nextCronRun(schedule, after);
}

function field(text: string, min: number, max: number, expression: string, names?: string[]): Set<number> {
  const values = new Set<number>();
  const value = (token: string): number => {
    const named = names?.indexOf(token.toUpperCase()) ?? -1;
    const number = named >= 0 ? named + 1 : Number(token);
    if (!Number.isInteger(number) || number < min || number > max)
      throw new Error(`${expression}: ${token} is not a value between ${min} and ${max}`);
    return number;
  };
  for (const part of text.split(',')) {
    const withoutNames = [...MONTHS, ...DAYS].reduce(
      (rest, name) => rest.replaceAll(name, ''),
      part.toUpperCase(),
    );
    if (/[LW#]/.test(withoutNames))
      throw new Error(`${expression}: L, W and # are not supported by the local twin`);
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`${expression}: bad increment in ${part}`);
    let from: number;
    let to: number;
    if (range === '*') [from, to] = [min, max];
    else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      [from, to] = [value(a), value(b)];
    } else {
      from = value(range);
      to = stepText === undefined ? from : max;
    }
    for (let n = from; n <= to; n += step) values.add(n);
  }
  return values;
}
