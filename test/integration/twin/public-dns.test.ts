import { Resolver } from 'node:dns/promises';
import type { DNSResolver } from 'mailauth';
import { spf } from 'mailauth/lib/spf';
import { DnsDoctor } from '../../../lambdas/adapters/dns/dns-doctor';
import { type LocalDnsServer, startLocalDnsServer } from '../../../local/dns/dns-server';
import { publishPublicRecords } from '../../../local/dns/public-records';

const DOMAIN = 'northwind.example';
let dns: LocalDnsServer;
let lookup: DNSResolver;

beforeAll(async () => {
  dns = await startLocalDnsServer();
  publishPublicRecords(dns);
  dns.setRecords(DOMAIN, 'TXT', ['v=spf1 mx include:amazonses.com ~all']);
  const resolver = new Resolver();
  resolver.setServers([dns.server]);
  lookup = (name, type) => resolver.resolve(name, type) as Promise<string[][] | string[]>;
});

afterAll(async () => {
  await dns.stop();
});

describe("the twin's DNS serves what the internet does for names the product depends on", () => {
  it('passes SPF (mailauth) for a tenant domain that includes amazonses.com, from an SES address only', async () => {
    const check = (ip: string) =>
      spf({
        sender: `billing@${DOMAIN}`,
        ip,
        helo: 'a48-1.smtp-out.amazonses.com',
        mta: 'mx.local',
        resolver: lookup,
      });
    expect((await check('54.240.8.1')).status.result).toBe('pass');
    expect((await check('192.0.2.10')).status.result).toBe('softfail');
  });

  it("lets identity doctor's SPF check count the include of amazonses.com instead of warning of a permerror", async () => {
    const doctor = new DnsDoctor({ servers: [dns.server], timeoutMs: 1000, tries: 1 });
    const report = await doctor.diagnose({ domain: DOMAIN, dkimTokens: [], scope: 'dev', now: new Date(0) });
    const spfChecks = report.checks.filter((check) => check.purpose === 'spf');
    expect(spfChecks.map((check) => [check.status, check.warnings])).toEqual([['ok', []]]);
  });
});
