import { createHash } from 'node:crypto';
import { SCOPE_ENVIRONMENTS, type Scope } from '../scope';
import { type Tenant, UnknownTenantError } from '../tenant';
import { type DnsGuide, dnsGuide, nextSteps } from './dns-guide';
import { dmarcRecordName } from './dns-records';
import {
  type IdentityName,
  type IdentityRecord,
  type IdentityStore,
  type IdentityType,
  VERIFICATION_STATUSES,
  VERIFIED,
  type VerificationStatus,
} from './identity';
import {
  IdentityAlreadyExistsError,
  IdentityNotFoundError,
  IdentityRollbackError,
  ReservedIdentityError,
  SesIdentityExistsError,
} from './identity-errors';
import { isSameOrSubdomain, normaliseDomain, parseIdentity } from './identity-name';
import type {
  AddIdentityResult,
  IdentityServiceDeps,
  RefreshOptions,
  RefreshOutcome,
  SesIdentityState,
} from './identity-ports';

/**
 * The identity use cases of the advanced method: add (reserve in the store first, then SES), refresh status
 * from SES, delete, and the DNS records a tenant publishes. Pure orchestration over ports; the SES v2 adapter
 * is `lambdas/adapters/ses-identity-gateway.ts`, the store `lambdas/adapters/identity-store.ts`.
 */

const SES_TENANT_NAME_MAX = 64;

/**
 * The SES tenant of a platform tenant in a scope: `tm-<scope>-<tenantId>` (SES tenant names are 1–64 of
 * `[A-Za-z0-9_-]`, the tenant id's own alphabet). The scope is in the name because both scopes may share one
 * SES account and region. Ids too long for that keep a prefix and an 8-hex hash of the full id, so names stay unique.
 */
export function sesTenantNameFor(tenantId: string, scope: Scope): string {
  const name = `tm-${scope}-${tenantId}`;
  if (name.length <= SES_TENANT_NAME_MAX) return name;
  const hash = createHash('sha256').update(tenantId).digest('hex').slice(0, 8);
  return `${name.slice(0, SES_TENANT_NAME_MAX - 9)}-${hash}`;
}

const isStatus = (value: unknown): value is VerificationStatus =>
  typeof value === 'string' && (VERIFICATION_STATUSES as readonly string[]).includes(value);

/**
 * One status from what SES reports: `SUCCESS` only when SES will send from the identity
 * (`VerifiedForSendingStatus`); otherwise the first non-success of `VerificationStatus` and, for a domain
 * identity (which verifies through DKIM), the DKIM status; else `PENDING`. An email identity's DKIM status is
 * `NOT_STARTED` and says nothing about its verification.
 */
export function statusFromSes(state: SesIdentityState, type: IdentityType = 'domain'): VerificationStatus {
  if (state.verifiedForSending) return VERIFIED;
  const candidates =
    type === 'domain' ? [state.verificationStatus, state.dkimStatus] : [state.verificationStatus];
  for (const candidate of candidates) {
    if (isStatus(candidate) && candidate !== VERIFIED) return candidate;
  }
  return 'PENDING';
}

/**
 * Identity use cases for one verification scope. The store is the source of truth for who owns what and for
 * the limits; SES follows it: an identity is reserved in the store before SES creates it, and the reservation
 * is undone if SES fails, so the limits always describe what exists.
 */
export class IdentityService {
  constructor(private readonly deps: IdentityServiceDeps) {}

