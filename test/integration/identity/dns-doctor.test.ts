import { DnsDoctor, type DnsReport } from '../../../lambdas/adapters/dns/dns-doctor';
import { type LocalDnsServer, startLocalDnsServer } from '../../../local/dns/dns-server';

const DOMAIN = 'example.com';
const PROD = [
  'prodtoken0000000000000000000001',
  'prodtoken0000000000000000000002',
  'prodtoken0000000000000000000003',
];
const DEV = [
  'devtoken00000000000000000000001',
  'devtoken00000000000000000000002',
  'devtoken00000000000000000000003',
];
const SES_SPF = 'v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 -all';

let dns: LocalDnsServer;
let doctor: DnsDoctor;

beforeAll(async () => {
  dns = await startLocalDnsServer();
  doctor = new DnsDoctor({ servers: [dns.server], timeoutMs: 1000, tries: 1 });
});

afterAll(async () => {
  await dns.stop();
});

beforeEach(() => {
  dns.clear();
  dns.setRecords('amazonses.com', 'TXT', [SES_SPF]);
});

const publishDkim = (tokens: readonly string[]): void => {
  for (const token of tokens) {
    dns.setRecords(`${token}._domainkey.${DOMAIN}`, 'CNAME', [`${token}.dkim.amazonses.com`]);
  }
};

const byPurpose = (report: DnsReport, purpose: string) =>
  report.checks.filter((check) => check.purpose === purpose);

