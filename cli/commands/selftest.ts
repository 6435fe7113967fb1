import type { Command } from 'commander';
import { EXIT } from '../exit-codes';
import { opt, wholeNumber } from '../options';
import type { Runner } from '../runner';
import { selftestReport } from '../views/operations';

export function register(program: Command, runner: Runner): void {
  program
    .command('selftest')
    .description(
      "send to each SES mailbox-simulator address through the tenant's method and report what came back",
    )
    .addOption(opt.tenant())
    .addOption(opt.env())
    .option('--timeout <seconds>', 'how long to wait for feedback', (v) => wholeNumber(v), 180)
    .action(
      runner.action<{ tenant: string; env: string; timeout: number }>(async ({ admin, info }, o) => {
        const result = await admin.selftest(o.tenant, o.env, {
          timeoutMs: o.timeout * 1000,
          onProgress: ({ sent, run, row }) => {
            if (sent)
              info(
                `sent ${sent} self-test messages for ${o.tenant} (${o.env}, run ${run}); waiting up to ${o.timeout} s for feedback`,
              );
            if (row) info(`  ${row.mailbox}: ${row.status}`);
          },
        });
        return {
          data: result,
          text: () => selftestReport(result),
          ...(result.passed ? {} : { exit: EXIT.CHECK_FAILED }),
        };
      }),
    );
}
