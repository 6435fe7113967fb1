import { createHash } from 'node:crypto';
import { PermanentError, TransientError } from '../errors';
import { SCOPE_ENVIRONMENTS, type Scope } from '../scope';
import { type Tenant, UnknownTenantError } from '../tenant';
import { adviseDmarc, type DmarcAdvice } from './dmarc-record';
import { type DnsRecord, dkimCnameRecords, dkimCnameRecordsForScopes, dmarcRecordName } from './dns-records';
import {
  type IdentityName,
  type IdentityRecord,
  type IdentityStore,
  type IdentityType,
  VERIFICATION_STATUSES,
  VERIFIED,
  type VerificationStatus,
} from './identity';
import { IdentityAlreadyExistsError, IdentityNotFoundError } from './identity-errors';
import { isSameOrSubdomain, normaliseDomain, parseIdentity } from './identity-name';
import { adviseSpf, type SpfAdvice } from './spf-record';

/**
 * The identity use cases of the advanced method: add (reserve in the store first, then SES), refresh status
 * from SES, delete, and the DNS records a tenant publishes. Pure orchestration over ports; the SES v2 adapter
 * is `lambdas/adapters/ses-identity-gateway.ts`, the store `lambdas/adapters/identity-store.ts`.
 */

/** What SES reports about one identity (`GetEmailIdentity` / `CreateEmailIdentity`), before interpretation. */
export interface SesIdentityState {
  /** `VerifiedForSendingStatus`: SES will send from this identity. */
  readonly verifiedForSending: boolean;
  /** `VerificationStatus` (GetEmailIdentity only). */
  readonly verificationStatus?: VerificationStatus;
  /** `DkimAttributes.Status`. */
  readonly dkimStatus?: VerificationStatus;
  /** `DkimAttributes.Tokens` (Easy DKIM, domain identities). */
  readonly dkimTokens: readonly string[];
}

/** The SES v2 operations the use cases need (port; one scope's SES account and region). */
export interface SesIdentityGateway {
  /** CreateEmailIdentity. @throws SesIdentityExistsError when SES already has it; SesUnavailableError; SesRequestRejectedError */
  createIdentity(identity: string): Promise<SesIdentityState>;
  /** GetEmailIdentity; undefined when SES does not have it. */
  getIdentity(identity: string): Promise<SesIdentityState | undefined>;
  /** DeleteEmailIdentity; succeeds when SES does not have it. */
  deleteIdentity(identity: string): Promise<void>;
  /** GetTenant, then CreateTenant when absent; safe to repeat. */
  ensureTenant(tenantName: string): Promise<{ readonly created: boolean }>;
  /** CreateTenantResourceAssociation for the identity; safe to repeat. */
  associateIdentity(tenantName: string, identity: string): Promise<void>;
  /** CreateTenantResourceAssociation for the configuration set; safe to repeat. */
  associateConfigurationSet(tenantName: string, configurationSetName: string): Promise<void>;
  /** DeleteTenantResourceAssociation for the identity; succeeds when there is none. */
  dissociateIdentity(tenantName: string, identity: string): Promise<void>;
}

/** The tenants table operations the use cases need; `DynamoTenantStore` (with `cacheTtlSeconds: 0`) implements it. */
export interface TenantRepository {
  get(tenantId: string): Promise<Tenant | undefined>;
  put(tenant: Tenant): Promise<Tenant>;
  list(): Promise<Tenant[]>;
}

/** Reads TXT records (`node:dns/promises` `Resolver#resolveTxt` satisfies it). */
export interface TxtLookup {
  resolveTxt(name: string): Promise<string[][]>;
}

/** SES already has the identity (in this account and region). */
export class SesIdentityExistsError extends PermanentError {
  constructor(
    readonly identity: string,
    options?: ErrorOptions,
  ) {
    super('SES_IDENTITY_EXISTS', `SES already has the identity ${identity}.`, options);
    this.name = 'SesIdentityExistsError';
  }
}

