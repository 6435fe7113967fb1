import { PermanentError, TransientError } from '../../../lambdas/domain/errors';
import {
  IllegalTransitionError,
  LeaseLostError,
  LedgerUnavailableError,
} from '../../../lambdas/domain/message';

/**
 * The ledger's errors as an operator meets them: in the record's reason, the logs and the DLQ entry. Their code
 * decides retry or not (permanent / transient), their message names the message and what happened.
 */
describe('message ledger errors', () => {
  it('an illegal transition is permanent and names the writer, both statuses and the message', () => {
    const error = new IllegalTransitionError('m-1', 'SENT', 'QUEUED', 'sweeper');
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ name: 'IllegalTransitionError', code: 'ILLEGAL_TRANSITION' });
    expect(error.message).toBe('message m-1: the sweeper may not move a record from SENT to QUEUED');
    expect(new IllegalTransitionError('m-2', null, 'SENT', 'feedback').message).toBe(
      'message m-2: the feedback may not move a record from (none) to SENT',
    );
  });

  it('a lost lease is transient and says what the record is now, or that it is gone', () => {
    const error = new LeaseLostError('m-1', 'DEFERRED');
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ name: 'LeaseLostError', code: 'LEASE_LOST' });
    expect(error.message).toBe("message m-1: the claim's lease was lost (record is DEFERRED)");
    expect(new LeaseLostError('m-1', undefined).message).toBe(
      "message m-1: the claim's lease was lost (record is gone)",
    );
  });

  it('an unavailable table is transient, names the operation and keeps the SDK error as its cause', () => {
    const cause = new Error('ProvisionedThroughputExceededException');
    const error = new LedgerUnavailableError('claim', cause);
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ name: 'LedgerUnavailableError', code: 'MESSAGES_TABLE_UNAVAILABLE' });
    expect(error.message).toBe('messages table: claim failed');
    expect(error.cause).toBe(cause);
  });
});
