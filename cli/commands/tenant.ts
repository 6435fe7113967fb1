import type { Command } from 'commander';
import { readJson } from '../files';
import { opt } from '../options';
import type { Runner } from '../runner';
import { tenantResumed, tenantRows, tenantSaved } from '../views/tenant';

export function register(program: Command, runner: Runner): void {
  const group = program
    .command('tenant')
    .description('tenants: profile and per-environment settings, pause/resume');
  group
    .command('put')
    .description('create or replace a tenant from a JSON file (profile and per-environment settings)')
    .addOption(opt.file('the tenant'))
    .action(
      runner.action<{ file: string }>(async ({ admin }, o) => {
        const result = await admin.tenants.put(readJson(o.file));
        return { data: result.tenant, text: () => tenantSaved(result) };
      }),
    );
  group
    .command('get')
    .description('show one tenant')
    .addOption(opt.tenant())
    .action(
      runner.action<{ tenant: string }>(async ({ admin }, o) => {
        const tenant = await admin.tenants.get(o.tenant);
        return { data: tenant, text: () => JSON.stringify(tenant, null, 2) };
      }),
    );
  group
    .command('list')
    .description('list the tenants of the scope')
    .action(
      runner.action(async ({ admin }) => {
        const tenants = await admin.tenants.list();
        return { data: tenants, text: () => tenantRows(tenants) };
      }),
    );
  group
    .command('pause')
    .description("hold a tenant's mail as PAUSED in every environment until `tenant resume`")
    .addOption(opt.tenant())
    .requiredOption('--reason <text>', 'why (recorded with the pause)')
    .action(
      runner.action<{ tenant: string; reason: string }>(async ({ admin }, o) => {
        const result = await admin.tenants.pause(o.tenant, o.reason);
        return {
          data: result,
          text: () =>
            result.paused.length > 0
              ? `paused ${o.tenant} in ${result.paused.join(', ')} (takes effect within 30 s)`
              : `${o.tenant} was already paused everywhere; the first reason stands`,
        };
      }),
    );
  group
    .command('resume')
    .description('resume a paused tenant and send the mail it held (its reputation window is shown)')
    .addOption(opt.tenant())
    .action(
      runner.action<{ tenant: string }>(async ({ admin }, o) => {
        const result = await admin.tenants.resume(o.tenant);
        return { data: result, text: () => tenantResumed(o.tenant, result) };
      }),
    );
}
