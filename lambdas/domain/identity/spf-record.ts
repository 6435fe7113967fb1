import { SES_SPF_INCLUDE } from './dns-records';

/** RFC 7208 §4.6.4: evaluating a record may take at most 10 DNS-querying terms, or SPF fails (permerror). */
export const MAX_SPF_LOOKUPS = 10;

export type SpfWarningCode =
  | 'MULTIPLE_SPF_RECORDS'
  | 'TOO_MANY_DNS_LOOKUPS'
  | 'PASS_ALL'
  | 'PTR_MECHANISM'
  | 'NO_ALL_MECHANISM';

export interface SpfWarning {
  readonly code: SpfWarningCode;
  readonly message: string;
}

/** One term of an SPF record. */
export interface SpfTerm {
  readonly raw: string;
  /** `+`, `-`, `~`, `?` for mechanisms (default `+`); undefined for modifiers. */
  readonly qualifier?: '+' | '-' | '~' | '?';
  /** Lower-cased mechanism (`include`, `a`, `mx`, `all`…) or modifier (`redirect`, `exp`) name. */
  readonly name: string;
  readonly value?: string;
  readonly kind: 'mechanism' | 'modifier';
}

/** Terms whose evaluation queries DNS and so count towards the 10-lookup limit. */
const LOOKUP_TERMS = new Set(['include', 'a', 'mx', 'ptr', 'exists', 'redirect']);

/** True when a TXT value is an SPF record (`v=spf1` followed by a space or the end). */
export const isSpfRecord = (txt: string): boolean => /^v=spf1(\s|$)/i.test(txt.trim());

/** Splits an SPF record into its terms (after `v=spf1`). */
export function parseSpfTerms(record: string): SpfTerm[] {
  return record
    .trim()
    .split(/\s+/)
    .slice(1)
    .filter((raw) => raw !== '')
    .map((raw): SpfTerm => {
      const modifier = /^([a-z][a-z0-9_.-]*)=(.*)$/i.exec(raw);
      if (modifier) {
        return { raw, name: (modifier[1] ?? '').toLowerCase(), value: modifier[2] ?? '', kind: 'modifier' };
      }
      const first = raw[0];
      const qualifier = first === '+' || first === '-' || first === '~' || first === '?' ? first : undefined;
      const body = qualifier ? raw.slice(1) : raw;
      const match = /^([a-z0-9]+)(?:[:/](.*))?$/i.exec(body);
      const name = (match?.[1] ?? body).toLowerCase();
      const value = body.includes(':') ? body.slice(body.indexOf(':') + 1) : undefined;
      return {
        raw,
        qualifier: qualifier ?? '+',
        name,
        ...(value !== undefined ? { value } : {}),
        kind: 'mechanism',
      };
    });
}

/** Terms of one record that query DNS. The doctor follows `include`/`redirect` to count recursively. */
export const spfLookupTerms = (record: string): SpfTerm[] =>
  parseSpfTerms(record).filter((term) => LOOKUP_TERMS.has(term.name));

const hasSesInclude = (terms: readonly SpfTerm[]): boolean =>
  terms.some(
    (term) =>
      term.kind === 'mechanism' && term.name === 'include' && term.value?.toLowerCase() === 'amazonses.com',
  );

export interface SpfAdvice {
  /**
   * - `ok`: one SPF record that includes amazonses.com and stays within 10 lookups;
   * - `missing`: no SPF record: publish `recommended`;
   * - `wrong`: a record exists but lacks the include, or SPF would fail (several records, over 10 lookups):
   *   replace it with `recommended`.
   */
  readonly status: 'ok' | 'missing' | 'wrong';
  /** The SPF records found (normally zero or one). */
  readonly current: readonly string[];
  /** The one record to publish: the tenant's record with `include:amazonses.com` merged in, never replaced. */
  readonly recommended: string;
  /** DNS-querying terms in `recommended` itself (not counting what includes pull in). */
  readonly lookupCount: number;
  readonly warnings: readonly SpfWarning[];
}

