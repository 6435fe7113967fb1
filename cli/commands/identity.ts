import type { Command } from 'commander';
import { guideRows } from '../../client/dns-rows';
import { EXIT } from '../exit-codes';
import { opt } from '../options';
import type { Runner } from '../runner';
import { formatAdd, formatGuide, formatReport, identityTable, refreshTable } from '../views/identity';

type WithDns = { dnsServer?: string[] };
const dns = (o: WithDns) => (o.dnsServer ? { dnsServers: o.dnsServer } : {});

type GuideOptions = WithDns & { tenant: string; domain?: string; bothScopes?: boolean; otherTable?: string };
const guideOptions = (o: GuideOptions) => ({
  ...(o.domain ? { domain: o.domain } : {}),
  ...(o.bothScopes ? { bothScopes: true } : {}),
  ...(o.otherTable ? { otherTable: o.otherTable } : {}),
});

export function register(program: Command, runner: Runner): void {
  const group = program
    .command('identity')
    .description(
      "a tenant's advanced-method identities (SES, DKIM) in the scope, their DNS records and a DNS check",
    );
  for (const kind of ['domain', 'email'] as const) {
    group
      .command(`add-${kind}`)
      .description(
        kind === 'domain'
          ? 'add a domain identity (max 1 per tenant): creates it in SES and prints its DNS records'
          : 'add an email identity (max 3 per tenant): SES mails a verification link to it',
      )
      .addOption(opt.tenant())
      .requiredOption(
        `--${kind} <${kind === 'domain' ? 'example.com' : 'billing@example.com'}>`,
        `the ${kind}`,
      )
      .addOption(opt.dnsServer())
      .action(
        runner.action<WithDns & { tenant: string; domain?: string; email?: string }>(
          async ({ admin, scope }, o) => {
            const result = await admin.identities.add(o.tenant, kind, String(o[kind]));
            return {
              data: { ...result, ...(result.dns ? { records: guideRows(result.dns) } : {}) },
              text: () => formatAdd(result, scope),
            };
          },
          dns,
        ),
      );
  }
  group
    .command('list')
    .description("list a tenant's identities in the scope with their stored status")
    .addOption(opt.tenant())
    .action(
      runner.action<{ tenant: string }>(async ({ admin }, o) => {
        const records = await admin.identities.list(o.tenant);
        return { data: records, text: () => identityTable(records) };
      }),
    );
  group
    .command('status')
    .description(
      "a tenant's identities' verification status; --refresh reads it from SES first and stores it",
    )
    .addOption(opt.tenant())
    .option('--identity <identity>', 'one identity only')
    .option('--refresh', 'read the status from SES and store it')
    .action(
      runner.action<{ tenant: string; identity?: string; refresh?: boolean }>(async ({ admin }, o) => {
        if (o.refresh) {
          const outcomes = await admin.identities.refresh(o.tenant, o.identity);
          return {
            data: outcomes,
            text: () => refreshTable(outcomes),
            ...(outcomes.some((x) => x.error) ? { exit: EXIT.ERROR } : {}),
          };
        }
        const records = await admin.identities.status(o.tenant, o.identity);
        return { data: records, text: () => identityTable(records) };
      }),
    );
  group
    .command('delete')
    .description('delete an identity in SES and in the store (frees the tenant’s limit)')
    .addOption(opt.tenant())
    .requiredOption('--identity <identity>', 'the domain or address')
    .action(
      runner.action<{ tenant: string; identity: string }>(async ({ admin, scope }, o) => {
        const removed = await admin.identities.delete(o.tenant, o.identity);
        return {
          data: { deleted: removed },
          text: () =>
            `deleted ${removed.type} identity ${removed.identity} of tenant ${o.tenant} in the ${scope} scope`,
        };
      }),
    );
  const guideCommand = (name: string, description: string) =>
    group
      .command(name)
      .description(description)
      .addOption(opt.tenant())
      .option('--domain <domain>', 'the domain identity (default: the tenant’s only one)')
      .option('--both-scopes', 'also the other scope’s DKIM records (all 6 CNAMEs)')
      .option('--other-table <name>', 'the other scope’s identities table')
      .addOption(opt.dnsServer());
  guideCommand(
    'dns',
    'the DNS records to publish for a domain identity (--both-scopes: all 6 DKIM CNAMEs by scope)',
  ).action(
    runner.action<GuideOptions>(async ({ admin }, o) => {
      const guide = await admin.identities.dns(o.tenant, guideOptions(o));
      return { data: { ...guide, records: guideRows(guide) }, text: () => formatGuide(guide) };
    }, dns),
  );
  guideCommand(
    'doctor',
    'check the live DNS of a domain identity: each record ok / missing / wrong with the fix (exit 1 if not all ok)',
  )
    .option('--mail-from <sub.example.com>', 'a custom MAIL FROM domain to check too')
    .option('--mail-from-region <region>', 'the scope’s SES region (with --mail-from)')
    .action(
      runner.action<GuideOptions & { mailFrom?: string; mailFromRegion?: string }>(async ({ admin }, o) => {
        const report = await admin.identities.doctor(o.tenant, {
          ...guideOptions(o),
          ...(o.mailFrom ? { mailFrom: { domain: o.mailFrom, region: o.mailFromRegion ?? '' } } : {}),
        });
        return {
          data: report,
          text: () => formatReport(report),
          ...(report.allOk ? {} : { exit: EXIT.CHECK_FAILED }),
        };
      }, dns),
    );
}