  /**
   * Adds a domain or email identity to a tenant: validates it, reserves it atomically in the store (limits:
   * 1 domain, 3 emails, no domain and email of one domain, one owner per scope), creates it in SES (adopting it
   * when SES already has it), stores its DKIM tokens and status, and makes sure the tenant's SES tenant exists
   * with the identity and the configuration set associated and its name saved on the tenant's environments of
   * this scope. Running it again for an identity the tenant has completes whatever is missing.
   * @throws InvalidIdentityError, ReservedIdentityError, UnknownTenantError, IdentityLimitExceededError,
   *   IdentityDomainConflictError, IdentityClaimedError, SesUnavailableError, SesRequestRejectedError, IdentityRollbackError
   */
  async addIdentity(tenantId: string, input: string): Promise<AddIdentityResult> {
    const name = parseIdentity(input);
    this.checkNotReserved(name);
    const tenant = await this.deps.tenants.get(tenantId);
    if (!tenant) throw new UnknownTenantError(tenantId);

    let reserved = true;
    try {
      await this.deps.identities.addIdentity({ tenantId, identity: name.identity, status: 'NOT_STARTED' });
    } catch (error) {
      if (!(error instanceof IdentityAlreadyExistsError)) throw error;
      reserved = false;
    }

    let state: SesIdentityState;
    let adopted = false;
    try {
      try {
        state = await this.deps.ses.createIdentity(name.identity);
      } catch (error) {
        if (!(error instanceof SesIdentityExistsError)) throw error;
        const existing = await this.deps.ses.getIdentity(name.identity);
        if (!existing) throw error;
        state = existing;
        adopted = true;
      }
    } catch (error) {
      if (reserved) await this.rollback(tenantId, name.identity, error);
      throw error;
    }

    const record = await this.deps.identities.updateStatus(tenantId, name.identity, {
      status: statusFromSes(state, name.type),
      dkimTokens: state.dkimTokens,
    });
    const sesTenantName = await this.ensureSesTenant(tenant, name.identity);
    const dns =
      name.type === 'domain'
        ? await this.guideFor(name.domain, { [this.deps.scope]: record.dkimTokens })
        : undefined;
    return {
      identity: record,
      outcome: !reserved ? 'resumed' : adopted ? 'adopted' : 'created',
      sesTenantName,
      ...(dns ? { dns } : {}),
      nextSteps: nextSteps(record, this.deps.scope),
    };
  }

  /** The tenant's identities in this scope, as last refreshed. */
  listIdentities(tenantId: string): Promise<IdentityRecord[]> {
    return this.deps.identities.listIdentities(tenantId);
  }

  /**
   * Reads one identity's state from SES and stores its status (and DKIM tokens). An identity SES does not have
   * is stored as `NOT_STARTED` (it cannot authorise anything); `addIdentity` again recreates it.
   * @throws IdentityNotFoundError when the tenant has no such identity; SES errors.
   */
  async refreshIdentity(tenantId: string, input: string): Promise<RefreshOutcome> {
    const name = parseIdentity(input);
    const current = await this.deps.identities.getIdentity(tenantId, name.identity);
    if (!current) throw new IdentityNotFoundError(name.identity);
    return this.refreshRecord(current);
  }

  /** Refreshes a tenant's identities (not yet verified ones, or all with `includeVerified`); failures are reported per identity. */
  async refreshTenant(tenantId: string, options: RefreshOptions = {}): Promise<RefreshOutcome[]> {
    const records = await this.deps.identities.listIdentities(tenantId);
    return this.refreshRecords(records, options);
  }

  /**
   * Refreshes every tenant's identities in this scope (the scheduled job). Failures are reported per identity
   * and do not stop the others.
   */
  async refreshAll(
    options: RefreshOptions & { readonly tenantIds?: readonly string[] } = {},
  ): Promise<RefreshOutcome[]> {
    const tenantIds = options.tenantIds ?? (await this.deps.tenants.list()).map((tenant) => tenant.tenantId);
    const outcomes: RefreshOutcome[] = [];
    for (const tenantId of tenantIds) outcomes.push(...(await this.refreshTenant(tenantId, options)));
    return outcomes;
  }

