import { Resolver } from 'node:dns/promises';
import { DnsDoctor, type DnsReport } from '../lambdas/adapters/dns/dns-doctor';
import { DynamoIdentityStore } from '../lambdas/adapters/identity-store';
import { SesV2IdentityGateway } from '../lambdas/adapters/ses-identity-gateway';
import type { DnsGuide } from '../lambdas/domain/identity/dns-guide';
import type { IdentityRecord } from '../lambdas/domain/identity/identity';
import type { AddIdentityResult, RefreshOutcome } from '../lambdas/domain/identity/identity-ports';
import { IdentityService } from '../lambdas/domain/identity/identity-service';
import { SCOPES, type Scope } from '../lambdas/domain/scope';
import { resourcePrefix } from '../lib/config/names';
import type { AdminContext } from './admin-context';
import { AdminInputError } from './admin-errors';

export { type GuideRow, guideRows } from './dns-rows';

export interface DnsGuideOptions {
  /** The domain identity to describe. @default the tenant's only domain identity */
  readonly domain?: string;
  /** Also the other scope's DKIM records (all 6 CNAMEs). */
  readonly bothScopes?: boolean;
  /** The other scope's identities table. @default `tenant-mail-<other scope>-identities` */
  readonly otherTable?: string;
}

export interface DoctorOptions extends DnsGuideOptions {
  /** A custom MAIL FROM domain to check, with the scope's SES region. */
  readonly mailFrom?: { readonly domain: string; readonly region: string };
}

export interface DoctorResult extends DnsReport {
  readonly allOk: boolean;
  readonly unavailableScopes: DnsGuide['unavailableScopes'];
}

const otherScope = (scope: Scope): Scope => SCOPES.find((s) => s !== scope) ?? scope;

/**
 * A tenant's advanced-method identities in the scope: add (stored first, then SES; its DNS records returned),
 * list, status (refreshed from SES on demand), delete, the DNS records to publish, and a live DNS check.
 */
export class IdentitiesApi {
  constructor(private readonly ctx: AdminContext) {}

  /** Adds a domain (`example.com`) or an email (`billing@example.com`) identity. */
  async add(tenantId: string, kind: 'domain' | 'email', input: string): Promise<AddIdentityResult> {
    if (kind === 'domain' ? input.includes('@') : !input.includes('@'))
      throw new AdminInputError(
        kind === 'domain'
          ? `a domain identity takes a domain; use \`identity add-email --email ${input}\` for an address`
          : `an email identity takes an address; use \`identity add-domain --domain ${input}\` for a domain`,
        'INVALID_IDENTITY',
      );
    return this.service().addIdentity(tenantId, input);
  }

  async list(tenantId: string): Promise<IdentityRecord[]> {
    return this.service().listIdentities(tenantId);
  }

  /** The stored status of the tenant's identities (or one). */
  async status(tenantId: string, identity?: string): Promise<IdentityRecord[]> {
    const wanted = identity?.trim().toLowerCase();
    return (await this.list(tenantId)).filter((r) => wanted === undefined || r.identity === wanted);
  }

  /** Reads the status from SES and stores it (all identities of the tenant, verified ones included, or one). */
  async refresh(tenantId: string, identity?: string): Promise<RefreshOutcome[]> {
    const service = this.service();
    return identity
      ? [await service.refreshIdentity(tenantId, identity)]
      : service.refreshTenant(tenantId, { includeVerified: true });
  }

  /** Deletes the identity in SES and in the store (frees the tenant's limit). */
  async delete(tenantId: string, identity: string): Promise<IdentityRecord> {
    return this.service().deleteIdentity(tenantId, identity);
  }

  /** The DNS records to publish for the tenant's domain identity. */
  async dns(tenantId: string, options: DnsGuideOptions = {}): Promise<DnsGuide> {
    const other = otherScope(this.ctx.scope);
    return this.service().dnsFor(tenantId, {
      ...(options.domain ? { domain: options.domain } : {}),
      ...(options.bothScopes
        ? {
            otherScopes: {
              [other]: this.store(options.otherTable ?? `${resourcePrefix(other)}-identities`),
            },
          }
        : {}),
    });
  }

  /** Checks the live DNS of the domain identity: each record ok / missing / wrong, with the fix. */
  async doctor(tenantId: string, options: DoctorOptions = {}): Promise<DoctorResult> {
    if (options.mailFrom && !options.mailFrom.region)
      throw new AdminInputError('a MAIL FROM check needs the scope’s SES region (--mail-from-region)');
    const guide = await this.dns(tenantId, options);
    const tokens: Partial<Record<Scope, string[]>> = {};
    for (const record of guide.dkim) {
      if (!record.scope) continue;
      tokens[record.scope] = [...(tokens[record.scope] ?? []), record.name.split('.')[0] ?? ''];
    }
    const servers = this.ctx.options.dnsServers;
    const report = await new DnsDoctor(servers ? { servers } : {}).diagnose({
      domain: guide.domain,
      dkimTokens: tokens,
      ...(options.mailFrom ? { mailFrom: options.mailFrom } : {}),
    });
    return {
      ...report,
      allOk: report.checks.every((check) => check.status === 'ok'),
      unavailableScopes: guide.unavailableScopes,
    };
  }

  private store(tableName = this.ctx.tableName('identities')): DynamoIdentityStore {
    return new DynamoIdentityStore({ client: this.ctx.documents, tableName });
  }

  private service(): IdentityService {
    const resolver = new Resolver({ timeout: 3000, tries: 2 });
    const servers = this.ctx.options.dnsServers;
    if (servers) resolver.setServers([...servers]);
    return new IdentityService({
      scope: this.ctx.scope,
      identities: this.store(),
      ses: new SesV2IdentityGateway(this.ctx.clients.ses),
      tenants: this.ctx.tenantStore(),
      configurationSetName: resourcePrefix(this.ctx.scope),
      reservedDomains: [...(this.ctx.options.platformDomains ?? [])],
      txtLookup: resolver,
    });
  }
}
