import type { Scope } from '../scope';
import type { Tenant } from '../tenant';
import type { DnsGuide } from './dns-guide';
import type { IdentityRecord, IdentityStore, IdentityType, VerificationStatus } from './identity';

/**
 * The ports of the identity use cases (`identity-service.ts`): SES v2 identities, the tenants, DNS TXT look-ups,
 * and the results the service returns.
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
