import type { Clock } from '../sending/ports';
import { laneMessageFromBody } from '../sending/send-request';
import type { MessageLedger, StuckRecord, SweepPosition } from './message-ledger';
import { MessageStatus } from './message-status';
import type { SendLanes } from './send-lanes';

/** How full a send lane is: messages waiting, in flight or delayed. */
export interface LaneDepth {
  /** True when the lane holds no message at all (visible, in flight or delayed). */
  isEmpty(category: 'transactional' | 'bulk'): Promise<boolean>;
}

/** `byPending` entries one sweep reads at most, unless its settings say otherwise. */
export const DEFAULT_SWEEP_ENTRIES = 5000;

export interface SweepSettings {
  /** Most records handled per run. @default 500 */
  readonly batchSize: number;
  /** How long a record found while its lane still holds messages waits before it is looked at again. @default 900 s */
  readonly postponeSeconds: number;
  /**
   * Most `byPending` entries read per run (each is read once: most belong to emails long sent). A burst larger
   * than this is walked over several runs. @default DEFAULT_SWEEP_ENTRIES (5000)
   */
  readonly entriesPerRun?: number;
}

export interface SweepDeps {
  readonly ledger: Pick<
    MessageLedger,
    | 'stuck'
    | 'advanceSweep'
    | 'markRequeued'
    | 'postpone'
    | 'completeAccepted'
    | 'markUnrecoverable'
    | 'request'
  >;
  readonly lanes: SendLanes;
  readonly depth: LaneDepth;
  readonly clock: Clock;
  readonly settings: SweepSettings;
}

export interface SweepResult {
  /** Records past their deadline and still pending (entries of records that moved on are not counted). */
  readonly found: number;
  /** Index entries read whose record had already left the pending statuses (or moved on): passed, no write. */
  readonly passed: number;
  /** Put back on their lane with the same key (their queue message was lost). */
  readonly requeued: number;
  /** The provider had accepted them; recorded SENT now. */
  readonly completed: number;
  /** Not stuck yet (a live lease, a later eligibility), or their lane still holds messages: looked at later. */
  readonly postponed: number;
  /** Nothing kept to send again: DEAD_LETTERED with the reason. */
  readonly unrecoverable: number;
  /** Moved by someone else between the read and the write. */
  readonly raced: number;
  /** Walks of the index this run made (one unless a backlog needed more and time allowed). */
  readonly rounds: number;
  /** Whether the walk reached the lag behind `now` on every shard; false means the next run goes on. */
  readonly caughtUp: boolean;
}

/** Time a run keeps in hand: it starts no other round of the walk with less than this left. */
export const SWEEP_ROUND_MARGIN_MS = 30_000;

/**
 * Finds records stuck in QUEUED, SENDING or DEFERRED past their deadline (the sparse `byPending` index, walked
 * from the sweeper's cursor) and finishes each one, so no accepted email waits forever after a crash or a lost
 * queue message:
 * - a SENDING record with a provider id (the provider accepted, SENT was not recorded) becomes SENT;
 * - a record whose own deadline has not passed (a live lease, a later eligibility) is postponed to it;
 * - while the record's lane still holds any message, its own copy may be among them: the record is postponed;
 * - with the lane empty, its queue message is certainly gone: the kept request is put back on the lane with the
 *   same key (a copy that still turned up is one email: the claim dedupes), or, with nothing kept, the record is
 *   DEAD_LETTERED with the reason.
 * Every write is conditional on the status and deadline read, so a record the sender moved meanwhile is left alone.
 * Then the cursor moves past the entries finished (`cursorAfter`): never past a record whose write lost its race.
 */
