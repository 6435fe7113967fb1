import { Resolver } from 'node:dns/promises';
import { adviseDmarc } from '../../domain/identity/dmarc-record';
import {
  type DnsRecord,
  type DnsRecordPurpose,
  dkimCnameRecords,
  dkimCnameRecordsForScopes,
  dmarcRecordName,
  MAIL_FROM_MX_PRIORITY,
  mailFromRecords,
} from '../../domain/identity/dns-records';
import { normaliseDomain } from '../../domain/identity/identity-name';
import { adviseSpf, isSpfRecord, MAX_SPF_LOOKUPS, spfLookupTerms } from '../../domain/identity/spf-record';
import type { Scope } from '../../domain/scope';

/** The three look-ups the doctor needs; `node:dns/promises` `Resolver` satisfies it. */
export interface DnsLookup {
  resolveCname(name: string): Promise<string[]>;
  resolveTxt(name: string): Promise<string[][]>;
  resolveMx(name: string): Promise<{ exchange: string; priority: number }[]>;
}

/**
 * Outcome of one check:
 * - `ok`: the record is there and right;
 * - `missing`: nothing is published at the name (`fix` says what to add);
 * - `wrong`: something is published but not what SES needs, or SPF/DMARC would fail (`fix` says what to change);
 * - `error`: the lookup itself failed (timeout, SERVFAIL): try again or check the resolver.
 */
export type DnsCheckStatus = 'ok' | 'missing' | 'wrong' | 'error';

export interface DnsCheck {
  readonly purpose: DnsRecordPurpose;
  readonly scope?: Scope;
  readonly type: DnsRecord['type'];
  readonly name: string;
  /** What should be published (for SPF, the whole recommended record). */
  readonly expected: string;
  /** What is published now. */
  readonly found: readonly string[];
  readonly status: DnsCheckStatus;
  /** Whether sending depends on this record (DMARC is advised, not required). */
  readonly required: boolean;
  /** The exact change to make; absent when `ok`. */
  readonly fix?: string;
  readonly warnings: readonly string[];
}

/** The doctor's report; the CLI prints it as a table or as JSON. */
export interface DnsReport {
  readonly domain: string;
  readonly checkedAt: string;
  /** True when every required check is `ok`. */
  readonly ok: boolean;
  readonly summary: Readonly<Record<DnsCheckStatus, number>>;
  readonly checks: readonly DnsCheck[];
}

export interface DnsDoctorOptions {
  /**
   * DNS servers to ask, as `Resolver#setServers` takes them (`'1.1.1.1'`, `'127.0.0.1:5353'`).
   * @default the system's resolvers
   */
  readonly servers?: readonly string[];
  /** Per-query timeout. @default 3000 */
  readonly timeoutMs?: number;
  /** Attempts per query. @default 2 */
  readonly tries?: number;
  /** A resolver to use instead of building one (then `servers`, `timeoutMs`, `tries` are ignored). */
  readonly lookup?: DnsLookup;
}

export interface DiagnoseInput {
  /** The domain identity. */
  readonly domain: string;
  /** DKIM tokens of one scope, or of several scopes by scope (all records are checked, labelled). */
  readonly dkimTokens?: readonly string[] | Partial<Record<Scope, readonly string[]>>;
  /** Scope label for `dkimTokens` given as a plain list. */
  readonly scope?: Scope;
  /** Optional custom MAIL FROM domain and the scope's region. */
  readonly mailFrom?: { readonly domain: string; readonly region: string };
  /** Whether the tenant sends from subdomains (strict DMARC alignment is then flagged). @default true */
  readonly sendsFromSubdomains?: boolean;
  /** @default now */
  readonly now?: Date;
}

/** Codes `node:dns` uses when a name or record type simply does not exist. */
const ABSENT = new Set(['ENODATA', 'ENOTFOUND', 'NXDOMAIN']);

type Lookup<T> = { readonly values: T[] } | { readonly error: string };

const clean = (name: string): string => name.trim().toLowerCase().replace(/\.$/, '');

/**
 * Checks a domain identity's DNS against what SES and mailbox providers need: the DKIM CNAMEs of each scope,
 * SPF (with `include:amazonses.com`, one record, at most 10 look-ups counted through includes), DMARC, and the
 * optional custom MAIL FROM MX and SPF. Says per record ok / missing / wrong, with the exact fix.
 */
export class DnsDoctor {
  private readonly lookup: DnsLookup;

  constructor(options: DnsDoctorOptions = {}) {
    if (options.lookup) {
      this.lookup = options.lookup;
    } else {
      const resolver = new Resolver({ timeout: options.timeoutMs ?? 3000, tries: options.tries ?? 2 });
      if (options.servers) resolver.setServers([...options.servers]);
      this.lookup = resolver;
    }
  }

