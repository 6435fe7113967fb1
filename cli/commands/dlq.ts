import {
  DEAD_LETTER_QUEUES,
  type DeadLetterQueue,
  SqsDeadLetters,
} from '../../lambdas/adapters/sqs-dead-letters';
import { type CliCommand, type CommandArgs, EXIT, requireOption, UsageError } from '../cli-command';
import { type CliContext, formatTable } from '../cli-context';

const deadLetters = (ctx: CliContext) =>
  new SqsDeadLetters(ctx.sqs, {
    queueUrl: (name) => ctx.queueUrl(name),
    ledger: ctx.ledger(),
    lanes: () => ctx.lanes(),
  });

function queueOf(args: CommandArgs): DeadLetterQueue {
  const queue = requireOption(args, 'queue');
  if (!(DEAD_LETTER_QUEUES as readonly string[]).includes(queue)) {
    throw new UsageError(`--queue must be one of ${DEAD_LETTER_QUEUES.join(', ')}`);
  }
  return queue as DeadLetterQueue;
}

const tenantOf = (args: CommandArgs) =>
  typeof args.values.tenant === 'string' && args.values.tenant ? { tenantId: args.values.tenant } : {};

export const commands: CliCommand[] = [
  {
    group: 'dlq',
    name: 'list',
    summary: 'show dead-lettered messages of a queue with the reason recorded for each',
    usage: `--queue ${DEAD_LETTER_QUEUES.join('|')} [--tenant T] [--limit N]`,
    options: { queue: { type: 'string' }, tenant: { type: 'string' }, limit: { type: 'string' } },
    async run(ctx, args) {
      const limit = args.values.limit === undefined ? 50 : Number(args.values.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a whole number ≥ 1');
      const letters = await deadLetters(ctx).list(queueOf(args), { ...tenantOf(args), limit });
      ctx.out.result(letters, () =>
        formatTable(letters, [
          'sqsMessageId',
          'tenantId',
          'messageId',
          'reasonCode',
          'reason',
          'receiveCount',
        ]),
      );
      return EXIT.OK;
    },
  },
  {
    group: 'dlq',
    name: 'redrive',
    summary:
      'move dead-lettered messages back to their queue (a DEAD_LETTERED email is claimed and sent again)',
    usage: `--queue ${DEAD_LETTER_QUEUES.join('|')} [--tenant T]`,
    options: { queue: { type: 'string' }, tenant: { type: 'string' } },
    async run(ctx, args) {
      const queue = queueOf(args);
      const result = await deadLetters(ctx).redrive(queue, tenantOf(args), (moved, skipped) =>
        ctx.out.info(`… ${moved} moved${skipped ? `, ${skipped} of other tenants left` : ''}`),
      );
      ctx.out.result(
        { queue, ...result },
        () =>
          `moved ${result.moved} message(s) from ${queue}-dlq back to ${queue} (${result.via})` +
          (result.skipped ? `; ${result.skipped} of other tenants left in the dead-letter queue` : ''),
      );
      return EXIT.OK;
    },
  },
];
