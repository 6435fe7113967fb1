import { readFileSync } from 'node:fs';
import { ZodError } from 'zod';
import { DynamoTenantStore } from '../../lambdas/adapters/tenant-store';
import { describeIssues } from '../../lambdas/domain/sending/send-request';
import { tenantProblemsInScope, tenantSchema } from '../../lambdas/domain/tenant';
import { type CliCommand, EXIT, requireOption, UsageError } from '../cli-command';
import { type CliContext, formatTable } from '../cli-context';

const store = (ctx: CliContext) =>
  new DynamoTenantStore(ctx.documents, { tableName: ctx.tableName('tenants'), cacheTtlSeconds: 0 });

export const commands: CliCommand[] = [
  {
    group: 'tenant',
    name: 'put',
    summary: 'create or replace a tenant from a JSON file (profile and per-environment settings)',
    usage: '--file tenant.json',
    options: { file: { type: 'string' } },
    async run(ctx, args) {
      const file = requireOption(args, 'file');
      let input: unknown;
      try {
        input = JSON.parse(readFileSync(file, 'utf8'));
      } catch (error) {
        throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
      }
      try {
        const parsed = tenantSchema.parse(input);
        const problems = tenantProblemsInScope(parsed, ctx.scope);
        if (problems.length > 0) throw new UsageError(`invalid tenant: ${problems.join('; ')}`);
        // Set by other commands, not by hand: the SES tenant name (`identity add-*`) and a pause (`tenant pause`).
        const existing = await store(ctx).get(parsed.tenantId);
        for (const [environment, settings] of Object.entries(parsed.environments)) {
          const before = existing?.environments[environment as keyof typeof parsed.environments];
          if (settings && !settings.sesTenantName && before?.sesTenantName)
            settings.sesTenantName = before.sesTenantName;
          // Pausing and resuming go through `tenant pause|resume`, which also release held mail.
          if (settings && !settings.paused && before?.paused) {
            settings.paused = before.paused;
            ctx.out.info(
              `${environment} stays paused (${before.paused.reason}): resume it with \`tenant-mail tenant resume\``,
            );
          }
        }
        const tenant = await store(ctx).put(parsed);
        ctx.out.result(tenant, () => `saved tenant ${tenant.tenantId} (${tenant.displayName})`);
        return EXIT.OK;
      } catch (error) {
        if (error instanceof ZodError) throw new UsageError(`invalid tenant: ${describeIssues(error)}`);
        throw error;
      }
    },
  },
  {
    group: 'tenant',
    name: 'get',
    summary: 'show one tenant',
    usage: '--tenant T',
    options: { tenant: { type: 'string' } },
    async run(ctx, args) {
      const tenantId = requireOption(args, 'tenant');
      const tenant = await store(ctx).get(tenantId);
      if (!tenant) {
        ctx.out.error(`tenant ${tenantId} not found in the ${ctx.scope} scope`);
        return EXIT.NOT_FOUND;
      }
      ctx.out.result(tenant, () => JSON.stringify(tenant, null, 2));
      return EXIT.OK;
    },
  },
  {
    group: 'tenant',
    name: 'list',
    summary: 'list the tenants of the scope',
    usage: '',
    async run(ctx) {
      const tenants = await store(ctx).list();
      const rows = tenants.map((t) => ({
        tenant: t.tenantId,
        name: t.displayName,
        profileEmail: t.profileEmail,
        environments: Object.entries(t.environments)
          .map(
            ([env, s]) =>
              `${env}:${s?.method}${s?.paused ? '(paused)' : ''}${s?.enabled === false ? '(disabled)' : ''}`,
          )
          .join(' '),
      }));
      ctx.out.result(tenants, () => formatTable(rows, ['tenant', 'name', 'profileEmail', 'environments']));
      return EXIT.OK;
    },
  },
];
