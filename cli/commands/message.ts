import { type Command, Option } from 'commander';
import { MAX_HISTORY_PAGE } from '../../client/history-rules';
import { ALL_STATUSES } from '../../lambdas/domain/message/message-status';
import { EXIT } from '../exit-codes';
import { opt } from '../options';
import type { Runner } from '../runner';
import { historyPage, messageDetail, resent, stuckTable } from '../views/messages';

interface ListOptions {
  tenant: string;
  env?: string;
  status?: string;
  failed?: boolean;
  recipient?: string;
  eventType?: string;
  objectId?: string;
  since?: string;
  until?: string;
  all?: boolean;
  limit: number;
  pageToken?: string;
}

export function register(program: Command, runner: Runner): void {
  const group = program.command('message').description('email history: find an email, see why, resend it');
  group
    .command('list')
    .description('a tenant’s emails, newest first, ≤ 3 days per query (unless --all), ≤ 40 a page')
    .addOption(opt.tenant())
    .addOption(opt.env(false))
    .addOption(new Option('--status <status>', 'one status').choices(ALL_STATUSES).conflicts('failed'))
    .option('--failed', 'failed only: REJECTED, BOUNCED, COMPLAINED, SUPPRESSED, DEAD_LETTERED')
    .option('--recipient <email>', 'sent to this address')
    .option('--event-type <type>', 'caused by this event type (e.g. InvoicePosted)')
    .option('--object-id <id>', 'about this object: an invoice id (fan-out item key) or the event id')
    .option('--since <time>', 'ISO date or time (default: --until minus 3 days)')
    .option('--until <time>', 'ISO date or time, a date meaning its end (default: now)')
    .option('--all', 'the whole retention period, not 3 days')
    .addOption(opt.limit(MAX_HISTORY_PAGE, MAX_HISTORY_PAGE))
    .option('--page-token <token>', 'the next page (printed under the previous one)')
    .action(
      runner.action<ListOptions>(async ({ admin }, o) => {
        const page = await admin.messages.list({ ...o, tenantId: o.tenant });
        return { data: page, text: () => historyPage(page) };
      }),
    );
  group
    .command('show')
    .description(
      'one email in full: every field, status timeline, provider id, DKIM, reason, the event behind it',
    )
    .argument('[id]', 'the message id')
    .option('--id <id>', 'the message id (same as the argument)')
    .action(
      runner.action<{ id?: string }>(async ({ admin }, o, [id]) => {
        const detail = await admin.messages.show(String(id ?? o.id ?? ''));
        return { data: detail, text: () => messageDetail(detail) };
      }),
    );
  group
    .command('resend')
    .description('send a fresh copy of a final email under a new key that references the original')
    .argument('<id>', 'the message id')
    .option('--force', 'also when a recipient is suppressed: lifts those suppressions (needs --reason)')
    .option('--reason <text>', 'why (required with --force)')
    .action(
      runner.action<{ force?: boolean; reason?: string }>(async ({ admin }, o, [id]) => {
        const result = await admin.messages.resend(String(id), {
          ...(o.force ? { force: true } : {}),
          ...(o.reason ? { reason: o.reason } : {}),
        });
        return { data: result, text: () => resent(result) };
      }),
    );
  group
    .command('stuck')
    .description('emails left QUEUED, SENDING or DEFERRED past their deadline (exit 1 when any)')
    .addOption(opt.limit(100))
    .action(
      runner.action<{ limit: number }>(async ({ admin }, o) => {
        const stuck = await admin.messages.stuck(o.limit);
        return {
          data: stuck,
          text: () => stuckTable(stuck),
          ...(stuck.length > 0 ? { exit: EXIT.CHECK_FAILED } : {}),
        };
      }),
    );
}