/** SES could not be reached, throttled, or failed on its side: retrying later can succeed. */
export class SesUnavailableError extends TransientError {
  constructor(action: string, detail: string, options?: ErrorOptions) {
    super(
      'SES_UNAVAILABLE',
      `SES ${action} failed: ${detail}. Nothing was left half-done; try again.`,
      options,
    );
    this.name = 'SesUnavailableError';
  }
}

/** SES refused the request (bad input, account limit, missing resource). */
export class SesRequestRejectedError extends PermanentError {
  constructor(
    action: string,
    readonly sesCode: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super('SES_REJECTED', `SES ${action} was refused (${sesCode}): ${detail}`, options);
    this.name = 'SesRequestRejectedError';
  }
}

/** The identity is the platform's own sending domain or under it: a tenant can never own it. */
export class ReservedIdentityError extends PermanentError {
  constructor(
    readonly identity: string,
    readonly reservedDomain: string,
    options?: ErrorOptions,
  ) {
    super(
      'IDENTITY_RESERVED',
      `${identity} is in the platform's sending domain ${reservedDomain}, which the default method uses; a tenant cannot add it as its own identity.`,
      options,
    );
    this.name = 'ReservedIdentityError';
  }
}

/** SES failed and the reservation could not be undone either: the operator must delete it. */
export class IdentityRollbackError extends TransientError {
  constructor(
    readonly identity: string,
    tenantId: string,
    options?: ErrorOptions,
  ) {
    super(
      'IDENTITY_ROLLBACK_FAILED',
      `SES did not create ${identity} and its reservation for tenant ${tenantId} could not be removed; run \`tenant-mail identity delete --tenant ${tenantId} --identity ${identity}\` before adding it again.`,
      options,
    );
    this.name = 'IdentityRollbackError';
  }
}

/** Some identities could not be refreshed (the others were); the scheduled run fails so an alarm sees it. */
export class RefreshIncompleteError extends TransientError {
  constructor(
    readonly failures: readonly RefreshOutcome[],
    options?: ErrorOptions,
  ) {
    super(
      'REFRESH_INCOMPLETE',
      `${failures.length} identit${failures.length === 1 ? 'y' : 'ies'} could not be refreshed: ${failures
        .map((f) => `${f.tenantId}/${f.identity}: ${f.error ?? 'unknown error'}`)
        .join('; ')}`,
      options,
    );
    this.name = 'RefreshIncompleteError';
  }
}

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

/** The records a tenant publishes for a domain identity, with SPF and DMARC advice. */
export interface DnsGuide {
  readonly domain: string;
  /** Easy DKIM CNAMEs, labelled by scope: 3 per scope whose tokens are known. */
  readonly dkim: readonly DnsRecord[];
  /** Scopes asked for whose tokens could not be read, with what to do instead. */
  readonly unavailableScopes: readonly { readonly scope: Scope; readonly reason: string }[];
  /** The one SPF record to publish at the domain (the tenant's record with include:amazonses.com merged in). */
  readonly spf: SpfAdvice;
  readonly dmarc: DmarcAdvice & { readonly name: string };
  /** True when SPF and DMARC advice were built from the records published now; false: from nothing. */
  readonly basedOnPublishedRecords: boolean;
  readonly notes: readonly string[];
}

/**
 * Builds the DNS guide of a domain: DKIM records for the given scopes' tokens, SPF merged into `txt.root`
 * (the TXT records at the domain) and DMARC from `txt.dmarc` (those at `_dmarc.<domain>`). Without `txt`, the
 * advice is what to publish when the domain has no SPF or DMARC record, with a note to merge instead.
 */