  async diagnose(input: DiagnoseInput): Promise<DnsReport> {
    const domain = normaliseDomain(input.domain);
    const dkim = Array.isArray(input.dkimTokens)
      ? dkimCnameRecords(domain, input.dkimTokens as readonly string[], input.scope)
      : dkimCnameRecordsForScopes(
          domain,
          (input.dkimTokens ?? {}) as Partial<Record<Scope, readonly string[]>>,
        );
    const mailFrom = input.mailFrom
      ? mailFromRecords({ domain, mailFromDomain: input.mailFrom.domain, region: input.mailFrom.region })
      : [];

    const checks = await Promise.all([
      ...dkim.map((record) => this.checkCname(record, domain)),
      this.checkSpf(domain, 'spf'),
      this.checkDmarc(domain, input.sendsFromSubdomains ?? true),
      ...mailFrom.map((record) =>
        record.type === 'MX' ? this.checkMx(record) : this.checkSpf(record.name, 'mail-from-spf'),
      ),
    ]);
    const summary: Record<DnsCheckStatus, number> = { ok: 0, missing: 0, wrong: 0, error: 0 };
    for (const check of checks) summary[check.status] += 1;
    return {
      domain,
      checkedAt: (input.now ?? new Date()).toISOString(),
      ok: checks.every((check) => !check.required || check.status === 'ok'),
      summary,
      checks,
    };
  }

  /** Checks one expected CNAME (a DKIM record). */
  async checkCname(record: DnsRecord, zone?: string): Promise<DnsCheck> {
    const base = {
      purpose: record.purpose,
      type: record.type,
      name: record.name,
      expected: record.value,
      required: true,
    };
    const scoped = record.scope ? { scope: record.scope } : {};
    const result = await this.query(() => this.lookup.resolveCname(record.name));
    if ('error' in result)
      return {
        ...base,
        ...scoped,
        found: [],
        status: 'error',
        fix: retryFix(record.name, result.error),
        warnings: [],
      };
    const found = result.values.map(clean);
    if (found.includes(clean(record.value))) return { ...base, ...scoped, found, status: 'ok', warnings: [] };
    if (found.length > 0) {
      return {
        ...base,
        ...scoped,
        found,
        status: 'wrong',
        fix: `Change the CNAME record ${record.name} from ${found.join(', ')} to ${record.value}`,
        warnings: [],
      };
    }
    // A common mistake: the DNS provider appends the zone to the host typed, giving <name>.<zone>.
    if (zone) {
      const doubled = `${record.name}.${zone}`;
      const misplaced = await this.query(() => this.lookup.resolveCname(doubled));
      if ('values' in misplaced && misplaced.values.map(clean).includes(clean(record.value))) {
        return {
          ...base,
          ...scoped,
          found: [],
          status: 'missing',
          fix: `The record was published at ${doubled}: your DNS provider appends ${zone} to the host, so enter only "${record.name.slice(0, -(zone.length + 1))}" as the host of the CNAME to ${record.value}`,
          warnings: [],
        };
      }
    }
    return {
      ...base,
      ...scoped,
      found,
      status: 'missing',
      fix: `Add a CNAME record: name ${record.name}, value ${record.value}`,
      warnings: [],
    };
  }

  /** Checks the custom MAIL FROM MX record. */
  async checkMx(record: DnsRecord): Promise<DnsCheck> {
    const priority = record.priority ?? MAIL_FROM_MX_PRIORITY;
    const base = {
      purpose: record.purpose,
      type: record.type,
      name: record.name,
      expected: `${priority} ${record.value}`,
      required: true,
    };
    const add = `Add an MX record: name ${record.name}, priority ${priority}, value ${record.value}`;
    const result = await this.query(() => this.lookup.resolveMx(record.name));
    if ('error' in result)
      return { ...base, found: [], status: 'error', fix: retryFix(record.name, result.error), warnings: [] };
    const found = result.values.map((mx) => `${mx.priority} ${clean(mx.exchange)}`);
    if (found.length === 0) return { ...base, found, status: 'missing', fix: add, warnings: [] };
    const match = result.values.find((mx) => clean(mx.exchange) === clean(record.value));
    if (!match) {
      return {
        ...base,
        found,
        status: 'wrong',
        fix: `Replace the MX records of ${record.name} (${found.join(', ')}) with: priority ${priority}, value ${record.value}`,
        warnings: [],
      };
    }
    const warnings =
      result.values.length > 1
        ? [
            `${record.name} has other MX records (${found.join(', ')}); SES bounce feedback needs only ${record.value}.`,
          ]
        : [];
    return { ...base, found, status: 'ok', warnings };
  }

