import type { Scope } from '../scope';
import { adviseDmarc, type DmarcAdvice } from './dmarc-record';
import { type DnsRecord, dkimCnameRecords, dkimCnameRecordsForScopes, dmarcRecordName } from './dns-records';
import { type IdentityRecord, VERIFIED } from './identity';
import { normaliseDomain } from './identity-name';
import { adviseSpf, type SpfAdvice } from './spf-record';

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
