import type { Clock } from '../sending/ports';
import { laneMessageFromBody } from '../sending/send-request';
import type { MessageLedger, StuckRecord } from './message-ledger';
import { MessageStatus } from './message-status';
import type { SendLanes } from './send-lanes';

/** How full a send lane is: messages waiting, in flight or delayed. */
export interface LaneDepth {
  /** True when the lane holds no message at all (visible, in flight or delayed). */
  isEmpty(category: 'transactional' | 'bulk'): Promise<boolean>;
}

export interface SweepSettings {
  /** Most records handled per run. @default 500 */
  readonly batchSize: number;
  /** How long a record found while its lane still holds messages waits before it is looked at again. @default 900 s */
  readonly postponeSeconds: number;
}

export interface SweepDeps {
  readonly ledger: Pick<
    MessageLedger,
    'stuck' | 'markRequeued' | 'postpone' | 'completeAccepted' | 'markUnrecoverable' | 'request'
  >;
  readonly lanes: SendLanes;
  readonly depth: LaneDepth;
  readonly clock: Clock;
  readonly settings: SweepSettings;
}

export interface SweepResult {
  /** Records past their deadline. */
  readonly found: number;
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
}

/**
 * Finds records stuck in QUEUED, SENDING or DEFERRED past their deadline (the sparse `byPending` index) and
 * finishes each one, so no accepted email waits forever after a crash or a lost queue message:
 * - a SENDING record with a provider id (the provider accepted, SENT was not recorded) becomes SENT;
 * - a record whose own deadline has not passed (a live lease, a later eligibility) is postponed to it;
 * - while the record's lane still holds any message, its own copy may be among them: the record is postponed;
 * - with the lane empty, its queue message is certainly gone: the kept request is put back on the lane with the
 *   same key (a copy that still turned up is one email: the claim dedupes), or, with nothing kept, the record is
 *   DEAD_LETTERED with the reason.
 * Every write is conditional on the status and deadline read, so a record the sender moved meanwhile is left alone.
 */
export async function sweepStuck(deps: SweepDeps): Promise<SweepResult> {
  const { ledger, clock, settings } = deps;
  const now = clock.now();
  const stuck = await ledger.stuck(now, settings.batchSize);
  const counts = { found: stuck.length, requeued: 0, completed: 0, postponed: 0, unrecoverable: 0, raced: 0 };
  const emptyLane = new Map<string, boolean>();
  const isEmpty = async (category: StuckRecord['category']) => {
    if (!emptyLane.has(category)) emptyLane.set(category, await deps.depth.isEmpty(category));
    return emptyLane.get(category) === true;
  };
  for (const record of stuck) {
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
    if (!done) counts.raced += 1;
  }
  return counts;
}
