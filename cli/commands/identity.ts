import { Resolver } from 'node:dns/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DnsDoctor, type DnsReport } from '../../lambdas/adapters/dns/dns-doctor';
import { DynamoIdentityStore } from '../../lambdas/adapters/identity-store';
import { SesV2IdentityGateway } from '../../lambdas/adapters/ses-identity-gateway';
import { DynamoTenantStore } from '../../lambdas/adapters/tenant-store';
import { DomainError } from '../../lambdas/domain/errors';
import type { DnsGuide } from '../../lambdas/domain/identity/dns-guide';
import type { IdentityRecord } from '../../lambdas/domain/identity/identity';
import type { AddIdentityResult, RefreshOutcome } from '../../lambdas/domain/identity/identity-ports';
import { IdentityService } from '../../lambdas/domain/identity/identity-service';
import { SCOPES, type Scope } from '../../lambdas/domain/scope';
import { resourcePrefix } from '../../lib/config/names';
import {
  type CliCommand,
  type CommandArgs,
  EXIT,
  type ExitCode,
  requireOption,
  UsageError,
} from '../cli-command';
import { type CliContext, formatTable } from '../cli-context';

/**
 * `tenant-mail identity …`: a tenant's advanced-method identities in one scope: add (store first, then SES),
 * list, status (with --refresh from SES), delete, the DNS records to publish (`dns`), and a live DNS check
 * (`doctor`). Readable tables by default, `--json` for scripts; exit codes as in cli-command.ts (doctor: 1
 * when any record is not ok).
 */

const otherScope = (scope: Scope): Scope => (SCOPES.find((s) => s !== scope) ?? scope) as Scope;

/** DNS servers from `--dns-server host:port` (repeatable), else the local twin's, else the system's. */
function dnsServers(ctx: CliContext, args: CommandArgs): string[] | undefined {
  const given = args.values['dns-server'];
  const list = (Array.isArray(given) ? given : typeof given === 'string' ? [given] : []).map(String);
  for (const server of list) {
    if (!/^[^\s:]+(:\d{1,5})?$|^\[[0-9a-f:]+\](:\d{1,5})?$/i.test(server))
      throw new UsageError(`--dns-server "${server}" must be host or host:port`);
  }
  if (list.length > 0) return list;
  return ctx.local?.dns ? [ctx.local.dns] : undefined;
}

function resolverFor(servers: readonly string[] | undefined): Resolver {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  if (servers) resolver.setServers([...servers]);
  return resolver;
}

/**
 * The platform's sending domain of the scope (cdk.json `tenantMail.scopes.<scope>.senderDomain`, or
 * `TENANT_MAIL_<SCOPE>_SENDER_DOMAIN`): tenants can never add it or its subdomains.
 */
function platformDomains(scope: Scope): string[] {
  const fromEnv = process.env[`TENANT_MAIL_${scope.toUpperCase()}_SENDER_DOMAIN`];
  if (fromEnv) return [fromEnv];
  const file = join(__dirname, '..', '..', 'cdk.json');
  if (!existsSync(file)) return [];
  try {
    const cdk = JSON.parse(readFileSync(file, 'utf8')) as {
      context?: { tenantMail?: { scopes?: Record<string, { senderDomain?: unknown }> } };
    };
    const domain = cdk.context?.tenantMail?.scopes?.[scope]?.senderDomain;
    return typeof domain === 'string' && domain !== '' ? [domain] : [];
  } catch {
    return [];
  }
}

const identityStore = (ctx: CliContext, tableName = ctx.tableName('identities')) =>
  new DynamoIdentityStore({ client: ctx.documents, tableName });

function service(ctx: CliContext, servers?: readonly string[]): IdentityService {
  return new IdentityService({
    scope: ctx.scope,
    identities: identityStore(ctx),
    ses: new SesV2IdentityGateway(ctx.ses),
    tenants: new DynamoTenantStore(ctx.documents, {
      tableName: ctx.tableName('tenants'),
      cacheTtlSeconds: 0,
    }),
    configurationSetName: resourcePrefix(ctx.scope),
    reservedDomains: platformDomains(ctx.scope),
    txtLookup: resolverFor(servers),
  });
}

/**
 * Runs a command body; a domain error becomes its message (and `{ error }` with --json) and an exit code:
 * not found 3, other permanent errors (limits, invalid input, SES refusal) 2, transient ones 4.
 */
