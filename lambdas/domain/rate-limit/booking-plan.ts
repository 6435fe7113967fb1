import {
  HORIZON_MS,
  horizonFor,
  type PaceCell,
  type PaceRule,
  type PaceState,
  type Priority,
  queueIdOf,
  type Slot,
  schedule,
} from './rate-limits';

/**
 * How a batch's booking is written to the shared state, chosen so that concurrent senders with stale views
 * rarely lose the write's condition (each lost condition is still a billed write):
 * - `unchanged`: nothing to write (every cell refused without a queue place);
 * - `reset`: the limit was idle for this batch: the plan is the same for every stored state whose times are at
 *   or before `floors` (one per rule, for its arrival and its queue time), so the write is conditioned on that,
 *   not on the exact state this sender last saw;
 * - `shift`: one strictly spaced limit, backlogged, every cell granted: the batch moves the rule's arrival time
 *   by `delta` from wherever it stands in [`from`, `to`], so the write adds `delta` instead of setting a value,
 *   and concurrent senders' additions all succeed; the slots follow from the stored result (`slotsAfterShift`);
 * - `replace`: anything else: the new state, conditioned on the exact state this sender saw.
 */
export type BookingPlan =
  | { readonly kind: 'unchanged'; readonly slots: readonly Slot[] }
  | {
      readonly kind: 'reset';
      readonly state: PaceState;
      readonly slots: readonly Slot[];
      readonly floors: Readonly<Record<string, number>>;
    }
  | {
      readonly kind: 'shift';
      readonly ruleId: string;
      readonly delta: number;
      readonly from: number;
      readonly to: number;
      /** The batch has first-time bulk mail, so the rule's queue time must not be ahead of its arrival time. */
      readonly queueNotAhead: boolean;
    }
  | { readonly kind: 'replace'; readonly state: PaceState; readonly slots: readonly Slot[] };

/** Plans one batch against `view` (the state this sender last saw) at `nowMs`; see `BookingPlan`. */
export function planBooking(
  view: PaceState,
  rules: readonly PaceRule[],
  cells: readonly PaceCell[],
  nowMs: number,
  horizons: Readonly<Record<Priority, number>> = HORIZON_MS,
): BookingPlan {
  const planned = schedule(view, rules, cells, nowMs, horizons);
  if (sameState(effectiveState(view, nowMs), planned.state))
    return { kind: 'unchanged', slots: planned.slots };
  const floors = idleFloors(rules, cells, nowMs);
  if (floors && rules.every((rule) => atOrBefore(view, rule.id, floors[rule.id]))) {
    return { kind: 'reset', state: planned.state, slots: planned.slots, floors };
  }
  return shiftOf(view, rules, cells, nowMs, planned, horizons) ?? { kind: 'replace', ...planned };
}

/**
 * The slots of a `shift` plan, from the state stored after the addition: the batch is scheduled against the
 * arrival time it found (the stored one minus `delta`). Throws if that is not the booking the write made,
 * which would mean the plan's bounds are wrong.
 */
export function slotsAfterShift(
  plan: Extract<BookingPlan, { kind: 'shift' }>,
  stored: PaceState,
  rules: readonly PaceRule[],
  cells: readonly PaceCell[],
  nowMs: number,
  horizons: Readonly<Record<Priority, number>> = HORIZON_MS,
): Slot[] {
  const after = stored[plan.ruleId] ?? Number.NaN;
  const before = { ...stored, [plan.ruleId]: after - plan.delta };
  const { state, slots } = schedule(before, rules, cells, nowMs, horizons);
  if (Math.ceil(state[plan.ruleId] ?? Number.NaN) !== after || !slots.every((slot) => slot.granted)) {
    throw new Error(`shifted booking of ${plan.ruleId} does not match its plan (stored ${after})`);
  }
  return slots;
}

/**
 * Per rule, the latest stored arrival (and queue) time at which the batch still starts now as on an idle limit:
 * the first cell's conformance time is `now` and every later time follows from it alone. Undefined when a rule
 * counts nothing in the batch (its stored time would then survive the write, so it must be known exactly).
 */
function idleFloors(
  rules: readonly PaceRule[],
  cells: readonly PaceCell[],
  nowMs: number,
): Record<string, number> | undefined {
  const floors: Record<string, number> = {};
  for (const rule of rules) {
    const largest = Math.max(0, ...cells.map((cell) => cell[rule.counts]));
    if (largest === 0) return undefined;
    floors[rule.id] = Math.floor(Math.min(nowMs, nowMs - (largest - 1) * rule.intervalMs + rule.toleranceMs));
  }
  return floors;
}

function atOrBefore(view: PaceState, ruleId: string, floor: number | undefined): boolean {
  if (floor === undefined) return false;
  return (view[ruleId] ?? floor) <= floor && (view[queueIdOf(ruleId)] ?? floor) <= floor;
}

function shiftOf(
  view: PaceState,
  rules: readonly PaceRule[],
  cells: readonly PaceCell[],
  nowMs: number,
  planned: { readonly state: PaceState; readonly slots: readonly Slot[] },
  horizons: Readonly<Record<Priority, number>>,
): BookingPlan | undefined {
  const [rule, ...others] = rules;
  // A tolerance (a daily burst) or a second rule makes the booking depend on where the times stand, not only
  // on how far they move.
  if (!rule || others.length > 0 || rule.toleranceMs !== 0) return undefined;
  const arrival = view[rule.id];
  const after = planned.state[rule.id];
  if (arrival === undefined || after === undefined || arrival < nowMs) return undefined;
  const queue = queueIdOf(rule.id);
  const queueNotAhead = cells.some((cell) => cell.priority === 'bulk' && !cell.queued);
  // Only the arrival time moves: no queue place is written (without first-time bulk mail the queue is untouched;
  // with it, a queue ahead of the arrival time would have moved too).
  if (Object.keys(planned.state).some((id) => id !== rule.id && (id !== queue || queueNotAhead)))
    return undefined;
  // Every cell stays granted while its send time (arrival + its offset) is within its horizon.
  let to = Number.POSITIVE_INFINITY;
  for (const [index, cell] of cells.entries()) {
    const slot = planned.slots[index];
    if (!slot?.granted) return undefined;
    to = Math.min(to, nowMs + horizonFor(cell.priority, rules, horizons) - (slot.sendAtMs - arrival));
  }
  to = Math.floor(to);
  if (arrival > to) return undefined;
  return {
    kind: 'shift',
    ruleId: rule.id,
    delta: Math.ceil(after - arrival),
    from: nowMs,
    to,
    queueNotAhead,
  };
}

const QUEUE_SUFFIX = queueIdOf('');

/** `state` without queue times that no longer hold anyone back (as `schedule` leaves them out). */
function effectiveState(state: PaceState, nowMs: number): PaceState {
  const effective: Record<string, number> = {};
  for (const [id, at] of Object.entries(state)) {
    const ruleId = id.endsWith(QUEUE_SUFFIX) ? id.slice(0, -QUEUE_SUFFIX.length) : undefined;
    if (ruleId !== undefined && (at <= nowMs || at <= (state[ruleId] ?? 0))) continue;
    effective[id] = at;
  }
  return effective;
}

function sameState(a: PaceState, b: PaceState): boolean {
  const keys = Object.keys(b);
  return keys.length === Object.keys(a).length && keys.every((key) => a[key] === b[key]);
}
