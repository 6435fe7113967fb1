import { type Command, Option } from 'commander';
import { opt } from '../options';
import type { Runner } from '../runner';
import { deadLetterTable, redriven } from '../views/operations';

// The admin client checks the name (the adapter's list); importing it here would load the AWS SDK at start.
const queue = () =>
  new Option(
    '--queue <queue>',
    'the queue whose dead letters: events, send, send-bulk or feedback',
  ).makeOptionMandatory();

export function register(program: Command, runner: Runner): void {
  const group = program.command('dlq').description('dead-letter queues: list with reasons, redrive');
  group
    .command('list')
    .description('show dead-lettered messages of a queue with the reason recorded for each')
    .addOption(queue())
    .option('--tenant <id>', 'only this tenant’s')
    .addOption(opt.limit(50))
    .action(
      runner.action<{ queue: string; tenant?: string; limit: number }>(async ({ admin }, o) => {
        const letters = await admin.deadLetters.list(o.queue, {
          ...(o.tenant ? { tenantId: o.tenant } : {}),
          limit: o.limit,
        });
        return { data: letters, text: () => deadLetterTable(letters) };
      }),
    );
  group
    .command('redrive')
    .description(
      'move dead-lettered messages back to their queue (a DEAD_LETTERED email is claimed and sent again)',
    )
    .addOption(queue())
    .option('--tenant <id>', 'only this tenant’s')
    .action(
      runner.action<{ queue: string; tenant?: string }>(async ({ admin, info }, o) => {
        const result = await admin.deadLetters.redrive(
          o.queue,
          o.tenant ? { tenantId: o.tenant } : {},
          (moved, skipped) => info(`… ${moved} moved${skipped ? `, ${skipped} of other tenants left` : ''}`),
        );
        return { data: { queue: o.queue, ...result }, text: () => redriven(o.queue, result) };
      }),
    );
}
