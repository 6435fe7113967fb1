import {
  type IdentityName,
  type IdentityType,
  MAX_DOMAIN_IDENTITIES,
  MAX_EMAIL_IDENTITIES,
} from './identity';
import {
  IdentityAlreadyExistsError,
  IdentityDomainConflictError,
  IdentityLimitExceededError,
} from './identity-errors';
import { parseIdentity } from './identity-name';

/**
 * Checks the source document's per-tenant rules for adding `candidate` to a tenant's `existing` identities:
 * at most {@link MAX_DOMAIN_IDENTITIES} domain identity, at most {@link MAX_EMAIL_IDENTITIES} email identities,
 * and no domain identity and email identity of the same domain (compared after normalisation).
 * The store enforces the same rules atomically; this pure check gives the CLI an early, identical answer.
 * @returns the normalised candidate.
 * @throws IdentityAlreadyExistsError, IdentityLimitExceededError, IdentityDomainConflictError, InvalidIdentityError
 */
export function checkIdentityLimits(
  existing: readonly { readonly identity: string; readonly type?: IdentityType }[],
  candidate: string,
): IdentityName {
  const next = parseIdentity(candidate);
  const current = existing.map((item) => parseIdentity(item.identity));
  if (current.some((item) => item.identity === next.identity && item.type === next.type)) {
    throw new IdentityAlreadyExistsError(next.identity);
  }
  const ofType = current.filter((item) => item.type === next.type).length;
  const limit = next.type === 'domain' ? MAX_DOMAIN_IDENTITIES : MAX_EMAIL_IDENTITIES;
  if (ofType >= limit) throw new IdentityLimitExceededError(next.type, limit);
  if (current.some((item) => item.type !== next.type && item.domain === next.domain)) {
    throw new IdentityDomainConflictError(next.domain, next.type);
  }
  return next;
}
