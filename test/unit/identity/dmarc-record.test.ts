import { adviseDmarc } from '../../../lambdas/domain/identity/dmarc-record';

describe('adviseDmarc', () => {
  it('reports a missing record and recommends a monitoring policy', () => {
    expect(adviseDmarc('example.com', ['v=spf1 -all'])).toMatchObject({
      status: 'missing',
      recommended: 'v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com',
    });
  });

  it('parses policy, subdomain policy, alignment, percentage and report addresses', () => {
    expect(
      adviseDmarc('example.com', [
        'v=DMARC1; p=Quarantine; sp=reject; adkim=r; aspf=s; pct=50; rua=mailto:a@example.com, mailto:b@example.com',
      ]),
    ).toMatchObject({
      status: 'ok',
      policy: 'quarantine',
      subdomainPolicy: 'reject',
      dkimAlignment: 'r',
      spfAlignment: 's',
      percent: 50,
      reportUris: ['mailto:a@example.com', 'mailto:b@example.com'],
      warnings: [],
    });
  });

  it('warns that p=none only monitors', () => {
    expect(adviseDmarc('example.com', ['v=DMARC1; p=none']).warnings[0]).toContain('p=none');
  });

  it('warns that strict DKIM alignment fails mail from subdomains', () => {
    const advice = adviseDmarc('example.com', ['v=DMARC1; p=reject; adkim=s'], { sendsFromSubdomains: true });
    expect(advice.warnings[0]).toContain('adkim=s');
  });

  it('reports several records as wrong', () => {
    expect(adviseDmarc('example.com', ['v=DMARC1; p=none', 'v=DMARC1; p=reject']).status).toBe('wrong');
  });

  it('reports a record without a valid policy as wrong', () => {
    const advice = adviseDmarc('example.com', ['v=DMARC1; p=block']);
    expect(advice.status).toBe('wrong');
    expect(advice.problems[0]).toContain('"p=block"');
  });
});
