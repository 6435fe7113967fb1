import { guideRows } from '../../client/dns-rows';
import type { DoctorResult } from '../../client/identities';
import type { DnsGuide } from '../../lambdas/domain/identity/dns-guide';
import type { IdentityRecord } from '../../lambdas/domain/identity/identity';
import type { AddIdentityResult, RefreshOutcome } from '../../lambdas/domain/identity/identity-ports';
import { formatTable } from '../output';

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

export const identityTable = (records: readonly IdentityRecord[]) =>
  formatTable(
    records.map((r) => ({
      identity: r.identity,
      type: r.type,
      status: r.status,
      dkimTokens: r.dkimTokens.length,
      created: r.createdAt,
      checked: r.statusCheckedAt ?? '',
    })),
    ['identity', 'type', 'status', 'dkimTokens', 'created', 'checked'],
  );

export const refreshTable = (outcomes: readonly RefreshOutcome[]) =>
  formatTable(
    outcomes.map((o) => ({
      ...o,
      note: o.error ? `error: ${o.error}` : o.missingInSes ? 'not in SES: add it again' : '',
    })),
    ['identity', 'type', 'previous', 'status', 'dkimStatus', 'changed', 'note'],
  );

/** `identity add-*`: what was added, what to do next, and below that the DNS records to publish. */
export function formatAdd(result: AddIdentityResult, scope: string): string {
  const r = result.identity;
  const verb = {
    created: 'Added',
    adopted: 'Added (SES already had it; adopted)',
    resumed: 'Already added; completed',
  }[result.outcome];
  const lines = [
    `${verb} ${r.type} identity ${r.identity} for tenant ${r.tenantId} in the ${scope} scope: status ${r.status}.`,
    `SES tenant ${result.sesTenantName}: identity and configuration set tenant-mail-${scope} associated.`,
  ];
  // The next steps speak of "the records below": print them first, the records after.
  lines.push('', 'Next:', ...result.nextSteps.map((s) => `  - ${s}`));
  if (result.dns) lines.push('', 'DNS records to publish:', formatGuide(result.dns));
  return lines.join('\n');
}

const STATUS_MARK = { ok: 'ok', missing: 'MISSING', wrong: 'WRONG', error: 'ERROR' } as const;

/** The doctor's report for people: one line per record, then the fix of each record that is not ok. */
export function formatReport(report: DoctorResult): string {
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
  for (const u of report.unavailableScopes) lines.push('', `${u.scope} scope not checked: ${u.reason}`);
  return lines.join('\n');
}