  /** Checks the SPF record at `name`, counting DNS look-ups recursively through include and redirect. */
  async checkSpf(name: string, purpose: 'spf' | 'mail-from-spf'): Promise<DnsCheck> {
    const result = await this.txt(name);
    const base = { purpose, type: 'TXT' as const, name, required: true };
    if ('error' in result) {
      return {
        ...base,
        expected: 'an SPF record with include:amazonses.com',
        found: [],
        status: 'error',
        fix: retryFix(name, result.error),
        warnings: [],
      };
    }
    const draft = adviseSpf(result.values);
    const lookupCount =
      draft.status === 'missing' ? { count: 1, warnings: [] } : await this.countLookups(draft.recommended);
    const advice = adviseSpf(result.values, { lookupCount: lookupCount.count });
    const warnings = [...advice.warnings.map((w) => w.message), ...lookupCount.warnings];
    const found = [...advice.current];
    if (advice.status === 'ok')
      return { ...base, expected: advice.recommended, found, status: 'ok', warnings };
    if (advice.status === 'missing') {
      return {
        ...base,
        expected: advice.recommended,
        found,
        status: 'missing',
        fix: `Add a TXT record: name ${name}, value "${advice.recommended}"`,
        warnings,
      };
    }
    const fix =
      found.length > 1
        ? `Replace the ${found.length} SPF records of ${name} with this one TXT record: "${advice.recommended}"`
        : lookupCount.count > MAX_SPF_LOOKUPS
          ? `Cut the SPF record of ${name} to at most ${MAX_SPF_LOOKUPS} DNS look-ups (now ${lookupCount.count}), keeping include:amazonses.com: "${advice.recommended}"`
          : `Change the TXT record ${name} from "${found[0] ?? ''}" to "${advice.recommended}"`;
    return { ...base, expected: advice.recommended, found, status: 'wrong', fix, warnings };
  }

  /** Checks `_dmarc.<domain>`: presence, policy, and alignment. Advised, not required, for sending. */
  async checkDmarc(domain: string, sendsFromSubdomains: boolean): Promise<DnsCheck> {
    const name = dmarcRecordName(domain);
    const base = { purpose: 'dmarc' as const, type: 'TXT' as const, name, required: false };
    const result = await this.txt(name);
    if ('error' in result) {
      return {
        ...base,
        expected: 'v=DMARC1; p=…',
        found: [],
        status: 'error',
        fix: retryFix(name, result.error),
        warnings: [],
      };
    }
    const advice = adviseDmarc(domain, result.values, { sendsFromSubdomains });
    const found = [...advice.current];
    const expected = advice.recommended ?? found[0] ?? '';
    if (advice.status === 'ok')
      return { ...base, expected, found, status: 'ok', warnings: [...advice.warnings] };
    const fix =
      advice.status === 'missing'
        ? `Add a TXT record: name ${name}, value "${expected}" (monitoring first; raise p to quarantine or reject once reports are clean)`
        : `${advice.problems.join(' ')} Publish one TXT record at ${name}, e.g. "${expected}"`;
    return { ...base, expected, found, status: advice.status, fix, warnings: [...advice.warnings] };
  }

  /**
   * Counts the DNS-querying terms of an SPF record, following include and redirect targets (RFC 7208 §4.6.4),
   * with loop protection; stops counting past the limit.
   */
  async countLookups(record: string): Promise<{ count: number; warnings: string[] }> {
    const warnings: string[] = [];
    const visited = new Set<string>();
    let count = 0;
    const walk = async (spf: string, depth: number): Promise<void> => {
      for (const term of spfLookupTerms(spf)) {
        count += 1;
        if (count > MAX_SPF_LOOKUPS + 1 || depth >= MAX_SPF_LOOKUPS) return;
        if (term.name !== 'include' && term.name !== 'redirect') continue;
        const target = term.value ? clean(term.value) : '';
        if (target === '' || target.includes('%{') || visited.has(target)) continue;
        visited.add(target);
        const result = await this.txt(target);
        const nested = 'values' in result ? result.values.filter(isSpfRecord) : [];
        if (nested.length !== 1) {
          warnings.push(
            'error' in result
              ? `Could not read the SPF record of ${target} (${result.error}); its look-ups are not counted.`
              : `${term.name}:${target} has ${nested.length === 0 ? 'no SPF record' : 'several SPF records'}, which makes SPF fail (permerror).`,
          );
          continue;
        }
        await walk(nested[0] ?? '', depth + 1);
      }
    };
    await walk(record, 0);
    return { count, warnings };
  }

  private async txt(name: string): Promise<Lookup<string>> {
    const result = await this.query(() => this.lookup.resolveTxt(name));
    return 'error' in result ? result : { values: result.values.map((chunks) => chunks.join('')) };
  }

  private async query<T>(run: () => Promise<T[]>): Promise<Lookup<T>> {
    try {
      return { values: await run() };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && ABSENT.has(code)) return { values: [] };
      return { error: typeof code === 'string' ? code : String(error) };
    }
  }
}

const retryFix = (name: string, error: string): string =>
  `The DNS lookup of ${name} failed (${error}); check the resolver or try again.`;
