import {
  BULK_WAIT_IN_PLACE_MS,
  goesBehindQueue,
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
 * - `shift`: one strictly spaced limit, backlogged: the batch moves the rule's arrival time (what it books) and
 *   queue time (the places first-time bulk mail takes) by fixed amounts from wherever they stand within bounds
 *   that keep every cell's answer the same, so the write adds those amounts instead of setting values, and
 *   concurrent senders' additions all succeed; the slots follow from the stored result (`slotsAfterShift`);
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
  | ShiftPlan
  | { readonly kind: 'replace'; readonly state: PaceState; readonly slots: readonly Slot[] };

/** See `BookingPlan`: the times that move, by how much, and where they must stand for the move to be right. */
export interface ShiftPlan {
  readonly kind: 'shift';
  readonly ruleId: string;
  /**
   * Cells booked against the rule's arrival time: it moves by `delta` from anywhere in [`from`, `to`] (`to` is
   * infinite when every such cell is refused: the arrival time only has to stand far enough).
   */
  readonly arrival?: { readonly delta: number; readonly from: number; readonly to: number };
  /**
   * Bulk mail refused behind the queue (first-time, or back from a deferral and refused again): the queue time
   * moves by `delta` from anywhere at or after `from`; or, with the queue behind the arrival time (`behind`), it
   * becomes the arrival time found plus `offset` (the places start where the line ends).
   */
  readonly queue?: { readonly delta: number; readonly from: number } | { readonly offset: number };
  /**
   * Where the stored queue time must stand against the arrival time: `behind` (not ahead of it: first-time bulk
   * mail is booked in line), `ahead` (at or past it: first-time bulk mail waits behind the queue) or `any`.
   */
  readonly queueVsArrival: 'behind' | 'ahead' | 'any';
}

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
  return (
    shiftOf(view, rules, cells, nowMs, planned, horizons) ?? {
      kind: 'replace',
      state: planned.state,
      slots: planned.slots,
    }
  );
}

/**
 * The slots of a `shift` plan, from the state stored after the additions: the batch is scheduled against the
 * times it found (the stored ones minus the deltas). Throws if that is not the booking the write made, which
 * would mean the plan's bounds are wrong.
 */