async function guarded(ctx: CliContext, body: () => Promise<ExitCode>): Promise<ExitCode> {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    if (ctx.json) ctx.out.result({ error: { code: error.code, message: error.message } }, () => '');
    ctx.out.error(`error: ${error.message}`);
    if (error.code === 'IDENTITY_NOT_FOUND' || error.code === 'UNKNOWN_TENANT') return EXIT.NOT_FOUND;
    return error.kind === 'permanent' ? EXIT.USAGE : EXIT.ERROR;
  }
}

/** One row per record to publish, for people and (as `records`) for scripts. */
export type GuideRow = {
  readonly purpose: string;
  readonly scope: string;
  readonly type: string;
  readonly name: string;
  readonly value: string;
  /** `add`, `replace` (a record is there but must change), or `keep` (already right). */
  readonly action: 'add' | 'replace' | 'keep';
};

export function guideRows(guide: DnsGuide): GuideRow[] {
  const action = (status: 'ok' | 'missing' | 'wrong') =>
    status === 'ok' ? 'keep' : status === 'missing' ? 'add' : 'replace';
  return [
    ...guide.dkim.map((r) => ({
      purpose: 'DKIM',
      scope: r.scope ?? '',
      type: r.type,
      name: r.name,
      value: r.value,
      action: 'add' as const,
    })),
    {
      purpose: 'SPF',
      scope: 'all',
      type: 'TXT',
      name: guide.domain,
      value: guide.spf.recommended,
      action: action(guide.spf.status),
    },
    {
      purpose: 'DMARC',
      scope: 'all',
      type: 'TXT',
      name: guide.dmarc.name,
      value: guide.dmarc.recommended ?? guide.dmarc.current[0] ?? '',
      action: action(guide.dmarc.status),
    },
  ];
}

/** The guide as text: the records table, then what replaces what, warnings and notes. */
export function formatGuide(guide: DnsGuide): string {
  const lines = [formatTable(guideRows(guide), ['purpose', 'scope', 'type', 'name', 'value', 'action'])];
  const extra: string[] = [];
  if (guide.spf.status === 'wrong' && guide.spf.current.length > 0)
    extra.push(
      `SPF: replace ${guide.spf.current.map((c) => `"${c}"`).join(' and ')} with the one record above (include:amazonses.com merged in; keep a single SPF record).`,
    );
  for (const w of guide.spf.warnings) extra.push(`SPF warning: ${w.message}`);
  for (const p of guide.dmarc.status === 'ok' ? [] : guide.dmarc.problems) extra.push(`DMARC: ${p}`);
  for (const w of guide.dmarc.warnings) extra.push(`DMARC warning: ${w}`);
  for (const u of guide.unavailableScopes) extra.push(`${u.scope} scope: ${u.reason}`);
  for (const n of guide.notes) extra.push(`Note: ${n}`);
  if (extra.length > 0) lines.push('', ...extra);
  return lines.join('\n');
}

const identityRow = (r: IdentityRecord) => ({
  identity: r.identity,
  type: r.type,
  status: r.status,
  dkimTokens: r.dkimTokens.length,
  created: r.createdAt,
  checked: r.statusCheckedAt ?? '',
});

function formatAdd(result: AddIdentityResult, ctx: CliContext): string {
  const r = result.identity;
  const verb = {
    created: 'Added',
    adopted: 'Added (SES already had it; adopted)',
    resumed: 'Already added; completed',
  }[result.outcome];
  const lines = [
    `${verb} ${r.type} identity ${r.identity} for tenant ${r.tenantId} in the ${ctx.scope} scope: status ${r.status}.`,
    `SES tenant ${result.sesTenantName}: identity and configuration set ${resourcePrefix(ctx.scope)} associated.`,
  ];
  if (result.dns) lines.push('', 'DNS records to publish:', formatGuide(result.dns));
  lines.push('', 'Next:', ...result.nextSteps.map((s) => `  - ${s}`));
  return lines.join('\n');
}