  /**
   * Deletes a tenant's identity: dissociates it from the tenant's SES tenant, deletes it in SES, then removes it
   * from the store (freeing the tenant's limit). SES is asked first, so a failure leaves the identity listed and
   * the command can be repeated. Only an identity the tenant holds is ever deleted in SES.
   * @throws IdentityNotFoundError, SES errors.
   */
  async deleteIdentity(tenantId: string, input: string): Promise<IdentityRecord> {
    const name = parseIdentity(input);
    const current = await this.deps.identities.getIdentity(tenantId, name.identity);
    if (!current) throw new IdentityNotFoundError(name.identity);
    await this.deps.ses.dissociateIdentity(sesTenantNameFor(tenantId, this.deps.scope), name.identity);
    await this.deps.ses.deleteIdentity(name.identity);
    await this.deps.identities.deleteIdentity(tenantId, name.identity);
    return current;
  }

  /**
   * The DNS guide of the tenant's domain identity (`domain`, or its only one): DKIM records of this scope and of
   * each store in `otherScopes` (read there; a failure is reported in `unavailableScopes` with what to do).
   * @throws IdentityNotFoundError when the tenant has no such domain identity.
   */
  async dnsFor(
    tenantId: string,
    options: {
      readonly domain?: string;
      readonly otherScopes?: Partial<Record<Scope, IdentityStore>>;
    } = {},
  ): Promise<DnsGuide> {
    const record = await this.domainIdentity(tenantId, options.domain);
    const tokensByScope: Partial<Record<Scope, readonly string[]>> = { [this.deps.scope]: record.dkimTokens };
    const unavailableScopes: { scope: Scope; reason: string }[] = [];
    for (const [scope, store] of Object.entries(options.otherScopes ?? {}) as [
      Scope,
      IdentityStore | undefined,
    ][]) {
      if (!store || scope === this.deps.scope) continue;
      try {
        const other = await store.getIdentity(tenantId, record.identity);
        if (other && other.dkimTokens.length > 0) tokensByScope[scope] = other.dkimTokens;
        else
          unavailableScopes.push({
            scope,
            reason: `tenant ${tenantId} has not added ${record.identity} in the ${scope} scope: run \`tenant-mail identity add-domain --scope ${scope} --tenant ${tenantId} --domain ${record.identity}\`, then publish its 3 records too.`,
          });
      } catch (error) {
        unavailableScopes.push({
          scope,
          reason: `could not read the ${scope} scope's identities (${error instanceof Error ? error.message : String(error)}): run \`tenant-mail identity dns --scope ${scope} --tenant ${tenantId}\` with that scope's AWS credentials.`,
        });
      }
    }
    return this.guideFor(record.domain, tokensByScope, unavailableScopes);
  }

  /**
   * The tenant's domain identity record: `domain` when given, else its only domain identity.
   * @throws IdentityNotFoundError
   */
  async domainIdentity(tenantId: string, domain?: string): Promise<IdentityRecord> {
    const records = await this.deps.identities.listIdentities(tenantId);
    const wanted = domain === undefined ? undefined : normaliseDomain(domain);
    const record = records.find(
      (r) => r.type === 'domain' && (wanted === undefined || r.identity === wanted),
    );
    if (!record) throw new IdentityNotFoundError(wanted ?? `(any domain identity of tenant ${tenantId})`);
    return record;
  }

  private checkNotReserved(name: IdentityName): void {
    for (const raw of this.deps.reservedDomains ?? []) {
      const reserved = normaliseDomain(raw);
      if (isSameOrSubdomain(name.domain, reserved)) throw new ReservedIdentityError(name.identity, reserved);
    }
  }

  private async rollback(tenantId: string, identity: string, cause: unknown): Promise<void> {
    try {
      await this.deps.identities.deleteIdentity(tenantId, identity);
    } catch (rollbackError) {
      throw new IdentityRollbackError(identity, tenantId, {
        cause: new AggregateError([cause, rollbackError]),
      });
    }
  }

