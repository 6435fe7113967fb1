import {
  ALL_STATUSES,
  assertTransition,
  FINAL_STATUSES,
  fromStatuses,
  IllegalTransitionError,
  isAccepted,
  isAllowed,
  isFinal,
  PENDING_STATUSES,
  MessageStatus as S,
} from '../../../lambdas/domain/message';

describe('message transitions (the table the ledger derives its conditions from)', () => {
  it('lets the sender claim only what is waiting, held, dead-lettered or an expired SENDING', () => {
    expect([...fromStatuses(S.SENDING, 'sender')].sort()).toEqual(
      [S.DEAD_LETTERED, S.DEFERRED, S.PAUSED, S.QUEUED, S.SENDING].sort(),
    );
    for (const final of [S.SENT, S.DELIVERED, S.BOUNCED, S.COMPLAINED, S.SUPPRESSED, S.REJECTED]) {
      expect(isAllowed(final, S.SENDING, 'sender')).toBe(false);
    }
    expect(isAllowed(null, S.SENDING, 'sender')).toBe(true);
  });

  it('lets only the sender record SENT from SENDING, and feedback complete a send it has not recorded', () => {
    expect(isAllowed(S.SENDING, S.SENT, 'sender')).toBe(true);
    expect(isAllowed(S.QUEUED, S.SENT, 'sender')).toBe(false);
    expect(isAllowed(S.SENDING, S.DELIVERED, 'feedback')).toBe(true);
    expect(isAllowed(S.DEAD_LETTERED, S.BOUNCED, 'feedback')).toBe(true);
    expect(isAllowed(S.DELIVERED, S.BOUNCED, 'feedback')).toBe(true);
    expect(isAllowed(S.DELIVERED, S.QUEUED, 'feedback')).toBe(false);
    expect(isAllowed(S.DELIVERED, S.SENDING, 'feedback')).toBe(false);
  });

  it('never lets release or the sweeper touch a final record', () => {
    for (const final of FINAL_STATUSES) {
      for (const to of ALL_STATUSES) {
        expect(isAllowed(final, to, 'release')).toBe(false);
        expect(isAllowed(final, to, 'sweeper')).toBe(false);
      }
    }
    expect(isAllowed(S.PAUSED, S.QUEUED, 'release')).toBe(true);
    expect(isAllowed(S.SENDING, S.SENT, 'sweeper')).toBe(true);
    expect(isAllowed(S.DEFERRED, S.QUEUED, 'sweeper')).toBe(true);
    expect(isAllowed(S.PAUSED, S.QUEUED, 'sweeper')).toBe(false);
  });

  it('lets the dispatcher only create records', () => {
    expect(isAllowed(null, S.QUEUED, 'dispatcher')).toBe(true);
    expect(isAllowed(null, S.REJECTED, 'dispatcher')).toBe(true);
    expect(isAllowed(S.QUEUED, S.QUEUED, 'dispatcher')).toBe(false);
    expect(fromStatuses(S.QUEUED, 'dispatcher')).toEqual([]);
  });

  it('names the illegal move', () => {
    expect(() => assertTransition('m1', S.SENT, S.QUEUED, 'sender')).toThrow(IllegalTransitionError);
    expect(() => assertTransition('m1', S.SENT, S.QUEUED, 'sender')).toThrow(
      'message m1: the sender may not move a record from SENT to QUEUED',
    );
    expect(() => assertTransition('m1', null, S.DELIVERED, 'feedback')).toThrow('from (none) to DELIVERED');
  });

  it('classifies statuses: final, accepted, pending', () => {
    expect(ALL_STATUSES.filter(isFinal).sort()).toEqual([...FINAL_STATUSES].sort());
    expect(ALL_STATUSES.filter(isAccepted).sort()).toEqual(
      [S.BOUNCED, S.COMPLAINED, S.DELIVERED, S.SENT].sort(),
    );
    expect([...PENDING_STATUSES].sort()).toEqual([S.DEFERRED, S.QUEUED, S.SENDING].sort());
    expect(ALL_STATUSES.filter((s) => !isFinal(s) && !PENDING_STATUSES.includes(s))).toEqual([S.PAUSED]);
  });
});

describe('the whole table, pair by pair (what README "Message lifecycle" lists)', () => {
  const pairs = (by: Parameters<typeof isAllowed>[2]) =>
    [null, ...ALL_STATUSES]
      .flatMap((from) =>
        ALL_STATUSES.filter((to) => isAllowed(from, to, by)).map((to) => `${from ?? '-'}>${to}`),
      )
      .sort();
  const accepted = [S.SENT, S.DELIVERED, S.BOUNCED, S.COMPLAINED];
  const outcomes = [...accepted, S.REJECTED, S.SUPPRESSED];
  const cross = (from: readonly (S | null)[], to: readonly S[]) =>
    from.flatMap((f) => to.map((t) => `${f ?? '-'}>${t}`));

  it.each([
    ['dispatcher', cross([null], [S.QUEUED, S.REJECTED])],
    [
      'sender',
      [
        ...cross([null], [S.SENDING, S.REJECTED]),
        ...cross([S.REJECTED], [S.REJECTED]),
        ...cross([S.QUEUED, S.DEFERRED, S.PAUSED, S.DEAD_LETTERED, S.SENDING], [S.SENDING]),
        ...cross(
          [S.SENDING],
          [S.REJECTED, S.SUPPRESSED, S.PAUSED, S.DEFERRED, S.QUEUED, S.DEAD_LETTERED, S.SENT],
        ),
        ...cross(outcomes, outcomes),
      ],
    ],
    [
      'feedback',
      cross(
        [S.QUEUED, S.SENDING, S.DEFERRED, S.PAUSED, S.DEAD_LETTERED, ...accepted, S.REJECTED, S.SUPPRESSED],
        outcomes,
      ),
    ],
    ['release', cross([S.PAUSED], [S.QUEUED])],
    [
      'sweeper',
      [
        ...cross([S.QUEUED, S.SENDING, S.DEFERRED], [S.QUEUED, S.DEAD_LETTERED]),
        ...cross([S.SENDING], [S.SENT]),
      ],
    ],
  ] as const)('%s', (by, expected) => {
    expect(pairs(by)).toEqual([...new Set(expected)].sort());
  });
});