describe('DnsDoctor against a local DNS server', () => {
  it('reports every record ok for a correctly published domain', async () => {
    publishDkim(PROD);
    dns.setRecords(DOMAIN, 'TXT', ['v=spf1 mx include:amazonses.com ~all', 'google-site-verification=x']);
    dns.setRecords(`_dmarc.${DOMAIN}`, 'TXT', ['v=DMARC1; p=reject; rua=mailto:d@example.com']);
    const report = await doctor.diagnose({
      domain: 'Example.COM.',
      dkimTokens: PROD,
      scope: 'prod',
      now: new Date(0),
    });
    expect(report).toMatchObject({
      domain: DOMAIN,
      checkedAt: '1970-01-01T00:00:00.000Z',
      ok: true,
      summary: { ok: 5, missing: 0, wrong: 0, error: 0 },
    });
    expect(byPurpose(report, 'dkim').map((c) => [c.scope, c.status])).toEqual([
      ['prod', 'ok'],
      ['prod', 'ok'],
      ['prod', 'ok'],
    ]);
  });

  it('reports missing records with the exact record to add', async () => {
    const report = await doctor.diagnose({ domain: DOMAIN, dkimTokens: PROD });
    expect(report.ok).toBe(false);
    expect(report.summary).toEqual({ ok: 0, missing: 5, wrong: 0, error: 0 });
    expect(byPurpose(report, 'dkim')[0]?.fix).toBe(
      `Add a CNAME record: name ${PROD[0]}._domainkey.example.com, value ${PROD[0]}.dkim.amazonses.com`,
    );
    expect(byPurpose(report, 'spf')[0]?.fix).toBe(
      'Add a TXT record: name example.com, value "v=spf1 include:amazonses.com ~all"',
    );
    expect(byPurpose(report, 'dmarc')[0]).toMatchObject({ status: 'missing', required: false });
  });

  it('reports a CNAME pointing elsewhere as wrong, and one published under a doubled domain', async () => {
    publishDkim(PROD);
    dns.setRecords(`${PROD[0]}._domainkey.${DOMAIN}`, 'CNAME', ['other.dkim.example.net']);
    dns.removeName(`${PROD[1]}._domainkey.${DOMAIN}`);
    dns.setRecords(`${PROD[1]}._domainkey.${DOMAIN}.${DOMAIN}`, 'CNAME', [`${PROD[1]}.dkim.amazonses.com`]);
    const [first, second, third] = byPurpose(
      await doctor.diagnose({ domain: DOMAIN, dkimTokens: PROD }),
      'dkim',
    );
    expect(first).toMatchObject({ status: 'wrong', found: ['other.dkim.example.net'] });
    expect(first?.fix).toBe(
      `Change the CNAME record ${PROD[0]}._domainkey.example.com from other.dkim.example.net to ${PROD[0]}.dkim.amazonses.com`,
    );
    expect(second?.status).toBe('missing');
    expect(second?.fix).toContain(`enter only "${PROD[1]}._domainkey" as the host`);
    expect(third?.status).toBe('ok');
  });

  it('checks all six DKIM records when asked for both scopes, labelled by scope', async () => {
    publishDkim(PROD);
    const dkim = byPurpose(
      await doctor.diagnose({ domain: DOMAIN, dkimTokens: { prod: PROD, dev: DEV } }),
      'dkim',
    );
    expect(dkim.map((c) => `${c.scope}:${c.status}`)).toEqual([
      'prod:ok',
      'prod:ok',
      'prod:ok',
      'dev:missing',
      'dev:missing',
      'dev:missing',
    ]);
  });

  it('merges include:amazonses.com into the existing SPF record instead of replacing it', async () => {
    dns.setRecords(DOMAIN, 'TXT', ['v=spf1 mx include:_spf.google.com ~all']);
    dns.setRecords('_spf.google.com', 'TXT', ['v=spf1 include:_netblocks.google.com ~all']);
    dns.setRecords('_netblocks.google.com', 'TXT', ['v=spf1 ip4:35.190.247.0/24 ~all']);
    const [spf] = byPurpose(await doctor.diagnose({ domain: DOMAIN }), 'spf');
    expect(spf).toMatchObject({
      status: 'wrong',
      expected: 'v=spf1 mx include:_spf.google.com include:amazonses.com ~all',
    });
    expect(spf?.fix).toBe(
      'Change the TXT record example.com from "v=spf1 mx include:_spf.google.com ~all" to "v=spf1 mx include:_spf.google.com include:amazonses.com ~all"',
    );
  });

  it('reports several SPF records as wrong and gives the single merged record', async () => {
    dns.setRecords(DOMAIN, 'TXT', ['v=spf1 mx ~all', 'v=spf1 include:amazonses.com ~all']);
    const [spf] = byPurpose(await doctor.diagnose({ domain: DOMAIN }), 'spf');
    expect(spf?.status).toBe('wrong');
    expect(spf?.fix).toBe(
      'Replace the 2 SPF records of example.com with this one TXT record: "v=spf1 mx include:amazonses.com ~all"',
    );
  });

  it('counts DNS look-ups through nested includes and reports more than 10 as wrong', async () => {
    // 1 (a) + 1 (include:big) + 9 inside big + 1 (include:amazonses.com) = 12
    dns.setRecords(DOMAIN, 'TXT', ['v=spf1 a include:big.example.net include:amazonses.com -all']);
    const nested = Array.from({ length: 9 }, (_, i) => `include:n${i}.example.net`).join(' ');
    dns.setRecords('big.example.net', 'TXT', [`v=spf1 ${nested} -all`]);
    for (let i = 0; i < 9; i++) dns.setRecords(`n${i}.example.net`, 'TXT', ['v=spf1 ip4:192.0.2.1 -all']);
    const [spf] = byPurpose(await doctor.diagnose({ domain: DOMAIN }), 'spf');
    expect(spf?.status).toBe('wrong');
    expect(spf?.fix).toContain('at most 10 DNS look-ups (now 12)');
    expect(spf?.warnings.join(' ')).toContain('needs 12 DNS lookups');
  });

  it('accepts the record but warns on +all and on an include without an SPF record', async () => {
    dns.setRecords(DOMAIN, 'TXT', ['v=spf1 include:gone.example.net include:amazonses.com +all']);
    const [spf] = byPurpose(await doctor.diagnose({ domain: DOMAIN }), 'spf');
    expect(spf?.status).toBe('ok');
    expect(spf?.warnings).toEqual([
      '"+all" lets any server on the internet pass SPF for this domain; use "~all" or "-all".',
      'include:gone.example.net has no SPF record, which makes SPF fail (permerror).',
    ]);
  });

  it('reads the DMARC policy and flags strict alignment for subdomain senders', async () => {
    dns.setRecords(`_dmarc.${DOMAIN}`, 'TXT', ['v=DMARC1; p=quarantine; adkim=s']);
    const [dmarc] = byPurpose(await doctor.diagnose({ domain: DOMAIN }), 'dmarc');
    expect(dmarc).toMatchObject({ status: 'ok', found: ['v=DMARC1; p=quarantine; adkim=s'] });
    expect(dmarc?.warnings[0]).toContain('adkim=s');
  });

  it('reports a DMARC record without a valid policy as wrong', async () => {
    dns.setRecords(`_dmarc.${DOMAIN}`, 'TXT', ['v=DMARC1; rua=mailto:d@example.com']);
    const [dmarc] = byPurpose(await doctor.diagnose({ domain: DOMAIN }), 'dmarc');
    expect(dmarc?.status).toBe('wrong');
    expect(dmarc?.fix).toContain('needs "p=none", "p=quarantine" or "p=reject"');
  });

  it('checks the custom MAIL FROM MX and SPF records', async () => {
    const mailFrom = { domain: `bounce.${DOMAIN}`, region: 'eu-west-1' };
    let report = await doctor.diagnose({ domain: DOMAIN, mailFrom });
    expect(byPurpose(report, 'mail-from-mx')[0]?.fix).toBe(
      'Add an MX record: name bounce.example.com, priority 10, value feedback-smtp.eu-west-1.amazonses.com',
    );
    expect(byPurpose(report, 'mail-from-spf')[0]?.status).toBe('missing');

    dns.setRecords(`bounce.${DOMAIN}`, 'MX', [
      { exchange: 'feedback-smtp.us-east-1.amazonses.com', priority: 10 },
    ]);
    dns.setRecords(`bounce.${DOMAIN}`, 'TXT', ['v=spf1 include:amazonses.com ~all']);
    report = await doctor.diagnose({ domain: DOMAIN, mailFrom });
    expect(byPurpose(report, 'mail-from-mx')[0]).toMatchObject({
      status: 'wrong',
      found: ['10 feedback-smtp.us-east-1.amazonses.com'],
    });
    expect(byPurpose(report, 'mail-from-spf')[0]?.status).toBe('ok');

    dns.setRecords(`bounce.${DOMAIN}`, 'MX', [
      { exchange: 'feedback-smtp.eu-west-1.amazonses.com', priority: 10 },
    ]);
    report = await doctor.diagnose({ domain: DOMAIN, mailFrom });
    expect(byPurpose(report, 'mail-from-mx')[0]?.status).toBe('ok');
  });

  it('reports an unreachable resolver as an error, not as a missing record', async () => {
    const unreachable = await startLocalDnsServer();
    const server = unreachable.server;
    await unreachable.stop();
    const offline = new DnsDoctor({ servers: [server], timeoutMs: 200, tries: 1 });
    const report = await offline.diagnose({ domain: DOMAIN, dkimTokens: PROD.slice(0, 1) });
    expect(report.ok).toBe(false);
    expect(report.checks.every((check) => check.status === 'error')).toBe(true);
    expect(report.checks[0]?.fix).toContain('failed');
  });
});
