import type { Scope } from '../scope';
import { InvalidIdentityError } from './identity-errors';
import { isSameOrSubdomain, normaliseDomain } from './identity-name';

/** What a DNS record is for, so the CLI can group and explain them. */
export type DnsRecordPurpose = 'dkim' | 'spf' | 'dmarc' | 'mail-from-mx' | 'mail-from-spf';

/** One record a tenant publishes. `value` is exactly what goes into the DNS provider's value field. */
export interface DnsRecord {
  readonly purpose: DnsRecordPurpose;
  readonly type: 'CNAME' | 'TXT' | 'MX';
  /** Fully-qualified name, no trailing dot. */
  readonly name: string;
  readonly value: string;
  /** MX only. */
  readonly priority?: number;
  /** The verification scope the record belongs to (DKIM records differ per scope). */
  readonly scope?: Scope;
}

/** Host SES publishes Easy DKIM public keys under. */
export const SES_DKIM_HOST = 'dkim.amazonses.com';
/** The SPF mechanism SES needs in the tenant's record. */
export const SES_SPF_INCLUDE = 'include:amazonses.com';
/** Priority of the custom MAIL FROM MX record SES documents. */
export const MAIL_FROM_MX_PRIORITY = 10;

const TOKEN = /^[a-z0-9]{16,64}$/;

/**
 * The three Easy DKIM CNAME records of a domain identity in one scope:
 * `<token>._domainkey.<domain> CNAME <token>.dkim.amazonses.com`.
 * @throws InvalidIdentityError for a malformed domain or token.
 */
export function dkimCnameRecords(domain: string, tokens: readonly string[], scope?: Scope): DnsRecord[] {
  const normalised = normaliseDomain(domain);
  return tokens.map((raw) => {
    const token = raw.trim().toLowerCase();
    if (!TOKEN.test(token)) throw new InvalidIdentityError(raw, 'a DKIM token is 16–64 letters and digits');
    return {
      purpose: 'dkim',
      type: 'CNAME',
      name: `${token}._domainkey.${normalised}`,
      value: `${token}.${SES_DKIM_HOST}`,
      ...(scope ? { scope } : {}),
    } satisfies DnsRecord;
  });
}

/**
 * The DKIM records of a domain for several scopes, labelled by scope. A domain used in every environment
 * needs 6 records: 3 for `prod` (production, api-sandbox) and 3 for `dev` (developer-sandbox, central-sandbox),
 * because identities are verified separately in each scope's SES.
 */
export function dkimCnameRecordsForScopes(
  domain: string,
  tokensByScope: Partial<Record<Scope, readonly string[]>>,
): DnsRecord[] {
  return (Object.entries(tokensByScope) as [Scope, readonly string[] | undefined][]).flatMap(
    ([scope, tokens]) => (tokens ? dkimCnameRecords(domain, tokens, scope) : []),
  );
}

/**
 * Records for an optional custom MAIL FROM domain (a subdomain of the identity, e.g. `bounce.example.com`):
 * an MX to `feedback-smtp.<region>.amazonses.com` at priority 10 and an SPF record including amazonses.com.
 * With it, SPF aligns with the From domain and DMARC can pass on SPF as well as DKIM.
 * @throws InvalidIdentityError when the MAIL FROM domain is not a strict subdomain of the identity domain.
 */
export function mailFromRecords(input: {
  domain: string;
  mailFromDomain: string;
  region: string;
}): DnsRecord[] {
  const domain = normaliseDomain(input.domain);
  const mailFrom = normaliseDomain(input.mailFromDomain);
  if (mailFrom === domain || !isSameOrSubdomain(mailFrom, domain)) {
    throw new InvalidIdentityError(
      input.mailFromDomain,
      `a custom MAIL FROM domain must be a subdomain of ${domain}`,
    );
  }
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(input.region)) {
    throw new InvalidIdentityError(input.region, 'not an AWS region name such as eu-west-1');
  }
  return [
    {
      purpose: 'mail-from-mx',
      type: 'MX',
      name: mailFrom,
      value: `feedback-smtp.${input.region}.amazonses.com`,
      priority: MAIL_FROM_MX_PRIORITY,
    },
    { purpose: 'mail-from-spf', type: 'TXT', name: mailFrom, value: `v=spf1 ${SES_SPF_INCLUDE} ~all` },
  ];
}

/** The name DMARC policies live at. */
export const dmarcRecordName = (domain: string): string => `_dmarc.${normaliseDomain(domain)}`;

/** A record as one line of a zone file, e.g. for the CLI's plain output. */
export function formatDnsRecord(record: DnsRecord): string {
  const value =
    record.type === 'TXT'
      ? `"${record.value}"`
      : record.type === 'MX'
        ? `${record.priority ?? MAIL_FROM_MX_PRIORITY} ${record.value}.`
        : `${record.value}.`;
  return `${record.name}. ${record.type} ${value}`;
}
