/** DMARC policy a receiver applies to mail that fails DMARC. */
export type DmarcPolicy = 'none' | 'quarantine' | 'reject';

export interface DmarcAdvice {
  /** `missing`: no DMARC record; `wrong`: several records or an unparseable one; `ok`: one valid record. */
  readonly status: 'ok' | 'missing' | 'wrong';
  readonly current: readonly string[];
  readonly policy?: DmarcPolicy;
  readonly subdomainPolicy?: DmarcPolicy;
  /** DKIM alignment mode: `r` (relaxed, the default) or `s` (strict). */
  readonly dkimAlignment?: 'r' | 's';
  readonly spfAlignment?: 'r' | 's';
  readonly percent?: number;
  readonly reportUris: readonly string[];
  /** A record to publish when there is none or it is broken; a starting point in monitoring mode. */
  readonly recommended?: string;
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
}

const POLICIES: readonly string[] = ['none', 'quarantine', 'reject'];
const isPolicy = (value: string | undefined): value is DmarcPolicy =>
  value !== undefined && POLICIES.includes(value);

/** Parses `k=v; k=v` DMARC tags; tag names lower-cased. */
export function parseDmarcTags(record: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of record.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    if (key !== '' && !tags.has(key)) tags.set(key, part.slice(eq + 1).trim());
  }
  return tags;
}

/**
 * Reads the TXT records at `_dmarc.<domain>` and reports presence, policy and alignment modes (RFC 7489).
 * Warns when the policy only monitors (`p=none`) and when strict DKIM alignment would make mail from
 * subdomains (signed by the parent domain identity) fail DMARC.
 * @param options.sendsFromSubdomains whether the tenant sends from subdomains of its domain identity.
 */
export function adviseDmarc(
  domain: string,
  txtRecords: readonly string[],
  options: { sendsFromSubdomains?: boolean } = {},
): DmarcAdvice {
  const current = txtRecords.map((t) => t.trim()).filter((t) => /^v\s*=\s*DMARC1\s*(;|$)/i.test(t));
  const recommended = `v=DMARC1; p=none; rua=mailto:dmarc-reports@${domain}`;
  if (current.length === 0) {
    return {
      status: 'missing',
      current,
      reportUris: [],
      recommended,
      problems: [`No DMARC record at _dmarc.${domain}.`],
      warnings: [],
    };
  }
  if (current.length > 1) {
    return {
      status: 'wrong',
      current,
      reportUris: [],
      recommended: current[0],
      problems: [
        `_dmarc.${domain} has ${current.length} DMARC records; receivers then ignore DMARC. Keep exactly one.`,
      ],
      warnings: [],
    };
  }
  const tags = parseDmarcTags(current[0] ?? '');
  const problems: string[] = [];
  const warnings: string[] = [];
  const p = tags.get('p')?.toLowerCase();
  const sp = tags.get('sp')?.toLowerCase();
  if (!isPolicy(p))
    problems.push(
      `The DMARC record needs "p=none", "p=quarantine" or "p=reject" (found ${p === undefined ? 'no p tag' : `"p=${p}"`}).`,
    );
  const adkim = tags.get('adkim')?.toLowerCase();
  const aspf = tags.get('aspf')?.toLowerCase();
  const dkimAlignment = adkim === 's' ? 's' : 'r';
  const spfAlignment = aspf === 's' ? 's' : 'r';
  const pct = tags.get('pct');
  const percent = pct === undefined ? undefined : Number(pct);
  if (percent !== undefined && (!Number.isInteger(percent) || percent < 0 || percent > 100)) {
    problems.push(`"pct=${pct}" must be a whole number from 0 to 100.`);
  }
  if (p === 'none') {
    warnings.push(
      'The policy is "p=none": receivers only report failures. Move to quarantine or reject once reports are clean.',
    );
  }
  if (dkimAlignment === 's' && options.sendsFromSubdomains) {
    warnings.push(
      '"adkim=s" (strict) fails DMARC for mail from subdomains signed by the parent domain; use relaxed alignment (remove adkim or set adkim=r).',
    );
  }
  const reportUris = (tags.get('rua') ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  return {
    status: problems.length > 0 ? 'wrong' : 'ok',
    current,
    ...(isPolicy(p) ? { policy: p } : {}),
    ...(isPolicy(sp) ? { subdomainPolicy: sp } : {}),
    dkimAlignment,
    spfAlignment,
    ...(percent !== undefined && Number.isFinite(percent) ? { percent } : {}),
    reportUris,
    ...(problems.length > 0 ? { recommended } : {}),
    problems,
    warnings,
  };
}