function addCommand(kind: 'domain' | 'email'): CliCommand {
  return {
    group: 'identity',
    name: `add-${kind}`,
    summary:
      kind === 'domain'
        ? 'add a domain identity (max 1 per tenant): creates it in SES and prints its DNS records'
        : 'add an email identity (max 3 per tenant): SES mails a verification link to it',
    usage: `--tenant T --${kind} ${kind === 'domain' ? 'example.com' : 'billing@example.com'} [--dns-server host:port]`,
    options: {
      tenant: { type: 'string' },
      [kind]: { type: 'string' },
      'dns-server': { type: 'string', multiple: true },
    },
    run: (ctx, args) =>
      guarded(ctx, async () => {
        const tenantId = requireOption(args, 'tenant');
        const input = requireOption(args, kind);
        if (kind === 'domain' ? input.includes('@') : !input.includes('@'))
          throw new UsageError(
            kind === 'domain'
              ? `--domain takes a domain; use \`identity add-email --email ${input}\` for an address`
              : `--email takes an address; use \`identity add-domain --domain ${input}\` for a domain`,
          );
        const result = await service(ctx, dnsServers(ctx, args)).addIdentity(tenantId, input);
        ctx.out.result({ ...result, ...(result.dns ? { records: guideRows(result.dns) } : {}) }, () =>
          formatAdd(result, ctx),
        );
        return EXIT.OK;
      }),
  };
}

const refreshColumns = ['identity', 'type', 'previous', 'status', 'dkimStatus', 'changed', 'note'];
const refreshRow = (o: RefreshOutcome) => ({
  ...o,
  note: o.error ? `error: ${o.error}` : o.missingInSes ? 'not in SES: add it again' : '',
});

export const commands: CliCommand[] = [
  addCommand('domain'),
  addCommand('email'),
  {
    group: 'identity',
    name: 'list',
    summary: "list a tenant's identities in the scope with their stored status",
    usage: '--tenant T',
    options: { tenant: { type: 'string' } },
    run: (ctx, args) =>
      guarded(ctx, async () => {
        const records = await service(ctx).listIdentities(requireOption(args, 'tenant'));
        ctx.out.result(records, () =>
          formatTable(records.map(identityRow), [
            'identity',
            'type',
            'status',
            'dkimTokens',
            'created',
            'checked',
          ]),
        );
        return EXIT.OK;
      }),
  },
  {
    group: 'identity',
    name: 'status',
    summary: "a tenant's identities' verification status; --refresh reads it from SES first and stores it",
    usage: '--tenant T [--identity X] [--refresh]',
    options: {
      tenant: { type: 'string' },
      identity: { type: 'string' },
      refresh: { type: 'boolean', default: false },
    },
    run: (ctx, args) =>
      guarded(ctx, async () => {
        const tenantId = requireOption(args, 'tenant');
        const identity = typeof args.values.identity === 'string' ? args.values.identity : undefined;
        const svc = service(ctx);
        if (args.values.refresh) {
          const outcomes = identity
            ? [await svc.refreshIdentity(tenantId, identity)]
            : await svc.refreshTenant(tenantId, { includeVerified: true });
          ctx.out.result(outcomes, () => formatTable(outcomes.map(refreshRow), refreshColumns));
          return outcomes.some((o) => o.error) ? EXIT.ERROR : EXIT.OK;
        }
        const records = (await svc.listIdentities(tenantId)).filter(
          (r) => identity === undefined || r.identity === identity.trim().toLowerCase(),
        );
        ctx.out.result(records, () =>
          formatTable(records.map(identityRow), ['identity', 'type', 'status', 'dkimTokens', 'checked']),
        );
        return EXIT.OK;
      }),
  },
  {
    group: 'identity',
    name: 'delete',
    summary: 'delete an identity in SES and in the store (frees the tenant’s limit)',
    usage: '--tenant T --identity X',
    options: { tenant: { type: 'string' }, identity: { type: 'string' } },
    run: (ctx, args) =>
      guarded(ctx, async () => {
        const tenantId = requireOption(args, 'tenant');
        const removed = await service(ctx).deleteIdentity(tenantId, requireOption(args, 'identity'));
        ctx.out.result(
          { deleted: removed },
          () =>
            `deleted ${removed.type} identity ${removed.identity} of tenant ${tenantId} in the ${ctx.scope} scope`,
        );
        return EXIT.OK;
      }),
  },
  {
    group: 'identity',
    name: 'dns',
    summary: 'the DNS records to publish for a domain identity (--both-scopes: all 6 DKIM CNAMEs by scope)',
    usage: '--tenant T [--domain D] [--both-scopes [--other-table NAME]] [--dns-server host:port]',
    options: {
      tenant: { type: 'string' },
      domain: { type: 'string' },
      'both-scopes': { type: 'boolean', default: false },
      'other-table': { type: 'string' },
      'dns-server': { type: 'string', multiple: true },
    },
    run: (ctx, args) =>
      guarded(ctx, async () => {
        const guide = await guideFor(ctx, args);
        ctx.out.result({ ...guide, records: guideRows(guide) }, () => formatGuide(guide));
        return EXIT.OK;
      }),
  },
  {
    group: 'identity',
    name: 'doctor',
    summary:
      'check the live DNS of a domain identity: each record ok / missing / wrong with the fix (exit 1 if not all ok)',
    usage:
      '--tenant T [--domain D] [--dns-server host:port]… [--both-scopes [--other-table NAME]] [--mail-from sub.example.com --mail-from-region eu-west-1]',
    options: {
      tenant: { type: 'string' },
      domain: { type: 'string' },
      'dns-server': { type: 'string', multiple: true },
      'both-scopes': { type: 'boolean', default: false },
      'other-table': { type: 'string' },
      'mail-from': { type: 'string' },
      'mail-from-region': { type: 'string' },
    },
    run: (ctx, args) =>
      guarded(ctx, async () => {
        const mailFromDomain = args.values['mail-from'];
        const mailFromRegion = args.values['mail-from-region'];
        if (typeof mailFromDomain === 'string' && typeof mailFromRegion !== 'string')
          throw new UsageError('--mail-from needs --mail-from-region (the scope’s SES region)');
        const guide = await guideFor(ctx, args);
        const tokens: Partial<Record<Scope, string[]>> = {};
        for (const record of guide.dkim) {
          if (!record.scope) continue;
          tokens[record.scope] = [...(tokens[record.scope] ?? []), record.name.split('.')[0] ?? ''];
        }
        const servers = dnsServers(ctx, args);
        const report = await new DnsDoctor(servers ? { servers } : {}).diagnose({
          domain: guide.domain,
          dkimTokens: tokens,
          ...(typeof mailFromDomain === 'string' && typeof mailFromRegion === 'string'
            ? { mailFrom: { domain: mailFromDomain, region: mailFromRegion } }
            : {}),
        });
        const allOk = report.checks.every((check) => check.status === 'ok');
        ctx.out.result({ ...report, allOk, unavailableScopes: guide.unavailableScopes }, () =>
          formatReport(report, guide),
        );
        return allOk ? EXIT.OK : EXIT.CHECK_FAILED;
      }),
  },
];

