import type { Command } from 'commander';
import { opt } from '../options';
import type { Runner } from '../runner';
import { suppressionPage } from '../views/messages';

export function register(program: Command, runner: Runner): void {
  const group = program.command('suppression').description("a tenant's suppression list");
  group
    .command('list')
    .description("list a tenant's suppressed addresses (reason, source message, expiry)")
    .addOption(opt.tenant())
    .addOption(opt.limit(100, 1000))
    .option('--cursor <c>', 'the next page (printed under the previous one)')
    .action(
      runner.action<{ tenant: string; limit: number; cursor?: string }>(async ({ admin }, o) => {
        const page = await admin.suppressions.list(o.tenant, {
          limit: o.limit,
          ...(o.cursor ? { cursor: o.cursor } : {}),
        });
        return { data: page, text: () => suppressionPage(page) };
      }),
    );
  group
    .command('add')
    .description("add an address to a tenant's suppression list (reason MANUAL, never expires)")
    .addOption(opt.tenant())
    .requiredOption('--address <email>', 'the address')
    .option('--note <text>', 'why')
    .action(
      runner.action<{ tenant: string; address: string; note?: string }>(async ({ admin }, o) => {
        const { address, stored } = await admin.suppressions.add(o.tenant, o.address, o.note);
        return {
          data: { tenantId: o.tenant, address, stored },
          text: () =>
            stored
              ? `suppressed ${address} for ${o.tenant}`
              : `${address} was already suppressed for ${o.tenant}`,
        };
      }),
    );
  group
    .command('remove')
    .description("remove an address from a tenant's suppression list")
    .addOption(opt.tenant())
    .requiredOption('--address <email>', 'the address')
    .action(
      runner.action<{ tenant: string; address: string }>(async ({ admin }, o) => {
        const { address } = await admin.suppressions.remove(o.tenant, o.address);
        return {
          data: { tenantId: o.tenant, address, removed: true },
          text: () => `${address} may be mailed again by ${o.tenant}`,
        };
      }),
    );
}
