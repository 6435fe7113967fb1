import type { TenantPutResult, TenantResumeResult } from '../../client/tenants';
import type { Tenant } from '../../lambdas/domain/tenant';
import { formatTable } from '../output';

export function tenantSaved(result: TenantPutResult): string {
  return [
    `saved tenant ${result.tenant.tenantId} (${result.tenant.displayName})`,
    ...result.stillPaused.map(
      (p) => `${p.environment} stays paused (${p.reason}): resume it with \`tenant-mail tenant resume\``,
    ),
  ].join('\n');
}

export function tenantRows(tenants: readonly Tenant[]): string {
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
  return formatTable(rows, ['tenant', 'name', 'profileEmail', 'environments']);
}

export function tenantResumed(tenantId: string, result: TenantResumeResult): string {
  const window = result.reputation;
  return [
    result.resumed.length > 0
      ? `resumed ${tenantId} in ${result.resumed.join(', ')}`
      : `${tenantId} was not paused`,
    `released ${result.released} held message(s) to the send queues` +
      (result.skipped ? `; ${result.skipped} held without a request to resend` : ''),
    `reputation (default thresholds): ${window.level}: ${window.reason}`,
    ...(window.level === 'pause'
      ? ['warning: the window is still above the pause level; the next bounce or complaint pauses again']
      : []),
  ].join('\n');
}
