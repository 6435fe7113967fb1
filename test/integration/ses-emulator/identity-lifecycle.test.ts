import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateConfigurationSetCommand,
  CreateEmailIdentityCommand,
  GetAccountCommand,
  GetEmailIdentityCommand,
  type SESv2Client,
} from '@aws-sdk/client-sesv2';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { DnsDoctor } from '../../../lambdas/adapters/dns/dns-doctor';
import { SesEmailSender } from '../../../lambdas/adapters/ses-email-sender';
import { ThrottledError } from '../../../lambdas/domain/errors';
import { createRefreshIdentitiesHandler } from '../../../lambdas/handlers/refresh-identities';
import { type LocalDnsServer, startLocalDnsServer } from '../../../local/dns/dns-server';
import { type SesEmulator, startSesEmulator } from '../../../local/ses';
import { testAws, testStack } from '../../support/env';
import {
  countingSesClient,
  createConfigurationSet,
  publishDkim,
  serviceFor,
  verificationPath,
} from '../identity-ops/identity-fixture';

const run = `${process.pid}-${Date.now().toString(36)}`;
let seq = 0;
const documents = DynamoDBDocumentClient.from(new DynamoDBClient(testAws.dynamodb), {
  marshallOptions: { removeUndefinedValues: true },
});
const quiet = new Logger({ serviceName: 'tenant-mail', logLevel: 'ERROR' });

let dns: LocalDnsServer;
let ses: SesEmulator;
let client: SESv2Client;

beforeAll(async () => {
  dns = await startLocalDnsServer();
  // The background re-check would race the test's own steps; the test drives every check itself.
  ses = await startSesEmulator({ dns, dkimKeyBits: 1024, verificationRecheckMs: 3_600_000 });
  client = countingSesClient(ses.url, 1).client;
  await createConfigurationSet(client, 'dev');
});

afterAll(async () => {
  client.destroy();
  await ses.stop();
  await dns.stop();
  documents.destroy();
});

const side = () =>
  serviceFor({
    scope: 'dev',
    documents,
    identitiesTable: testStack.table('identities'),
    tenantsTable: testStack.table('tenants'),
    ses: client,
  });

async function newTenant(): Promise<string> {
  const tenantId = `life-${run}-${++seq}`;
  await side().tenants.put({
    tenantId,
    displayName: 'Lifecycle Inc',
    profileEmail: 'billing@lifecycle.example',
    environments: { 'developer-sandbox': { method: 'advanced' } },
  });
  return tenantId;
}

/** Lets `duration` pass on the emulator's clock, through its HTTP extension. */
async function advance(duration: string): Promise<void> {
  const response = await fetch(`${ses.url}/_local/clock`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ advance: duration }),
  });
  expect(response.status).toBe(200);
}

/** Runs the scheduled refresh function for one tenant and returns what it stored for `identity`. */
async function refreshed(tenantId: string, identity: string) {
  const handler = createRefreshIdentitiesHandler(side().service, { includeVerified: true }, quiet);
  await handler({ includeVerified: true, tenantIds: [tenantId] }, {} as Context);
  return side().identities.getIdentity(tenantId, identity);
}

const sesState = async (identity: string) => {
  const got = await client.send(new GetEmailIdentityCommand({ EmailIdentity: identity }));
  return [got.VerificationStatus, got.DkimAttributes?.Status, got.VerifiedForSendingStatus];
};

/** What `identity doctor` reports for the domain's DKIM records, through the same DnsDoctor. */
async function doctorDkim(domain: string, tokens: readonly string[]): Promise<string[]> {
  const report = await new DnsDoctor({ servers: [dns.server], timeoutMs: 1000, tries: 1 }).diagnose({
    domain,
    dkimTokens: { dev: tokens },
  });
  return report.checks.filter((check) => check.purpose === 'dkim').map((check) => check.status);
}

const unpublish = (domain: string, tokens: readonly string[]) => {
  for (const token of tokens) dns.removeName(`${token}._domainkey.${domain}`);
};

