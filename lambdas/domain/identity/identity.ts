/**
 * Vocabulary of the advanced sending method's identities: what an identity is, its verification status, and
 * the store port the use cases talk to (the DynamoDB adapter implements it).
 */

/** A domain identity authorises the domain and every subdomain; an email identity exactly one address. */
export const IDENTITY_TYPES = ['domain', 'email'] as const;
export type IdentityType = (typeof IDENTITY_TYPES)[number];

/**
 * Verification status, spelled as SES v2 reports it (`GetEmailIdentity.VerificationStatus`) so the status
 * refresh stores what SES says without translation. Only `SUCCESS` authorises a From address.
 */
export const VERIFICATION_STATUSES = [
  'NOT_STARTED',
  'PENDING',
  'SUCCESS',
  'FAILED',
  'TEMPORARY_FAILURE',
] as const;
export type VerificationStatus = (typeof VERIFICATION_STATUSES)[number];

/** The status that authorises sending. */
export const VERIFIED: VerificationStatus = 'SUCCESS';

/** At most this many domain identities per tenant (source document rule). */
export const MAX_DOMAIN_IDENTITIES = 1;
/** At most this many email identities per tenant (source document rule). */
export const MAX_EMAIL_IDENTITIES = 3;

/** A normalised domain identity: lower-case ASCII (punycode), no trailing dot. */
export interface DomainIdentityName {
  readonly type: 'domain';
  /** The identity as SES knows it: the domain itself. */
  readonly identity: string;
  readonly domain: string;
}

/** A normalised email identity: lower-cased address whose domain is punycode without a trailing dot. */
export interface EmailIdentityName {
  readonly type: 'email';
  /** The identity as SES knows it: the full address. */
  readonly identity: string;
  readonly localPart: string;
  readonly domain: string;
}

export type IdentityName = DomainIdentityName | EmailIdentityName;

/** What the From authoriser needs to know about each of a tenant's identities. */
export interface IdentityStatusView {
  readonly identity: string;
  readonly type: IdentityType;
  readonly status: VerificationStatus;
}

/** A tenant's identity as the store keeps it. */
export interface IdentityRecord extends IdentityStatusView {
  readonly tenantId: string;
  /** The domain of the identity (the identity itself for a domain identity). */
  readonly domain: string;
  /** Easy DKIM tokens SES returned for this scope; empty until the identity is created in SES. */
  readonly dkimTokens: readonly string[];
  /** ISO-8601 time the identity was added. */
  readonly createdAt: string;
  /** ISO-8601 time the status was last read from SES. */
  readonly statusCheckedAt?: string;
}

/** New verification facts read from SES. */
export interface IdentityStatusUpdate {
  readonly status: VerificationStatus;
  /** Replaces the stored tokens when given. */
  readonly dkimTokens?: readonly string[];
  /** @default now */
  readonly checkedAt?: Date;
}

/** Per-tenant identity counts the limits are enforced on. */
export interface IdentityCounts {
  readonly domainCount: number;
  readonly emailCount: number;
}

/**
 * The identities of one verification scope. `addIdentity` enforces every limit atomically: two concurrent
 * calls can never give a tenant two domain identities, four email identities, or a domain identity and an
 * email identity of the same domain, and an identity belongs to at most one tenant per scope.
 */
export interface IdentityStore {
  addIdentity(input: {
    tenantId: string;
    identity: string;
    status?: VerificationStatus;
    dkimTokens?: readonly string[];
    now?: Date;
  }): Promise<IdentityRecord>;
  getIdentity(tenantId: string, identity: string): Promise<IdentityRecord | undefined>;
  listIdentities(tenantId: string): Promise<IdentityRecord[]>;
  updateStatus(tenantId: string, identity: string, update: IdentityStatusUpdate): Promise<IdentityRecord>;
  deleteIdentity(tenantId: string, identity: string): Promise<void>;
  /** The tenant that holds `identity` in this scope, if any. */
  findOwner(identity: string): Promise<string | undefined>;
  getCounts(tenantId: string): Promise<IdentityCounts>;
}
