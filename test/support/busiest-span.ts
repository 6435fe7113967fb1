/**
 * Largest total `amount` of sends whose times fall in any half-open span of `periodMs` — a rolling window, as SES
 * and relays count their limits (not clock-aligned windows).
 */
export function busiestSpan(sends: ReadonlyArray<{ at: number; amount: number }>, periodMs: number): number {
  const sorted = [...sends].sort((a, b) => a.at - b.at);
  let best = 0;
  let total = 0;
  let start = 0;
  for (const send of sorted) {
    total += send.amount;
    while (sorted[start] && (sorted[start]?.at ?? 0) <= send.at - periodMs) {
      total -= sorted[start]?.amount ?? 0;
      start += 1;
    }
    best = Math.max(best, total);
  }
  return best;
}