describe('identity lifecycles on the emulator clock, seen by the refresh function and identity doctor', () => {
  it('a domain whose CNAMEs never appear is PENDING for 72 hours, then FAILED', async () => {
    const tenantId = await newTenant();
    const domain = `${tenantId}.example.test`;
    const added = await side().service.addIdentity(tenantId, domain);
    const tokens = added.identity.dkimTokens;

    await advance('71h');
    expect(await refreshed(tenantId, domain)).toMatchObject({ status: 'PENDING' });
    expect(await doctorDkim(domain, tokens)).toEqual(['missing', 'missing', 'missing']);

    await advance('1h');
    expect(await refreshed(tenantId, domain)).toMatchObject({ status: 'FAILED' });
    expect(await sesState(domain)).toEqual(['FAILED', 'FAILED', false]);

    // FAILED is final: publishing the records now does not bring it back (SES: start over).
    publishDkim(dns, domain, tokens);
    expect(await doctorDkim(domain, tokens)).toEqual(['ok', 'ok', 'ok']);
    expect(await refreshed(tenantId, domain)).toMatchObject({ status: 'FAILED' });
  });

  it('a verified domain whose CNAMEs disappear is TEMPORARY_FAILURE, and FAILED after 72 hours', async () => {
    const tenantId = await newTenant();
    const domain = `${tenantId}.example.test`;
    const { tokens } = await verified(tenantId, domain);

    unpublish(domain, tokens);
    expect(await doctorDkim(domain, tokens)).toEqual(['missing', 'missing', 'missing']);
    // SES still sends while it looks again, so the product keeps the identity usable; the DKIM status shows it.
    const handler = createRefreshIdentitiesHandler(side().service, { includeVerified: true }, quiet);
    const outcomes = await side().service.refreshIdentity(tenantId, domain);
    expect(outcomes).toMatchObject({ status: 'SUCCESS', dkimStatus: 'TEMPORARY_FAILURE' });
    expect(await handler({ tenantIds: [tenantId] }, {} as Context)).toMatchObject({
      checked: 1,
      verified: 1,
    });
    expect(await sesState(domain)).toEqual(['TEMPORARY_FAILURE', 'TEMPORARY_FAILURE', true]);

    await advance('71h');
    expect(await refreshed(tenantId, domain)).toMatchObject({ status: 'SUCCESS' });
    await advance('1h');
    expect(await refreshed(tenantId, domain)).toMatchObject({ status: 'FAILED' });
    expect(await sesState(domain)).toEqual(['FAILED', 'FAILED', false]);
  });

  it('a verified domain whose CNAMEs come back within 72 hours is SUCCESS again', async () => {
    const tenantId = await newTenant();
    const domain = `${tenantId}.example.test`;
    const { tokens } = await verified(tenantId, domain);

    unpublish(domain, tokens);
    await advance('24h');
    expect(await side().service.refreshIdentity(tenantId, domain)).toMatchObject({
      dkimStatus: 'TEMPORARY_FAILURE',
    });
    publishDkim(dns, domain, tokens);
    expect(await doctorDkim(domain, tokens)).toEqual(['ok', 'ok', 'ok']);
    await advance('48h');
    expect(await side().service.refreshIdentity(tenantId, domain)).toMatchObject({
      status: 'SUCCESS',
      dkimStatus: 'SUCCESS',
    });
  });

  it('an email verification link expires after 24 hours and the identity is FAILED', async () => {
    const tenantId = await newTenant();
    const address = `owner-${tenantId}@gmail.example`;
    await side().service.addIdentity(tenantId, address);
    const path = await verificationPath(ses, address);

    await advance('24h');
    const response = await fetch(`${ses.url}${path}`);
    expect(response.status).toBe(410);
    expect(await response.text()).toContain('expired');
    expect(await refreshed(tenantId, address)).toMatchObject({ status: 'FAILED' });
  });

  it('an email verification link followed within 24 hours verifies the address', async () => {
    const tenantId = await newTenant();
    const address = `owner-${tenantId}@gmail.example`;
    await side().service.addIdentity(tenantId, address);
    const path = await verificationPath(ses, address);

    await advance('23h');
    expect((await fetch(`${ses.url}${path}`)).status).toBe(200);
    await advance('2h');
    expect(await refreshed(tenantId, address)).toMatchObject({ status: 'SUCCESS' });
  });
});

async function verified(tenantId: string, domain: string): Promise<{ tokens: readonly string[] }> {
  const added = await side().service.addIdentity(tenantId, domain);
  const tokens = added.identity.dkimTokens;
  publishDkim(dns, domain, tokens);
  expect(await refreshed(tenantId, domain)).toMatchObject({ status: 'SUCCESS' });
  expect(await doctorDkim(domain, tokens)).toEqual(['ok', 'ok', 'ok']);
  return { tokens };
}

describe('the daily quota rolls with the emulator clock', () => {
  it('refuses the send that exceeds 24-hour quota and accepts it again 24 hours later', async () => {
    const quota = await startSesEmulator({ dkimKeyBits: 1024, max24HourSend: 2, maxSendRate: 100 });
    const quotaClient = countingSesClient(quota.url, 1).client;
    try {
      await quotaClient.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'tenant-mail-dev' }));
      await quotaClient.send(new CreateEmailIdentityCommand({ EmailIdentity: 'platform.example' }));
      await fetch(`${quota.url}/_local/identities/platform.example/verify`, { method: 'POST' });
      const sender = new SesEmailSender(quotaClient, {
        configurationSetName: 'tenant-mail-dev',
        messageIdDomain: 'platform.example',
      });
      const email = (n: number) => ({
        messageId: `quota-${run}-${n}`,
        tenantId: 'quota',
        environment: 'developer-sandbox' as const,
        from: { address: 'notifications@platform.example' },
        to: [`success+${n}@simulator.amazonses.com`],
        cc: [],
        bcc: [],
        subject: `Quota ${n}`,
        text: 'Hello',
        headers: {},
        tags: {},
      });
      await sender.send(email(1));
      await sender.send(email(2));
      const refused = await sender.send(email(3)).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ThrottledError);
      expect(refused).toMatchObject({ code: 'SES_DAILY_QUOTA' });
      expect((await quotaClient.send(new GetAccountCommand({}))).SendQuota?.SentLast24Hours).toBe(2);

      quota.clock.advance('23h');
      await expect(sender.send(email(3))).rejects.toMatchObject({ code: 'SES_DAILY_QUOTA' });
      quota.clock.advance('1h');
      expect((await quotaClient.send(new GetAccountCommand({}))).SendQuota?.SentLast24Hours).toBe(0);
      await expect(sender.send(email(3))).resolves.toMatchObject({ providerMessageId: expect.any(String) });
    } finally {
      quotaClient.destroy();
      await quota.stop();
    }
  });
});
