import {
  DEAD_LETTER_QUEUES,
  type DeadLetter,
  type DeadLetterQueue,
  SqsDeadLetters,
} from '../lambdas/adapters/sqs-dead-letters';
import type { AdminContext } from './admin-context';
import { AdminInputError } from './admin-errors';

export { DEAD_LETTER_QUEUES, type DeadLetterQueue };

function queueOf(queue: string): DeadLetterQueue {
  if (!(DEAD_LETTER_QUEUES as readonly string[]).includes(queue))
    throw new AdminInputError(`the queue must be one of ${DEAD_LETTER_QUEUES.join(', ')}`, 'INVALID_QUEUE');
  return queue as DeadLetterQueue;
}

/** Dead-letter queues: each dead letter with its recorded reason, and redrive after the cause is fixed. */
export class DeadLettersApi {
  constructor(private readonly ctx: AdminContext) {}

  list(
    queue: string,
    options: { readonly tenantId?: string; readonly limit?: number } = {},
  ): Promise<DeadLetter[]> {
    return this.deadLetters().list(queueOf(queue), {
      ...(options.tenantId ? { tenantId: options.tenantId } : {}),
      limit: options.limit ?? 50,
    });
  }

  /** Moves dead letters back (send lanes through `SendLanes`; a DEAD_LETTERED email is claimed and sent once). */
  redrive(
    queue: string,
    options: { readonly tenantId?: string } = {},
    progress?: (moved: number, skipped: number) => void,
  ): ReturnType<SqsDeadLetters['redrive']> {
    return this.deadLetters().redrive(
      queueOf(queue),
      options.tenantId ? { tenantId: options.tenantId } : {},
      progress ?? (() => {}),
    );
  }

  private deadLetters(): SqsDeadLetters {
    return new SqsDeadLetters(this.ctx.clients.sqs, {
      queueUrl: (name) => this.ctx.queueUrl(name),
      ledger: this.ctx.ledger(),
      lanes: () => this.ctx.lanes(),
    });
  }
}
