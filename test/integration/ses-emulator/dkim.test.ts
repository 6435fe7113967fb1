import { Resolver } from 'node:dns/promises';
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { authenticate, type DNSResolver } from 'mailauth';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import {
  rawContent,
  rawMessage,
  type SesHarness,
  startSesHarness,
  storedMessages,
  verifiedDomain,
  verifiedEmail,
} from './ses-emulator-harness';

describe('SES emulator DKIM signing', () => {
  let harness: SesHarness;
  let lookup: DNSResolver;

  beforeAll(async () => {
    harness = await startSesHarness({ maxSendRate: 1000 });
    await verifiedDomain(harness, 'tenant.example');
    await verifiedEmail(harness, 'owner@gmail.example');
    const resolver = new Resolver();
    resolver.setServers([harness.dns.server]);
    lookup = (name, type) => resolver.resolve(name, type) as Promise<string[][] | string[]>;
  });

  afterAll(async () => {
    await harness.stop();
  });

  async function sentRaw(from: string): Promise<string> {
    const raw = rawMessage({
      From: from,
      To: 'customer@example.org',
      Subject: 'Signed',
      Date: new Date().toUTCString(),
    });
    const sent = await harness.ses.send(new SendEmailCommand({ Content: rawContent(raw) }));
    const stored = (await storedMessages(harness)).find((message) => message.messageId === sent.MessageId);
    if (!stored) throw new Error('message not stored');
    return stored.raw;
  }

  it('signs mail from a verified domain as that domain and as amazonses.com, and both verify', async () => {
    const raw = await sentRaw('Acme <noreply@tenant.example>');
    const result = await dkimVerify(Buffer.from(raw), { resolver: lookup });
    const passed = result.results
      .filter((entry) => entry.status?.result === 'pass')
      .map((entry) => entry.signingDomain)
      .sort();
    expect(passed).toEqual(['amazonses.com', 'tenant.example']);
  });

  it('uses the first Easy DKIM token as the selector of the domain signature', async () => {
    const identityTokens = harness.emulator.store.identities.get('tenant.example')?.dkim?.tokens ?? [];
    const raw = await sentRaw('noreply@tenant.example');
    expect(raw).toMatch(new RegExp(`s=${identityTokens[0]};`));
  });

  it('signs a subdomain sender with the parent domain, which aligns under relaxed DMARC', async () => {
    const raw = await sentRaw('noreply@en.tenant.example');
    const result = await authenticate(Buffer.from(raw), {
      resolver: lookup,
      ip: '127.0.0.1',
      helo: 'localhost',
      sender: 'noreply@en.tenant.example',
      mta: 'test.local',
    });
    const domains = result.dkim.results
      .filter((entry) => entry.status?.result === 'pass')
      .map((entry) => entry.signingDomain);
    expect(domains).toEqual(expect.arrayContaining(['tenant.example', 'amazonses.com']));
  });

  it('signs mail from an email identity only as amazonses.com', async () => {
    const raw = await sentRaw('owner@gmail.example');
    const result = await dkimVerify(Buffer.from(raw), { resolver: lookup });
    expect(result.results.map((entry) => [entry.signingDomain, entry.status?.result])).toEqual([
      ['amazonses.com', 'pass'],
    ]);
  });
});