export function slotsAfterShift(
  plan: ShiftPlan,
  stored: PaceState,
  rules: readonly PaceRule[],
  cells: readonly PaceCell[],
  nowMs: number,
  horizons: Readonly<Record<Priority, number>> = HORIZON_MS,
): Slot[] {
  const queueId = queueIdOf(plan.ruleId);
  const before: Record<string, number> = { ...stored };
  const moves: Array<[string, number]> = [];
  if (plan.arrival) moves.push([plan.ruleId, plan.arrival.delta]);
  if (plan.queue && 'delta' in plan.queue) moves.push([queueId, plan.queue.delta]);
  for (const [id, delta] of moves) before[id] = (stored[id] ?? Number.NaN) - delta;
  // Set from the arrival time: every queue time at or behind it schedules the batch the same way.
  if (plan.queue && 'offset' in plan.queue) {
    delete before[queueId];
    moves.push([queueId, 0]);
  }
  const { state, slots } = schedule(before, rules, cells, nowMs, horizons);
  for (const [id] of moves) {
    if (Math.ceil(state[id] ?? Number.NaN) !== stored[id]) {
      throw new Error(`shifted booking of ${id} does not match its plan (stored ${stored[id]})`);
    }
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
  planned: ReturnType<typeof schedule>,
  horizons: Readonly<Record<Priority, number>>,
): ShiftPlan | undefined {
  const [rule, ...others] = rules;
  // A tolerance (a daily burst) or a second rule makes the booking depend on where the times stand, not only
  // on how far they move.
  if (!rule || others.length > 0 || rule.toleranceMs !== 0) return undefined;
  if (cells.some((cell) => cell[rule.counts] < 1)) return undefined;
  const queueId = queueIdOf(rule.id);
  const arrival = view[rule.id];
  const queued = view[queueId];
  const booked = planned.state[rule.id];
  if (arrival === undefined || booked === undefined) return undefined;
  // Cells lined up against the arrival time (all but first-time bulk mail refused behind the queue) send at
  // arrival + a fixed offset while the arrival time is not in the past: each stays granted below one bound,
  // refused above another. First-time bulk mail is either all in that line or all refused behind the queue.
  let from = nowMs;
  let to = Number.POSITIVE_INFINITY;
  let lineEnd = arrival;
  let lined = false;
  let firstBehind: PaceCell | undefined;
  // Where the line stands when the first bulk email refused again takes its place behind the queue.
  let firstRequeued: number | undefined;
  for (const [index, cell] of cells.entries()) {
    const slot = planned.slots[index];
    const due = planned.due[index] ?? Number.NaN;
    const joiner = cell.priority === 'bulk' && !cell.queued;
    if (joiner && !slot?.granted) {
      firstBehind ??= cell;
      continue;
    }
    lined = true;
    const horizon = horizonFor(cell.priority, rules, horizons);
    if (cell.queued && !slot?.granted) {
      // Behind the queue while its slot is out of reach (see `goesBehindQueue`), else back at its slot.
      const reach = nowMs + BULK_WAIT_IN_PLACE_MS - (due - arrival);
      if (goesBehindQueue(cell, due, nowMs)) {
        from = Math.max(from, reach + 1);
        firstRequeued ??= due - (cell[rule.counts] - 1) * rule.intervalMs;
      } else if (cell.priority === 'bulk') {
        to = Math.min(to, reach);
      }
    }
    const latest = nowMs + horizon - (due - arrival);
    if (slot?.granted) to = Math.min(to, latest);
    else from = Math.max(from, latest + 1);
    lineEnd = Math.max(lineEnd, due + cell[rule.counts] * rule.intervalMs);
  }
  if (
    firstBehind &&
    cells.some((cell, index) => cell.priority === 'bulk' && !cell.queued && planned.slots[index]?.granted)
  )
    return undefined;
  const delta = Math.ceil(booked - arrival);
  if (!firstBehind) {
    const joinerGranted = cells.some((cell) => cell.priority === 'bulk' && !cell.queued);
    if (Object.keys(planned.state).some((id) => id !== rule.id && id !== queueId)) return undefined;
    const queuedAfter = planned.state[queueId];
    // Without bulk mail refused again only the arrival time moves (the queue is untouched, or behind the arrival
    // time and left there).
    let queue: ShiftPlan['queue'];
    let queueVsArrival: ShiftPlan['queueVsArrival'] = joinerGranted ? 'behind' : 'any';
    if (firstRequeued === undefined) {
      if (queuedAfter !== undefined && joinerGranted) return undefined;
    } else {
      // Bulk mail refused again (lined up, after every granted cell) takes places behind the queue. With the queue
      // behind the arrival time, they start where the line stands: the queue is set from the arrival time. With
      // it ahead, they follow it, wherever the arrival time stands up to where the queue is still at or past the
      // line when the first of them joins it (line and queue then grow alike): the queue moves by their length.
      if (queuedAfter === undefined) return undefined;
      const queueAhead = queued !== undefined && queued > nowMs && queued > arrival;
      const requeuedSpan = Math.ceil(firstRequeued - arrival);
      if (queueAhead && joinerGranted) return undefined;
      if (queueAhead) to = Math.min(to, queued - requeuedSpan);
      queue = queueAhead
        ? { delta: Math.ceil(queuedAfter - queued), from: Math.floor(to) + requeuedSpan }
        : { offset: Math.ceil(queuedAfter - arrival) };
      queueVsArrival = queueAhead ? 'any' : 'behind';
    }
    to = Math.floor(to);
    if (arrival < from || arrival > to) return undefined;
    return {
      kind: 'shift',
      ruleId: rule.id,
      arrival: { delta, from, to },
      ...(queue ? { queue } : {}),
      queueVsArrival,
    };
  }
  const queuedAfter = planned.state[queueId];
  if (queued === undefined || queuedAfter === undefined) return undefined;
  if (Object.keys(planned.state).some((id) => id !== rule.id && id !== queueId)) return undefined;
  // Refused behind the queue while the first one's send time (queue + its offset) is past the bulk horizon,
  // and the queue stays ahead of the line. The arrival time may stand up to where the queue seen is still
  // ahead of the line (the queue only grows while backlogged).
  const behindFrom =
    nowMs +
    horizonFor('bulk', rules, horizons) -
    Math.ceil((firstBehind[rule.counts] - 1) * rule.intervalMs) +
    1;
  if (!lined) {
    if (queued < behindFrom || queued < arrival) return undefined;
    return {
      kind: 'shift',
      ruleId: rule.id,
      queue: { delta: Math.ceil(queuedAfter - queued), from: behindFrom },
      queueVsArrival: 'ahead',
    };
  }
  const span = Math.ceil(lineEnd - arrival);
  to = Math.floor(Math.min(to, queued - span));
  const queueFrom = Math.max(behindFrom, to + span);
  if (arrival < from || arrival > to || queued < queueFrom) return undefined;
  return {
    kind: 'shift',
    ruleId: rule.id,
    arrival: { delta, from, to },
    queue: { delta: Math.ceil(queuedAfter - queued), from: queueFrom },
    queueVsArrival: 'any',
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
