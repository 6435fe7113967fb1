import type { DnsGuide } from '../lambdas/domain/identity/dns-guide';

/** One DNS record to publish, for people and scripts. */
export interface GuideRow {
  readonly purpose: string;
  readonly scope: string;
  readonly type: string;
  readonly name: string;
  readonly value: string;
  /** `add`, `replace` (a record is there but must change), or `keep` (already right). */
  readonly action: 'add' | 'replace' | 'keep';
}

/** The guide's records as rows: 3 DKIM CNAMEs per scope, the SPF and the DMARC TXT records. */
export function guideRows(guide: DnsGuide): GuideRow[] {
  const action = (status: 'ok' | 'missing' | 'wrong') =>
    status === 'ok' ? 'keep' : status === 'missing' ? 'add' : 'replace';
  return [
    ...guide.dkim.map((r) => ({
      purpose: 'DKIM',
      scope: r.scope ?? '',
      type: r.type,
      name: r.name,
      value: r.value,
      action: 'add' as const,
    })),
    {
      purpose: 'SPF',
      scope: 'all',
      type: 'TXT',
      name: guide.domain,
      value: guide.spf.recommended,
      action: action(guide.spf.status),
    },
    {
      purpose: 'DMARC',
      scope: 'all',
      type: 'TXT',
      name: guide.dmarc.name,
      value: guide.dmarc.recommended ?? guide.dmarc.current[0] ?? '',
      action: action(guide.dmarc.status),
    },
  ];
}