/**
 * SPF advice for a domain from its TXT records (each already joined from its character-strings):
 * merges `include:amazonses.com` into the existing record just before its `all` mechanism (or before a
 * `redirect=` modifier / at the end when there is none), keeping every other term; merges several SPF records
 * into one; warns about several records, more than 10 DNS lookups, `+all`, and `ptr`.
 * @param options.lookupCount a recursive lookup count from the doctor; defaults to the count of this record.
 */
export function adviseSpf(txtRecords: readonly string[], options: { lookupCount?: number } = {}): SpfAdvice {
  const current = txtRecords.map((txt) => txt.trim()).filter(isSpfRecord);
  const warnings: SpfWarning[] = [];
  if (current.length === 0) {
    const recommended = `v=spf1 ${SES_SPF_INCLUDE} ~all`;
    return { status: 'missing', current, recommended, lookupCount: 1, warnings };
  }
  if (current.length > 1) {
    warnings.push({
      code: 'MULTIPLE_SPF_RECORDS',
      message: `The domain has ${current.length} SPF records; SPF fails (permerror) unless there is exactly one. Replace them with the single merged record.`,
    });
  }

  // Merge every record's terms into one, in order, without duplicates; keep the first `all` and `redirect`.
  const mechanisms: SpfTerm[] = [];
  const modifiers: SpfTerm[] = [];
  let all: SpfTerm | undefined;
  const seen = new Set<string>();
  for (const record of current) {
    for (const term of parseSpfTerms(record)) {
      const key = term.raw.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      if (term.kind === 'mechanism' && term.name === 'all') all ??= term;
      else if (term.kind === 'mechanism') mechanisms.push(term);
      else if (!modifiers.some((m) => m.name === term.name)) modifiers.push(term);
    }
  }
  const included = hasSesInclude(mechanisms);
  const redirect = modifiers.find((m) => m.name === 'redirect');
  // RFC 7208 §6.1: redirect is ignored when the record has an `all` mechanism.
  const effectiveModifiers = all && redirect ? modifiers.filter((m) => m !== redirect) : modifiers;
  const terms = [
    ...mechanisms.map((t) => t.raw),
    ...(included ? [] : [SES_SPF_INCLUDE]),
    ...(all ? [all.raw] : []),
    ...effectiveModifiers.map((t) => t.raw),
  ];
  const recommended = ['v=spf1', ...terms].join(' ');
  const lookupCount = options.lookupCount ?? spfLookupTerms(recommended).length;

  if (lookupCount > MAX_SPF_LOOKUPS) {
    warnings.push({
      code: 'TOO_MANY_DNS_LOOKUPS',
      message: `The record needs ${lookupCount} DNS lookups (include, a, mx, ptr, exists, redirect, followed through includes); SPF allows at most ${MAX_SPF_LOOKUPS} and fails (permerror) beyond. Remove unused includes or replace a/mx with ip4/ip6 ranges.`,
    });
  }
  if (all && all.qualifier === '+') {
    warnings.push({
      code: 'PASS_ALL',
      message: `"${all.raw}" lets any server on the internet pass SPF for this domain; use "~all" or "-all".`,
    });
  }
  if (mechanisms.some((t) => t.name === 'ptr')) {
    warnings.push({
      code: 'PTR_MECHANISM',
      message:
        'The "ptr" mechanism is slow, unreliable and deprecated (RFC 7208 §5.5); list the senders with ip4/ip6 or include.',
    });
  }
  if (!all && !redirect) {
    warnings.push({
      code: 'NO_ALL_MECHANISM',
      message:
        'The record has no "all" mechanism, so unlisted senders get a neutral result; end it with "~all" or "-all".',
    });
  }
  const broken = current.length > 1 || lookupCount > MAX_SPF_LOOKUPS || !included;
  return { status: broken ? 'wrong' : 'ok', current, recommended, lookupCount, warnings };
}
