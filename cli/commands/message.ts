import { type CliCommand, EXIT, requireOption, UsageError } from '../cli-command';
import { formatTable } from '../cli-context';

export const commands: CliCommand[] = [
  {
    group: 'message',
    name: 'stuck',
    summary:
      'list emails left QUEUED, SENDING or DEFERRED past their deadline (what the sweeper will finish)',
    usage: '[--limit N]',
    options: { limit: { type: 'string' } },
    async run(ctx, args) {
      const limit = args.values.limit === undefined ? 100 : Number(args.values.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a whole number ≥ 1');
      const stuck = await ctx.ledger().stuck(new Date(), limit);
      ctx.out.result(stuck, () =>
        formatTable(stuck, ['messageId', 'tenantId', 'status', 'category', 'sweepAt', 'providerMessageId']),
      );
      return stuck.length === 0 ? EXIT.OK : EXIT.CHECK_FAILED;
    },
  },
  {
    group: 'message',
    name: 'show',
    summary: 'show one email record: status, reason, timeline',
    usage: '--id MESSAGE_ID',
    options: { id: { type: 'string' } },
    async run(ctx, args) {
      const record = await ctx.ledger().get(requireOption(args, 'id'));
      if (!record) {
        ctx.out.error(`no message ${String(args.values.id)}`);
        return EXIT.NOT_FOUND;
      }
      ctx.out.result(record, () =>
        [
          `${record.messageId}  ${record.status}  tenant ${record.tenantId}${record.reason ? `  (${record.reasonCode}: ${record.reason})` : ''}`,
          ...record.timeline.map((line) =>
            `  ${line.at}  ${line.status ?? line.event ?? ''}  ${line.recipient ?? ''} ${line.detail ?? ''}`.trimEnd(),
          ),
        ].join('\n'),
      );
      return EXIT.OK;
    },
  },
];
