/**
 * The emulator's time: a base clock (wall time by default) plus an offset that only grows. Advancing it is
 * how tests and people let hours pass without waiting: identity deadlines (72 h for a domain's CNAMEs, 24 h
 * for an email verification link) and the rolling 24-hour quota all read it.
 */
export class VirtualClock {
  private offsetMs = 0;

  constructor(private readonly base: () => number = Date.now) {}

  now(): number {
    return this.base() + this.offsetMs;
  }

  /** Moves time forward by `duration` (`"72h"`, `"30m"`, `"10s"`, `"1d"`, `"250ms"` or milliseconds). */
  advance(duration: string | number): number {
    const ms = typeof duration === 'number' ? duration : parseDuration(duration);
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`cannot advance the clock by ${duration}`);
    this.offsetMs += ms;
    return this.now();
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `"72h"` → 259 200 000. Combined forms such as `"1d12h"` add up. */
export function parseDuration(text: string): number {
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/g)];
  const consumed = parts.map((part) => part[0]).join('');
  if (parts.length === 0 || consumed.replace(/\s/g, '') !== text.replace(/\s/g, '')) {
    throw new RangeError(`not a duration: ${JSON.stringify(text)} (use e.g. "72h", "30m", "1d12h")`);
  }
  return parts.reduce((sum, part) => sum + Number(part[1]) * (UNIT_MS[part[2] ?? ''] ?? 0), 0);
}
