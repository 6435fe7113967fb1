import { PermanentError, TransientError } from '../errors';
import type { IdentityType, VerificationStatus } from './identity';
import type { RefreshOutcome } from './identity-ports';

/**
 * Identity errors. Each carries a stable `code` (for the CLI's exit status and JSON output, and for the
 * message record's `reason`) and a message a tenant can act on.
 */

/** The text is not a syntactically valid domain or email address. */
export class InvalidIdentityError extends PermanentError {
  constructor(
    readonly input: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super('INVALID_IDENTITY', `"${input}" is not a valid identity: ${detail}`, options);
    this.name = 'InvalidIdentityError';
  }
}

export type IdentityLimitCode = 'DOMAIN_IDENTITY_LIMIT' | 'EMAIL_IDENTITY_LIMIT';

/** The tenant already has the maximum number of identities of this type. */
export class IdentityLimitExceededError extends PermanentError {
  constructor(
    readonly identityType: IdentityType,
    readonly limit: number,
    options?: ErrorOptions,
  ) {
    const what = identityType === 'domain' ? 'domain identity' : 'email identities';
    super(
      identityType === 'domain' ? 'DOMAIN_IDENTITY_LIMIT' : 'EMAIL_IDENTITY_LIMIT',
      `A tenant can have at most ${limit} ${what}; delete one before adding another.`,
      options,
    );
    this.name = 'IdentityLimitExceededError';
  }
}

/** A domain identity and an email identity of the same domain cannot both exist for a tenant. */
export class IdentityDomainConflictError extends PermanentError {
  constructor(
    readonly domain: string,
    readonly candidateType: IdentityType,
    options?: ErrorOptions,
  ) {
    super(
      'IDENTITY_DOMAIN_CONFLICT',
      candidateType === 'domain'
        ? `The tenant has an email identity in ${domain}; a domain identity and an email identity cannot share a domain. Delete the email identity first (the domain identity will authorise that address too).`
        : `The tenant has the domain identity ${domain}, which already authorises every address in it; an email identity of the same domain is not allowed.`,
      options,
    );
    this.name = 'IdentityDomainConflictError';
  }
}

/** The tenant already has this identity. */
export class IdentityAlreadyExistsError extends PermanentError {
  constructor(
    readonly identity: string,
    options?: ErrorOptions,
  ) {
    super('IDENTITY_EXISTS', `The tenant already has the identity ${identity}.`, options);
    this.name = 'IdentityAlreadyExistsError';
  }
}

/** Another tenant holds this identity in this verification scope. */
/**
 * The identity lies inside a domain another tenant holds as a domain identity (verified or pending) in this
 * scope. The message names the rule, never the other tenant.
 */
export class IdentityInsideClaimedDomainError extends PermanentError {
  constructor(
    readonly identity: string,
    readonly domain: string,
    options?: ErrorOptions,
  ) {
    super(
      'IDENTITY_INSIDE_CLAIMED_DOMAIN',
      `The identity ${identity} is inside ${domain}, a domain another tenant holds in this scope: a domain identity covers its subdomains and addresses for one tenant only.`,
      options,
    );
    this.name = 'IdentityInsideClaimedDomainError';
  }
}

export class IdentityClaimedError extends PermanentError {
  constructor(
    readonly identity: string,
    options?: ErrorOptions,
  ) {
    super(
      'IDENTITY_CLAIMED',
      `The identity ${identity} belongs to another tenant in this scope; an identity can belong to one tenant only.`,
      options,
    );
    this.name = 'IdentityClaimedError';
  }
}

export class IdentityNotFoundError extends PermanentError {
  constructor(
    readonly identity: string,
    options?: ErrorOptions,
  ) {
    super('IDENTITY_NOT_FOUND', `The tenant has no identity ${identity}.`, options);
    this.name = 'IdentityNotFoundError';
  }
}

/** Concurrent writes kept cancelling the transaction; retrying later is safe. */
export class IdentityStoreConflictError extends TransientError {
  constructor(options?: ErrorOptions) {
    super('IDENTITY_STORE_CONFLICT', 'Concurrent identity changes for this tenant; try again.', options);
    this.name = 'IdentityStoreConflictError';
  }
}

/** The From header does not hold one valid address. */
export class InvalidFromAddressError extends PermanentError {
  constructor(
    readonly from: string,
    options?: ErrorOptions,
  ) {
    super('INVALID_FROM_ADDRESS', `The From address "${from}" is not a valid email address.`, options);
    this.name = 'InvalidFromAddressError';
  }
}

/**
 * Which authorisation rule rejected a From address:
 * - `no-identity`: no identity of the tenant covers the address or its domain;
 * - `email-identity-mismatch`: the tenant has email identities in that domain, but not this address;
 * - `identity-not-verified`: an identity covers the address but its verification has not succeeded.
 */
export type FromRejectionRule = 'no-identity' | 'email-identity-mismatch' | 'identity-not-verified';

/** The From address is not covered by a verified identity of the tenant: the message is rejected, never sent. */
export class UnverifiedFromAddressError extends PermanentError {
  constructor(
    readonly from: string,
    readonly rule: FromRejectionRule,
    message: string,
    /** The identity that almost authorised the address, when there is one. */
    readonly identity?: {
      readonly identity: string;
      readonly type: IdentityType;
      readonly status: VerificationStatus;
    },
    options?: ErrorOptions,
  ) {
    super('UNVERIFIED_FROM', message, options);
    this.name = 'UnverifiedFromAddressError';
  }
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
