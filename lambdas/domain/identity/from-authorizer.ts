import { type IdentityName, type IdentityStatusView, VERIFIED } from './identity';
import { InvalidFromAddressError, InvalidIdentityError, UnverifiedFromAddressError } from './identity-errors';
import { isSameOrSubdomain, parseFromAddress, parseIdentity } from './identity-name';

/** Every message SES sends carries a DKIM signature for this domain. */
export const SES_DKIM_DOMAIN = 'amazonses.com';

/**
 * DMARC readiness of a send: which DKIM signatures the message will carry and whether one aligns with From.
 * - `strict`: the tenant's signing domain equals the From domain (aligns under `adkim=s` and `adkim=r`);
 * - `relaxed`: From is a subdomain of the signing domain, so both share the organisational domain
 *   (aligns under the default `adkim=r` only);
 * - `none`: only the `amazonses.com` signature; DMARC can pass only through SPF on a custom MAIL FROM.
 */
export interface DkimReadiness {
  /** Domains that will sign the message, the tenant's first when there is one. */
  readonly signingDomains: readonly string[];
  /** The tenant's DKIM signing domain (a verified domain identity covering From). */
  readonly tenantDomain?: string;
  readonly alignment: 'strict' | 'relaxed' | 'none';
  readonly aligned: boolean;
}

export interface FromAuthorization {
  /** The normalised From address (lower-cased, punycode domain). */
  readonly from: string;
  readonly fromDomain: string;
  /** The identity that authorises the address (an exact email identity is preferred over a domain). */
  readonly identity: string;
  readonly identityType: IdentityName['type'];
  readonly dkim: DkimReadiness;
}

interface Candidate {
  readonly view: IdentityStatusView;
  readonly name: IdentityName;
}

const describe = (view: IdentityStatusView): string =>
  `${view.type} identity ${view.identity} (status ${view.status})`;

/**
 * Decides whether a tenant may send from `from` with the advanced method, and with which DKIM signatures.
 * Rules (source document): an email identity authorises exactly its address; a domain identity authorises
 * its domain and every subdomain, on a label boundary (`example.com` covers `en.example.com`, not
 * `evilexample.com` nor `example.com.evil.test`); only verified (`SUCCESS`) identities count. Addresses
 * and identities are compared after normalisation (case, IDN → punycode, trailing dot).
 * @param from a bare address or a `Name <address>` header value.
 * @param identities the tenant's identities in this scope; malformed entries are ignored.
 * @throws InvalidFromAddressError when `from` is not an address.
 * @throws UnverifiedFromAddressError naming the rule that failed.
 */
export function authorizeFrom(from: string, identities: readonly IdentityStatusView[]): FromAuthorization {
  let address: ReturnType<typeof parseFromAddress>;
  try {
    address = parseFromAddress(from);
  } catch (error) {
    throw new InvalidFromAddressError(from, { cause: error });
  }
  const candidates: Candidate[] = [];
  for (const view of identities) {
    try {
      candidates.push({ view, name: parseIdentity(view.identity) });
    } catch (error) {
      if (!(error instanceof InvalidIdentityError)) throw error;
    }
  }

  const emailMatches = candidates.filter(
    (c) => c.name.type === 'email' && c.view.type === 'email' && c.name.identity === address.identity,
  );
  const domainMatches = candidates
    .filter(
      (c) =>
        c.name.type === 'domain' &&
        c.view.type === 'domain' &&
        isSameOrSubdomain(address.domain, c.name.domain),
    )
    // The most specific domain first.
    .sort((a, b) => b.name.domain.length - a.name.domain.length);
  const verifiedEmail = emailMatches.find((c) => c.view.status === VERIFIED);
  const verifiedDomain = domainMatches.find((c) => c.view.status === VERIFIED);

  const authorising = verifiedEmail ?? verifiedDomain;
  if (authorising) {
    return {
      from: address.identity,
      fromDomain: address.domain,
      identity: authorising.name.identity,
      identityType: authorising.name.type,
      dkim: dkimReadiness(address.domain, verifiedDomain?.name.domain),
    };
  }

  const pending = emailMatches[0] ?? domainMatches[0];
  if (pending) {
    throw new UnverifiedFromAddressError(
      address.identity,
      'identity-not-verified',
      `From ${address.identity} is covered by the ${describe(pending.view)}, which is not verified yet; only verified identities may send. ${
        pending.view.type === 'domain'
          ? 'Publish its DKIM CNAME records (see `identity dns`) and refresh its status.'
          : 'Click the link SES emailed to that address and refresh its status.'
      }`,
      pending.view,
    );
  }
  const sameDomainEmails = candidates.filter(
    (c) => c.name.type === 'email' && c.name.domain === address.domain,
  );
  const firstSameDomain = sameDomainEmails[0];
  if (firstSameDomain) {
    throw new UnverifiedFromAddressError(
      address.identity,
      'email-identity-mismatch',
      `From ${address.identity} is not authorised: an email identity authorises only its exact address, and the tenant's email identities in ${address.domain} are ${sameDomainEmails
        .map((c) => c.name.identity)
        .join(', ')}. Send from one of them, add this address as an email identity, or verify the domain.`,
      firstSameDomain.view,
    );
  }
  throw new UnverifiedFromAddressError(
    address.identity,
    'no-identity',
    `From ${address.identity} is not authorised: no identity of the tenant covers ${address.domain}${
      candidates.length === 0
        ? ' (the tenant has no identities in this scope)'
        : ` (the tenant has ${candidates.map((c) => c.name.identity).join(', ')})`
    }. Add and verify the domain or this address as an identity.`,
  );
}

/**
 * DKIM signatures and DMARC alignment for a From domain, given the verified domain identity (if any) that
 * covers it. SES signs with the tenant's domain only when such an identity exists, and always with amazonses.com.
 */
export function dkimReadiness(fromDomain: string, tenantDomain: string | undefined): DkimReadiness {
  if (tenantDomain === undefined || !isSameOrSubdomain(fromDomain, tenantDomain)) {
    return { signingDomains: [SES_DKIM_DOMAIN], alignment: 'none', aligned: false };
  }
  return {
    signingDomains: [tenantDomain, SES_DKIM_DOMAIN],
    tenantDomain,
    // A covered From shares the identity's organisational domain (the identity is at or below it), so
    // relaxed alignment holds without a public-suffix lookup.
    alignment: fromDomain === tenantDomain ? 'strict' : 'relaxed',
    aligned: true,
  };
}
