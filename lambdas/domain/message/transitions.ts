import { IllegalTransitionError } from './errors';
import { MessageStatus as S } from './message-status';

/** Who moves a message record. Each writer goes through the one ledger adapter. */
export type Actor = 'dispatcher' | 'sender' | 'feedback' | 'release' | 'sweeper';

/** `null` as `from`: the record does not exist yet. */
export type FromStatus = S | null;

export interface Transition {
  readonly from: readonly FromStatus[];
  readonly to: readonly S[];
  readonly by: Actor;
  readonly when: string;
}

const PRE_SEND: readonly S[] = [S.QUEUED, S.SENDING, S.DEFERRED, S.PAUSED, S.DEAD_LETTERED];
const FEEDBACK_OUTCOMES: readonly S[] = [
  S.SENT,
  S.DELIVERED,
  S.BOUNCED,
  S.COMPLAINED,
  S.REJECTED,
  S.SUPPRESSED,
];

/**
 * Every allowed move of a message record, as data. The ledger adapter derives each write's condition from
 * this table (`fromStatuses`), so a write the table does not allow fails with `IllegalTransitionError` instead
 * of overwriting. README "Message lifecycle" lists the same rows.
 */
// Stryker disable StringLiteral: the `when` texts explain each row to readers; the rows themselves are tested.
export const TRANSITIONS: readonly Transition[] = [
  {
    from: [null],
    to: [S.QUEUED, S.REJECTED],
    by: 'dispatcher',
    when: 'an event job or composed email is recorded (REJECTED with its reason)',
  },
  {
    from: [null],
    to: [S.SENDING],
    by: 'sender',
    when: 'first claim of a message put on a send lane directly',
  },
  {
    from: [null, S.REJECTED],
    to: [S.REJECTED],
    by: 'sender',
    when: 'a queue message that cannot be parsed is recorded under an id derived from its body',
  },
  {
    from: [S.QUEUED, S.DEFERRED, S.PAUSED, S.DEAD_LETTERED],
    to: [S.SENDING],
    by: 'sender',
    when: 'claim (one conditional write; a DLQ redrive claims DEAD_LETTERED again)',
  },
  {
    from: [S.SENDING],
    to: [S.SENDING],
    by: 'sender',
    when: 'reclaim after the lease expired (the earlier attempt crashed)',
  },
  {
    from: [S.SENDING],
    to: [S.REJECTED, S.SUPPRESSED, S.PAUSED, S.DEFERRED, S.QUEUED, S.DEAD_LETTERED],
    by: 'sender',
    when: 'before the provider call, under the sender’s own lease',
  },
  {
    from: [S.SENDING],
    to: [S.SENT],
    by: 'sender',
    when: 'the provider accepted, under the sender’s own lease',
  },
  {
    from: FEEDBACK_OUTCOMES,
    to: FEEDBACK_OUTCOMES,
    by: 'sender',
    when: 'feedback completed the record first: the sender adds its details, the status stays',
  },
  {
    from: PRE_SEND,
    to: FEEDBACK_OUTCOMES,
    by: 'feedback',
    when: 'an SES event proves the provider accepted an attempt the sender has not recorded yet',
  },
  {
    from: [S.SENT, S.DELIVERED, S.BOUNCED, S.COMPLAINED],
    to: FEEDBACK_OUTCOMES,
    by: 'feedback',
    when: 'delivery, bounce, complaint, reject or account suppression of a sent email',
  },
  {
    from: [S.REJECTED, S.SUPPRESSED],
    to: FEEDBACK_OUTCOMES,
    by: 'feedback',
    when: 'only when the provider accepted the email (the record is marked accepted)',
  },
  {
    from: [S.PAUSED],
    to: [S.QUEUED],
    by: 'release',
    when: 'the tenant is resumed and its held request is back on its lane',
  },
  {
    from: [S.QUEUED, S.SENDING, S.DEFERRED],
    to: [S.QUEUED],
    by: 'sweeper',
    when: 'stuck past its deadline with its lane empty: re-enqueued with the same key',
  },
  {
    from: [S.SENDING],
    to: [S.SENT],
    by: 'sweeper',
    when: 'the provider accepted (provider id recorded) but the send was not recorded',
  },
  {
    from: [S.QUEUED, S.SENDING, S.DEFERRED],
    to: [S.DEAD_LETTERED],
    by: 'sweeper',
    when: 'stuck and no request was kept to send again',
  },
];
// Stryker restore StringLiteral

/** True when `by` may move a record from `from` to `to`. `to` may equal an accepted status left unchanged. */
export function isAllowed(from: FromStatus, to: S, by: Actor): boolean {
  return TRANSITIONS.some((t) => t.by === by && t.from.includes(from) && t.to.includes(to));
}

/** @throws IllegalTransitionError when the table has no such row. */
export function assertTransition(messageId: string, from: FromStatus, to: S, by: Actor): void {
  if (!isAllowed(from, to, by)) throw new IllegalTransitionError(messageId, from, to, by);
}

/** The statuses from which `by` may move a record to `to`: the condition of the ledger's write. */
export function fromStatuses(to: S, by: Actor): readonly S[] {
  const out = new Set<S>();
  for (const t of TRANSITIONS) {
    if (t.by !== by || !t.to.includes(to)) continue;
    for (const from of t.from) if (from !== null) out.add(from);
  }
  return [...out];
}
