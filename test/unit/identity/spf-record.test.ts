import { adviseSpf, parseSpfTerms, spfLookupTerms } from '../../../lambdas/domain/identity/spf-record';

describe('adviseSpf', () => {
  it('recommends a new record when the domain has no SPF record, ignoring other TXT records', () => {
    expect(adviseSpf(['google-site-verification=abc'])).toMatchObject({
      status: 'missing',
      recommended: 'v=spf1 include:amazonses.com ~all',
      warnings: [],
    });
  });

  it.each([
    ['v=spf1 mx ~all', 'v=spf1 mx include:amazonses.com ~all'],
    [
      'v=spf1 ip4:192.0.2.0/24 include:_spf.google.com -all',
      'v=spf1 ip4:192.0.2.0/24 include:_spf.google.com include:amazonses.com -all',
    ],
    [
      'v=spf1 mx ?all exp=explain.example.com',
      'v=spf1 mx include:amazonses.com ?all exp=explain.example.com',
    ],
    ['v=spf1 a redirect=_spf.example.com', 'v=spf1 a include:amazonses.com redirect=_spf.example.com'],
    ['V=SPF1  MX   ~ALL', 'v=spf1 MX include:amazonses.com ~ALL'],
  ])('merges include:amazonses.com into %p before the all mechanism', (record, recommended) => {
    const advice = adviseSpf([record]);
    expect(advice.status).toBe('wrong');
    expect(advice.recommended).toBe(recommended);
  });

  it('accepts a record that already includes amazonses.com unchanged', () => {
    expect(adviseSpf(['v=spf1 mx include:amazonses.com ~all'])).toEqual({
      status: 'ok',
      current: ['v=spf1 mx include:amazonses.com ~all'],
      recommended: 'v=spf1 mx include:amazonses.com ~all',
      lookupCount: 2,
      warnings: [],
    });
  });

  it('warns on several SPF records and merges them into one', () => {
    const advice = adviseSpf(['v=spf1 mx ~all', 'v=spf1 include:mailgun.org ~all']);
    expect(advice.status).toBe('wrong');
    expect(advice.recommended).toBe('v=spf1 mx include:mailgun.org include:amazonses.com ~all');
    expect(advice.warnings.map((w) => w.code)).toEqual(['MULTIPLE_SPF_RECORDS']);
  });

  it('warns when the record needs more than 10 DNS lookups once amazonses.com is added', () => {
    const includes = Array.from({ length: 8 }, (_, i) => `include:s${i}.example.net`).join(' ');
    const advice = adviseSpf([`v=spf1 a mx ${includes} ~all`]);
    expect(advice.lookupCount).toBe(11);
    expect(advice.warnings.map((w) => w.code)).toContain('TOO_MANY_DNS_LOOKUPS');
    expect(advice.status).toBe('wrong');
  });

  it('stays within the limit at exactly 10 lookups', () => {
    const includes = Array.from({ length: 7 }, (_, i) => `include:s${i}.example.net`).join(' ');
    const advice = adviseSpf([`v=spf1 a mx ${includes} include:amazonses.com ~all`]);
    expect(advice.lookupCount).toBe(10);
    expect(advice.status).toBe('ok');
  });

  it('uses the recursive lookup count the doctor passes in', () => {
    const advice = adviseSpf(['v=spf1 include:amazonses.com ~all'], { lookupCount: 12 });
    expect(advice.warnings.map((w) => w.code)).toEqual(['TOO_MANY_DNS_LOOKUPS']);
  });

  it.each(['v=spf1 include:amazonses.com +all', 'v=spf1 include:amazonses.com all'])(
    'warns that %p lets anyone pass',
    (record) => {
      const advice = adviseSpf([record]);
      expect(advice.warnings.map((w) => w.code)).toEqual(['PASS_ALL']);
    },
  );

  it('warns on ptr and on a record without all', () => {
    const codes = adviseSpf(['v=spf1 ptr include:amazonses.com']).warnings.map((w) => w.code);
    expect(codes).toEqual(['PTR_MECHANISM', 'NO_ALL_MECHANISM']);
  });
});

describe('SPF terms', () => {
  it('parses qualifiers, mechanisms and modifiers', () => {
    expect(parseSpfTerms('v=spf1 -ip4:192.0.2.1 a/24 ~include:x.test redirect=y.test')).toEqual([
      { raw: '-ip4:192.0.2.1', qualifier: '-', name: 'ip4', value: '192.0.2.1', kind: 'mechanism' },
      { raw: 'a/24', qualifier: '+', name: 'a', kind: 'mechanism' },
      { raw: '~include:x.test', qualifier: '~', name: 'include', value: 'x.test', kind: 'mechanism' },
      { raw: 'redirect=y.test', name: 'redirect', value: 'y.test', kind: 'modifier' },
    ]);
  });

  it('counts include, a, mx, ptr, exists and redirect as lookups, not ip4, ip6 or all', () => {
    const terms = spfLookupTerms(
      'v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 include:a.test a mx ptr exists:%{i}.x.test redirect=b.test -all',
    );
    expect(terms.map((t) => t.name)).toEqual(['include', 'a', 'mx', 'ptr', 'exists', 'redirect']);
  });
});