export async function sweepStuck(deps: SweepDeps, remainingTimeMs?: () => number): Promise<SweepResult> {
  const total = { found: 0, passed: 0, requeued: 0, completed: 0, postponed: 0, unrecoverable: 0, raced: 0 };
  let rounds = 0;
  for (;;) {
    const round = await sweepRound(deps);
    rounds += 1;
    for (const key of Object.keys(total) as (keyof typeof total)[]) total[key] += round.counts[key];
    // Emails come in faster than one round reads at busy times: walk on while the function has time, so the
    // cursor keeps up with the clock instead of falling further behind with every run.
    if (round.caughtUp || !round.advanced || !remainingTimeMs) {
      return { ...total, rounds, caughtUp: round.caughtUp };
    }
    if (remainingTimeMs() < SWEEP_ROUND_MARGIN_MS) return { ...total, rounds, caughtUp: false };
  }
}

type RoundCounts = Omit<SweepResult, 'rounds' | 'caughtUp'>;

/** One walk from the cursor: finishes the stuck records found and moves the cursor past what it finished. */
async function sweepRound(
  deps: SweepDeps,
): Promise<{ counts: RoundCounts; caughtUp: boolean; advanced: boolean }> {
  const { ledger, clock, settings } = deps;
  const now = clock.now();
  const scan = await ledger.stuck(now, settings.batchSize, settings.entriesPerRun ?? DEFAULT_SWEEP_ENTRIES);
  const counts = {
    found: scan.records.length,
    passed: scan.passed,
    requeued: 0,
    completed: 0,
    postponed: 0,
    unrecoverable: 0,
    raced: 0,
  };
  const emptyLane = new Map<string, boolean>();
  const isEmpty = async (category: StuckRecord['category']) => {
    if (!emptyLane.has(category)) emptyLane.set(category, await deps.depth.isEmpty(category));
    return emptyLane.get(category) === true;
  };
  const unfinished = new Set<string>();
  for (const record of scan.records) {
    let done: boolean;
    if (record.status === MessageStatus.SENDING && record.providerMessageId) {
      done = await ledger.completeAccepted(record);
      if (done) counts.completed += 1;
    } else if (record.notBefore && record.notBefore > now) {
      // A live lease or a later eligibility: not stuck, only found early.
      done = await ledger.postpone(record, record.notBefore);
      if (done) counts.postponed += 1;
    } else if (!(await isEmpty(record.category))) {
      done = await ledger.postpone(record, new Date(now.getTime() + settings.postponeSeconds * 1000));
      if (done) counts.postponed += 1;
    } else {
      const body = await ledger.request(record.messageId);
      if (!body) {
        done = await ledger.markUnrecoverable(
          record,
          `stuck in ${record.status} with no kept request: its queue message was lost or is in a dead-letter queue (redrive it)`,
        );
        if (done) counts.unrecoverable += 1;
      } else {
        const { sent } = await deps.lanes.publish([
          { ...laneMessageFromBody(body), messageId: record.messageId },
        ]);
        done =
          sent.length === 1 &&
          (await ledger.markRequeued(record, `stuck in ${record.status}, lane empty: re-enqueued`));
        if (done) counts.requeued += 1;
      }
    }
    if (!done) {
      counts.raced += 1;
      unfinished.add(record.messageId);
    }
  }
  const cursor = cursorAfter(scan.walked, unfinished);
  // Another run at the same time (schedule overlap) moved the cursor first: its position stands; this run's
  // finished entries are read again by the next run and passed then.
  const advanced = cursor.size > 0 && (await ledger.advanceSweep(scan, cursor));
  return { counts, caughtUp: scan.caughtUp && unfinished.size === 0, advanced };
}

/**
 * Where each shard's cursor may move: to the last entry walked before the first one whose record this run
 * could not finish (its write lost a race: the record may still be pending at that place). A shard whose first
 * entry is unfinished, or that had no entry, keeps its cursor (absent from the result).
 */
export function cursorAfter(
  walked: ReadonlyMap<string, readonly SweepPosition[]>,
  unfinished: ReadonlySet<string>,
): Map<string, SweepPosition> {
  const to = new Map<string, SweepPosition>();
  for (const [shard, entries] of walked) {
    let last: SweepPosition | undefined;
    for (const entry of entries) {
      if (unfinished.has(entry.messageId)) break;
      last = entry;
    }
    if (last) to.set(shard, last);
  }
  return to;
}