/** The DNS guide of the tenant's domain identity, with the other scope's tokens when `--both-scopes`. */
async function guideFor(ctx: CliContext, args: CommandArgs): Promise<DnsGuide> {
  const tenantId = requireOption(args, 'tenant');
  const domain = typeof args.values.domain === 'string' ? args.values.domain : undefined;
  const other = otherScope(ctx.scope);
  const otherTable =
    typeof args.values['other-table'] === 'string'
      ? args.values['other-table']
      : `${resourcePrefix(other)}-identities`;
  return service(ctx, dnsServers(ctx, args)).dnsFor(tenantId, {
    ...(domain ? { domain } : {}),
    ...(args.values['both-scopes'] ? { otherScopes: { [other]: identityStore(ctx, otherTable) } } : {}),
  });
}

const STATUS_MARK = { ok: 'ok', missing: 'MISSING', wrong: 'WRONG', error: 'ERROR' } as const;

/** The doctor's report for people: one line per record, then the fix of each record that is not ok. */
export function formatReport(report: DnsReport, guide: Pick<DnsGuide, 'unavailableScopes'>): string {
  const rows = report.checks.map((c) => ({
    status: STATUS_MARK[c.status],
    purpose: c.purpose.toUpperCase(),
    scope: c.scope ?? '',
    type: c.type,
    name: c.name,
    found: c.found.join(', ') || '-',
  }));
  const lines = [
    `DNS check of ${report.domain}: ${report.summary.ok} ok, ${report.summary.missing} missing, ${report.summary.wrong} wrong, ${report.summary.error} lookup errors`,
    '',
    formatTable(rows, ['status', 'purpose', 'scope', 'type', 'name', 'found']),
  ];
  const fixes = report.checks.filter((c) => c.status !== 'ok' && c.fix);
  if (fixes.length > 0) lines.push('', 'To fix:', ...fixes.map((c) => `  - ${c.fix}`));
  const warnings = report.checks.flatMap((c) => c.warnings);
  if (warnings.length > 0) lines.push('', 'Warnings:', ...warnings.map((w) => `  - ${w}`));
  for (const u of guide.unavailableScopes) lines.push('', `${u.scope} scope not checked: ${u.reason}`);
  return lines.join('\n');
}
