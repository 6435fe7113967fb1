import { Resolver } from 'node:dns/promises';
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { authenticate, type DNSResolver } from 'mailauth';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { createDkimChecker } from '../../../local/viewer/dkim-check';
import {
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

  /** Sends `body` (bytes) from `from` and returns the stored message's exact bytes. */
  async function sentRaw(from: string, body: Buffer = Buffer.from('Hello from the test.')): Promise<Buffer> {
    const head = rawMessage({
      From: from,
      To: 'customer@example.org',
      Subject: 'Signed',
      Date: new Date().toUTCString(),
    }).replace(
      /charset=utf-8\r\n\r\n[\s\S]*$/,
      'charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n',
    );
    const sent = await harness.ses.send(
      new SendEmailCommand({
        Content: { Raw: { Data: Buffer.concat([Buffer.from(head), body, Buffer.from('\r\n')]) } },
      }),
    );
    const stored = (await storedMessages(harness)).find((message) => message.messageId === sent.MessageId);
    if (!stored) throw new Error('message not stored');
    return Buffer.from(stored.rawBase64, 'base64');
  }

  it('signs mail from a verified domain as that domain and as amazonses.com, and both verify', async () => {
    const raw = await sentRaw('Acme <noreply@tenant.example>');
    const result = await dkimVerify(raw, { resolver: lookup });
    const passed = result.results
      .filter((entry) => entry.status?.result === 'pass')
      .map((entry) => entry.signingDomain)
      .sort();
    expect(passed).toEqual(['amazonses.com', 'tenant.example']);
  });

  it('uses the first Easy DKIM token as the selector of the domain signature', async () => {
    const identityTokens = harness.emulator.store.identities.get('tenant.example')?.dkim?.tokens ?? [];
    const raw = await sentRaw('noreply@tenant.example');
    expect(raw.toString()).toMatch(new RegExp(`s=${identityTokens[0]};`));
  });

  it('signs a subdomain sender with the parent domain, which aligns under relaxed DMARC', async () => {
    const raw = await sentRaw('noreply@en.tenant.example');
    const result = await authenticate(raw, {
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
    const result = await dkimVerify(raw, { resolver: lookup });
    expect(result.results.map((entry) => [entry.signingDomain, entry.status?.result])).toEqual([
      ['amazonses.com', 'pass'],
    ]);
  });

  it('keeps an 8-bit Latin-1 body byte for byte, and any altered byte fails both signatures', async () => {
    const body = Buffer.from('Montant pay\xe9e: 12 \x80\xff\x00 fin', 'latin1');
    const raw = await sentRaw('noreply@tenant.example', body);
    expect(raw.includes(Buffer.concat([body, Buffer.from('\r\n')]))).toBe(true);
    expect(raw.includes(Buffer.from('\xef\xbf\xbd', 'latin1'))).toBe(false);
    const verdicts = async (message: Buffer) =>
      (await createDkimChecker(harness.dns.server).verify(message))
        .map((check) => `${check.domain} ${check.result} ${check.comment ?? ''}`.trim())
        .sort();
    expect(await verdicts(raw)).toEqual(['amazonses.com pass', 'tenant.example pass']);

    // One body byte: payée -> payèe. mailauth reports a body hash mismatch as neutral (RFC 6376 leaves it open).
    const body8 = Buffer.from(raw);
    body8[body8.indexOf(0xe9)] = 0xe8;
    expect(await verdicts(body8)).toEqual([
      'amazonses.com neutral body hash did not verify',
      'tenant.example neutral body hash did not verify',
    ]);
    // One byte of a signed header: Subject: Signed -> Subject: Signet.
    const header = Buffer.from(raw);
    header[header.indexOf('Subject: Signed') + 'Subject: Signe'.length] = 't'.charCodeAt(0);
    expect((await verdicts(header)).map((verdict) => verdict.split(' ').slice(0, 2).join(' '))).toEqual([
      'amazonses.com fail',
      'tenant.example fail',
    ]);
    // The independent verifier, called directly, agrees that nothing passes.
    for (const altered of [body8, header]) {
      const independent = await dkimVerify(altered, { resolver: lookup });
      expect(independent.results.filter((entry) => entry.status?.result === 'pass')).toEqual([]);
    }
  });
});