  /** Creates the SES tenant if needed, associates the identity and configuration set, saves the name on the tenant. */
  private async ensureSesTenant(tenant: Tenant, identity: string): Promise<string> {
    const sesTenantName = sesTenantNameFor(tenant.tenantId, this.deps.scope);
    await this.deps.ses.ensureTenant(sesTenantName);
    await this.deps.ses.associateConfigurationSet(sesTenantName, this.deps.configurationSetName);
    await this.deps.ses.associateIdentity(sesTenantName, identity);
    // Re-read: the tenant may have changed since the start of the use case.
    const latest = (await this.deps.tenants.get(tenant.tenantId)) ?? tenant;
    const environments = { ...latest.environments };
    let changed = false;
    for (const environment of SCOPE_ENVIRONMENTS[this.deps.scope]) {
      const settings = environments[environment];
      if (settings && settings.sesTenantName !== sesTenantName) {
        environments[environment] = { ...settings, sesTenantName };
        changed = true;
      }
    }
    if (changed) await this.deps.tenants.put({ ...latest, environments });
    return sesTenantName;
  }

  private async guideFor(
    domain: string,
    tokensByScope: Partial<Record<Scope, readonly string[]>>,
    unavailableScopes: readonly { scope: Scope; reason: string }[] = [],
  ): Promise<DnsGuide> {
    const txt = await this.readTxt(domain);
    return dnsGuide({ domain, tokensByScope, unavailableScopes, ...(txt ? { txt } : {}) });
  }

  private async readTxt(domain: string): Promise<{ root: string[]; dmarc: string[] } | undefined> {
    const lookup = this.deps.txtLookup;
    if (!lookup) return undefined;
    const read = async (name: string): Promise<string[]> => {
      try {
        return (await lookup.resolveTxt(name)).map((chunks) => chunks.join(''));
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (code === 'ENODATA' || code === 'ENOTFOUND' || code === 'NXDOMAIN') return [];
        throw error;
      }
    };
    try {
      return { root: await read(domain), dmarc: await read(dmarcRecordName(domain)) };
    } catch {
      return undefined;
    }
  }

  private async refreshRecords(
    records: readonly IdentityRecord[],
    options: RefreshOptions,
  ): Promise<RefreshOutcome[]> {
    const due = records.filter((r) => options.includeVerified || r.status !== VERIFIED);
    const outcomes: RefreshOutcome[] = new Array(due.length);
    let next = 0;
    const worker = async () => {
      while (next < due.length) {
        const index = next++;
        const record = due[index] as IdentityRecord;
        try {
          outcomes[index] = await this.refreshRecord(record);
        } catch (error) {
          outcomes[index] = {
            tenantId: record.tenantId,
            identity: record.identity,
            type: record.type,
            previous: record.status,
            changed: false,
            error: error instanceof Error ? error.message : String(error),
          };
        }
      }
    };
    const workers = Math.max(1, Math.min(this.deps.refreshConcurrency ?? 4, due.length));
    await Promise.all(Array.from({ length: workers }, worker));
    return outcomes;
  }

  private async refreshRecord(record: IdentityRecord): Promise<RefreshOutcome> {
    const state = await this.deps.ses.getIdentity(record.identity);
    const base = {
      tenantId: record.tenantId,
      identity: record.identity,
      type: record.type,
      previous: record.status,
    };
    if (!state) {
      await this.deps.identities.updateStatus(record.tenantId, record.identity, { status: 'NOT_STARTED' });
      return { ...base, status: 'NOT_STARTED', changed: record.status !== 'NOT_STARTED', missingInSes: true };
    }
    const status = statusFromSes(state, record.type);
    const tokens = state.dkimTokens.length > 0 ? { dkimTokens: state.dkimTokens } : {};
    await this.deps.identities.updateStatus(record.tenantId, record.identity, { status, ...tokens });
    return {
      ...base,
      status,
      ...(state.dkimStatus && record.type === 'domain' ? { dkimStatus: state.dkimStatus } : {}),
      changed: status !== record.status,
    };
  }
}
