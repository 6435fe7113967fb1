import {
  AlreadyExistsException,
  BadRequestException,
  CreateEmailIdentityCommand,
  DeleteEmailIdentityCommand,
  GetEmailIdentityCommand,
  ListEmailIdentitiesCommand,
  NotFoundException,
} from '@aws-sdk/client-sesv2';
import { type SesHarness, startSesHarness, storedMessages, verifiedDomain } from './ses-emulator-harness';

describe('SES emulator identities', () => {
  let harness: SesHarness;

  beforeAll(async () => {
    harness = await startSesHarness();
  });

  afterAll(async () => {
    await harness.stop();
  });

  it('gives a new domain identity three Easy DKIM tokens and keeps it pending until its CNAMEs exist', async () => {
    const created = await harness.ses.send(
      new CreateEmailIdentityCommand({ EmailIdentity: 'pending.example' }),
    );
    expect(created.IdentityType).toBe('DOMAIN');
    expect(created.VerifiedForSendingStatus).toBe(false);
    expect(created.DkimAttributes?.Status).toBe('PENDING');
    expect(created.DkimAttributes?.Tokens).toHaveLength(3);
    for (const token of created.DkimAttributes?.Tokens ?? []) expect(token).toMatch(/^[a-z2-7]{32}$/);

    const tokens = created.DkimAttributes?.Tokens ?? [];
    harness.dns.setRecords(`${tokens[0]}._domainkey.pending.example`, 'CNAME', [
      `${tokens[0]}.dkim.amazonses.com`,
    ]);
    harness.dns.setRecords(`${tokens[1]}._domainkey.pending.example`, 'CNAME', [
      `${tokens[1]}.dkim.amazonses.com`,
    ]);
    const partial = await harness.ses.send(new GetEmailIdentityCommand({ EmailIdentity: 'pending.example' }));
    expect(partial.VerificationStatus).toBe('PENDING');
    expect(partial.VerifiedForSendingStatus).toBe(false);
  });

  it('verifies a domain once all three CNAMEs resolve through the configured DNS server', async () => {
    await verifiedDomain(harness, 'verified.example');
    const identity = await harness.ses.send(
      new GetEmailIdentityCommand({ EmailIdentity: 'verified.example' }),
    );
    expect(identity).toMatchObject({
      IdentityType: 'DOMAIN',
      VerifiedForSendingStatus: true,
      VerificationStatus: 'SUCCESS',
      DkimAttributes: { Status: 'SUCCESS', SigningEnabled: true, SigningAttributesOrigin: 'AWS_SES' },
    });
    expect(identity.DkimAttributes?.LastKeyGenerationTimestamp).toBeInstanceOf(Date);
  });

  it('publishes each token key at <token>.dkim.amazonses.com in the local DNS server', async () => {
    const tokens = await verifiedDomain(harness, 'keys.example');
    const { Resolver } = await import('node:dns/promises');
    const resolver = new Resolver();
    resolver.setServers([harness.dns.server]);
    const records = await resolver.resolveTxt(`${tokens[0]}._domainkey.keys.example`);
    expect(records.map((parts) => parts.join(''))[0]).toMatch(/^v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]+$/);
  });

  it('keeps an email identity pending and stores a verification mail whose link verifies it', async () => {
    const created = await harness.ses.send(
      new CreateEmailIdentityCommand({ EmailIdentity: 'Owner@Mail.example' }),
    );
    expect(created).toMatchObject({ IdentityType: 'EMAIL_ADDRESS', VerifiedForSendingStatus: false });
    const pending = await harness.ses.send(
      new GetEmailIdentityCommand({ EmailIdentity: 'owner@mail.example' }),
    );
    expect(pending.VerificationStatus).toBe('PENDING');

    const mail = (await storedMessages(harness)).find((message) => message.kind === 'verification');
    expect(mail?.destination).toEqual(['owner@mail.example']);
    expect(mail?.subject).toMatch(/^Amazon Web Services - Email Address Verification Request/);
    const link = mail?.raw.match(/http:\/\/127\.0\.0\.1:\d+\/_local\/verify\/[0-9a-f]+/)?.[0] ?? '';
    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('successfully verified');

    const verified = await harness.ses.send(
      new GetEmailIdentityCommand({ EmailIdentity: 'owner@mail.example' }),
    );
    expect(verified).toMatchObject({ VerificationStatus: 'SUCCESS', VerifiedForSendingStatus: true });
  });

  it('answers 404 for an unknown verification link', async () => {
    const page = await fetch(`${harness.emulator.url}/_local/verify/feedbeef`);
    expect(page.status).toBe(404);
  });

  it('verifies an identity through the documented test-only extension endpoint', async () => {
    await harness.ses.send(new CreateEmailIdentityCommand({ EmailIdentity: 'forced.example' }));
    const response = await fetch(`${harness.emulator.url}/_local/identities/forced.example/verify`, {
      method: 'POST',
    });
    expect(await response.json()).toEqual({ IdentityName: 'forced.example', VerificationStatus: 'SUCCESS' });
  });

  it('rejects a duplicate identity with AlreadyExistsException, case-insensitively', async () => {
    await harness.ses.send(new CreateEmailIdentityCommand({ EmailIdentity: 'dup.example' }));
    await expect(
      harness.ses.send(new CreateEmailIdentityCommand({ EmailIdentity: 'DUP.example.' })),
    ).rejects.toBeInstanceOf(AlreadyExistsException);
  });

  it('rejects a malformed identity with BadRequestException', async () => {
    await expect(
      harness.ses.send(new CreateEmailIdentityCommand({ EmailIdentity: 'not a domain' })),
    ).rejects.toBeInstanceOf(BadRequestException);
  });

  it('answers NotFoundException for an unknown identity on get and delete', async () => {
    await expect(
      harness.ses.send(new GetEmailIdentityCommand({ EmailIdentity: 'nobody.example' })),
    ).rejects.toMatchObject({
      name: 'NotFoundException',
      message: 'Email identity nobody.example does not exist.',
    });
    await expect(
      harness.ses.send(new DeleteEmailIdentityCommand({ EmailIdentity: 'nobody.example' })),
    ).rejects.toBeInstanceOf(NotFoundException);
  });

  it('lists identities with their type and status, and forgets a deleted one', async () => {
    await harness.ses.send(new CreateEmailIdentityCommand({ EmailIdentity: 'listed.example' }));
    const listed = await harness.ses.send(new ListEmailIdentitiesCommand({}));
    expect(listed.EmailIdentities).toEqual(
      expect.arrayContaining([
        {
          IdentityType: 'DOMAIN',
          IdentityName: 'listed.example',
          SendingEnabled: true,
          VerificationStatus: 'PENDING',
        },
        {
          IdentityType: 'DOMAIN',
          IdentityName: 'verified.example',
          SendingEnabled: true,
          VerificationStatus: 'SUCCESS',
        },
      ]),
    );
    await harness.ses.send(new DeleteEmailIdentityCommand({ EmailIdentity: 'listed.example' }));
    const after = await harness.ses.send(new ListEmailIdentitiesCommand({}));
    expect(after.EmailIdentities?.map((identity) => identity.IdentityName)).not.toContain('listed.example');
  });

  it('pages identity lists with NextToken', async () => {
    const first = await harness.ses.send(new ListEmailIdentitiesCommand({ PageSize: 2 }));
    expect(first.EmailIdentities).toHaveLength(2);
    expect(first.NextToken).toBeDefined();
    const second = await harness.ses.send(
      new ListEmailIdentitiesCommand({ PageSize: 2, NextToken: first.NextToken }),
    );
    expect(second.EmailIdentities?.[0]?.IdentityName).not.toBe(first.EmailIdentities?.[0]?.IdentityName);
  });
});