export function dnsGuide(input: {
  domain: string;
  tokensByScope: Partial<Record<Scope, readonly string[]>>;
  unavailableScopes?: readonly { readonly scope: Scope; readonly reason: string }[];
  txt?: { readonly root: readonly string[]; readonly dmarc: readonly string[] };
}): DnsGuide {
  const domain = normaliseDomain(input.domain);
  const notes: string[] = [];
  if (!input.txt) {
    notes.push(
      `The published TXT records of ${domain} could not be read: if it already has an SPF record, add include:amazonses.com to it instead of publishing a second one (run \`identity doctor\` to check).`,
    );
  }
  const spf = adviseSpf(input.txt?.root ?? []);
  const dmarc = adviseDmarc(domain, input.txt?.dmarc ?? [], { sendsFromSubdomains: true });
  return {
    domain,
    dkim: dkimCnameRecordsForScopes(domain, input.tokensByScope),
    unavailableScopes: input.unavailableScopes ?? [],
    spf,
    dmarc: { ...dmarc, name: dmarcRecordName(domain) },
    basedOnPublishedRecords: input.txt !== undefined,
    notes,
  };
}

/** What `addIdentity` did and what the tenant does next. */
export interface AddIdentityResult {
  readonly identity: IdentityRecord;
  /**
   * - `created`: new in the store and in SES;
   * - `adopted`: new in the store, and SES already had it (in this account), so its state was taken over;
   * - `resumed`: the tenant already had it; SES, the SES tenant and associations were checked and completed.
   */
  readonly outcome: 'created' | 'adopted' | 'resumed';
  readonly sesTenantName: string;
  /** Domain identities: the records to publish. */
  readonly dns?: DnsGuide;
  readonly nextSteps: readonly string[];
}

/** One identity's refresh. */
export interface RefreshOutcome {
  readonly tenantId: string;
  readonly identity: string;
  readonly type?: IdentityType;
  readonly previous?: VerificationStatus;
  readonly status?: VerificationStatus;
  readonly dkimStatus?: VerificationStatus;
  readonly changed: boolean;
  /** SES has no such identity (deleted outside tenant-mail): stored as NOT_STARTED; re-add it to recreate it. */
  readonly missingInSes?: boolean;
  /** Why it could not be refreshed. */
  readonly error?: string;
}

export interface RefreshOptions {
  /** Also re-check `SUCCESS` identities (SES revokes verification when DKIM records disappear). @default false */
  readonly includeVerified?: boolean;
}

export interface IdentityServiceDeps {
  readonly scope: Scope;
  readonly identities: IdentityStore;
  readonly ses: SesIdentityGateway;
  readonly tenants: TenantRepository;
  /** The scope's configuration set, associated with every SES tenant (`tenant-mail-<scope>`). */
  readonly configurationSetName: string;
  /** The platform's own sending domains: neither they nor their subdomains can become tenant identities. */
  readonly reservedDomains?: readonly string[];
  /** For SPF/DMARC advice that merges with what is published; without it the advice starts from nothing. */
  readonly txtLookup?: TxtLookup;
  /** Identities refreshed at once. @default 4 */
  readonly refreshConcurrency?: number;
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

/** What the tenant does next for an identity, in words. */
export function nextSteps(record: IdentityRecord, scope: Scope): string[] {
  if (record.status === VERIFIED)
    return [`${record.identity} is verified in the ${scope} scope; nothing to do.`];
  if (record.type === 'email') {
    return [
      `SES sent a verification email to ${record.identity}: its owner clicks the link in it (valid 24 hours).`,
      `Then run \`tenant-mail identity status --scope ${scope} --tenant ${record.tenantId} --refresh\`.`,
    ];
  }
  return [
    `Publish the 3 DKIM CNAME records below in the DNS of ${record.domain}; SES verifies the domain once they resolve (usually minutes, at most 72 hours).`,
    `Check them with \`tenant-mail identity doctor --scope ${scope} --tenant ${record.tenantId}\`, then \`tenant-mail identity status --scope ${scope} --tenant ${record.tenantId} --refresh\`.`,
  ];
}

/** The DKIM records of one scope for a domain identity record (empty for an email identity). */
export function dkimRecordsOf(record: IdentityRecord, scope: Scope): DnsRecord[] {
  return record.type === 'domain' ? dkimCnameRecords(record.domain, record.dkimTokens, scope) : [];
}
