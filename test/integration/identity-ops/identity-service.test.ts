import { Resolver } from 'node:dns/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateEmailIdentityCommand,
  GetEmailIdentityCommand,
  GetTenantCommand,
  ListTenantResourcesCommand,
  type SESv2Client,
} from '@aws-sdk/client-sesv2';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { authorizeFrom } from '../../../lambdas/domain/identity/from-authorizer';
import {
  IdentityClaimedError,
  IdentityLimitExceededError,
  ReservedIdentityError,
  SesUnavailableError,
  UnverifiedFromAddressError,
} from '../../../lambdas/domain/identity/identity-errors';
import { UnknownTenantError } from '../../../lambdas/domain/tenant';
import { createRefreshIdentitiesHandler } from '../../../lambdas/handlers/refresh-identities';
import { type LocalDnsServer, startLocalDnsServer } from '../../../local/dns/dns-server';
import { type SesEmulator, startSesEmulator } from '../../../local/ses';
import { testAws, testStack } from '../../support/env';
import { createScratchTable, deleteScratchTable } from '../../support/scratch-table';
import {
  closedPortUrl,
  countingSesClient,
  createConfigurationSet,
  publishDkim,
  serviceFor,
  verificationPath,
} from './identity-fixture';

const dynamodb = new DynamoDBClient(testAws.dynamodb);
const documents = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
const run = `${process.pid}-${Date.now().toString(36)}`;
const prodIdentitiesTable = `identities-prod-ops-${run}`;
let seq = 0;
const newTenantId = () => `ops-${run}-${++seq}`;
const domainOf = (tenantId: string) => `${tenantId}.example.test`;

let dns: LocalDnsServer;
let sesDev: SesEmulator;
let sesProd: SesEmulator;
let dev: ReturnType<typeof countingSesClient>;
let prod: ReturnType<typeof countingSesClient>;

const devSide = () =>
  serviceFor({
    scope: 'dev',
    documents,
    identitiesTable: testStack.table('identities'),
    tenantsTable: testStack.table('tenants'),
    ses: dev.client,
    overrides: { reservedDomains: ['mail-dev.example-platform.com'], txtLookup: resolverOf(dns) },
  });
const prodSide = () =>
  serviceFor({
    scope: 'prod',
    documents,
    identitiesTable: prodIdentitiesTable,
    tenantsTable: testStack.table('tenants'),
    ses: prod.client,
  });

function resolverOf(server: LocalDnsServer) {
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([server.server]);
  return resolver;
}

async function newTenant(): Promise<string> {
  const tenantId = newTenantId();
  await devSide().tenants.put({
    tenantId,
    displayName: 'Acme Billing',
    profileEmail: 'billing@acme.example',
    environments: {
      'developer-sandbox': { method: 'advanced' },
      production: { method: 'advanced' },
    },
  });
  return tenantId;
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const sesTenantResources = async (client: SESv2Client, tenantName: string) =>
  ((await client.send(new ListTenantResourcesCommand({ TenantName: tenantName }))).TenantResources ?? []).map(
    (r) => `${r.ResourceType} ${r.ResourceArn}`,
  );

beforeAll(async () => {
  dns = await startLocalDnsServer();
  sesDev = await startSesEmulator({ dns, dkimKeyBits: 1024 });
  sesProd = await startSesEmulator({ dns, dkimKeyBits: 1024 });
  dev = countingSesClient(sesDev.url);
  prod = countingSesClient(sesProd.url);
  await createConfigurationSet(dev.client, 'dev');
  await createConfigurationSet(prod.client, 'prod');
  await createScratchTable(dynamodb, 'identities', { tableName: prodIdentitiesTable });
});

afterAll(async () => {
  await deleteScratchTable(dynamodb, prodIdentitiesTable);
  dev.client.destroy();
  prod.client.destroy();
  await sesDev.stop();
  await sesProd.stop();
  await dns.stop();
  dynamodb.destroy();
});

describe('IdentityService.addIdentity', () => {
  it('adds a domain: PENDING with 3 DKIM records to publish, SES tenant with identity and configuration set, name saved on the scope’s environments', async () => {
    const tenantId = await newTenant();
    const domain = domainOf(tenantId);
    const { service, tenants } = devSide();

    const result = await service.addIdentity(tenantId, domain.toUpperCase());

    expect(result.outcome).toBe('created');
    expect(result.identity).toMatchObject({ identity: domain, type: 'domain', status: 'PENDING' });
    expect(result.identity.dkimTokens).toHaveLength(3);
    expect(result.dns?.dkim.map((r) => [r.scope, r.type, r.name, r.value])).toEqual(
      result.identity.dkimTokens.map((t) => [
        'dev',
        'CNAME',
        `${t}._domainkey.${domain}`,
        `${t}.dkim.amazonses.com`,
      ]),
    );
    expect(result.dns?.spf).toMatchObject({
      status: 'missing',
      recommended: 'v=spf1 include:amazonses.com ~all',
    });
    expect(result.dns?.dmarc).toMatchObject({ status: 'missing', name: `_dmarc.${domain}` });

    expect(result.sesTenantName).toBe(`tm-dev-${tenantId}`);
    const { Tenant } = await dev.client.send(new GetTenantCommand({ TenantName: result.sesTenantName }));
    expect(Tenant?.TenantName).toBe(result.sesTenantName);
    expect(await sesTenantResources(dev.client, result.sesTenantName)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^CONFIGURATION_SET arn:aws:ses:[^:]+:\d+:configuration-set\/tenant-mail-dev$/),
        expect.stringMatching(
          new RegExp(`^EMAIL_IDENTITY arn:aws:ses:[^:]+:\\d+:identity/${domain.replace(/\./g, '\\.')}$`),
        ),
      ]),
    );
    const tenant = await tenants.get(tenantId);
    expect(tenant?.environments['developer-sandbox']?.sesTenantName).toBe(`tm-dev-${tenantId}`);
    // The prod scope's environment belongs to the other deployment: untouched.
    expect(tenant?.environments.production?.sesTenantName).toBeUndefined();
  });

  it('verifies a domain once its 3 CNAMEs resolve in DNS, and then authorises the domain and its subdomains', async () => {
    const tenantId = await newTenant();
    const domain = domainOf(tenantId);
    const { service } = devSide();
    const added = await service.addIdentity(tenantId, domain);

    const before = await service.refreshIdentity(tenantId, domain);
    expect(before).toMatchObject({ status: 'PENDING', changed: false });

    publishDkim(dns, domain, added.identity.dkimTokens);
    const after = await service.refreshIdentity(tenantId, domain);
    expect(after).toMatchObject({
      previous: 'PENDING',
      status: 'SUCCESS',
      dkimStatus: 'SUCCESS',
      changed: true,
    });

    const identities = await service.listIdentities(tenantId);
    expect(identities.map((i) => [i.identity, i.status])).toEqual([[domain, 'SUCCESS']]);
    expect(authorizeFrom(`Acme <invoices@en.${domain}>`, identities)).toMatchObject({
      identity: domain,
      dkim: { tenantDomain: domain, alignment: 'relaxed' },
    });
  });

  it('verifies an email identity through the link in SES’s verification mail', async () => {
    const tenantId = await newTenant();
    const address = `billing@mail.${domainOf(tenantId)}`;
    const { service } = devSide();
    const added = await service.addIdentity(tenantId, address);
    expect(added.identity).toMatchObject({ type: 'email', status: 'PENDING', dkimTokens: [] });
    expect(added.dns).toBeUndefined();
    expect(added.nextSteps.join(' ')).toContain(`verification email to ${address}`);

    const response = await fetch(`${sesDev.url}${verificationPath(sesDev, address)}`);
    expect(response.status).toBe(200);

    expect(await service.refreshTenant(tenantId)).toEqual([
      expect.objectContaining({ identity: address, status: 'SUCCESS', changed: true }),
    ]);
    expect(authorizeFrom(address, await service.listIdentities(tenantId)).identityType).toBe('email');
  });

  it('rejects a 4th email identity with the limit’s message, and SES never sees a 4th CreateEmailIdentity', async () => {
    const tenantId = await newTenant();
    const domain = domainOf(tenantId);
    const { service, identities } = devSide();
    for (const local of ['a', 'b', 'c']) await service.addIdentity(tenantId, `${local}@${domain}`);
    const creates = dev.calls.filter((c) => c === 'CreateEmailIdentityCommand').length;

    const error = await rejectionOf(service.addIdentity(tenantId, `d@${domain}`));

    expect(error).toBeInstanceOf(IdentityLimitExceededError);
    expect((error as Error).message).toBe(
      'A tenant can have at most 3 email identities; delete one before adding another.',
    );
    expect(dev.calls.filter((c) => c === 'CreateEmailIdentityCommand').length).toBe(creates);
    expect(sesDev.store.identities.has(`d@${domain}`)).toBe(false);
    expect(await identities.getCounts(tenantId)).toEqual({ domainCount: 0, emailCount: 3 });
  });

  it('rolls the reservation back when SES cannot be reached, so the limit still describes what exists', async () => {
    const tenantId = await newTenant();
    const domain = domainOf(tenantId);
    const down = countingSesClient(await closedPortUrl(), 1);
    const broken = serviceFor({
      scope: 'dev',
      documents,
      identitiesTable: testStack.table('identities'),
      tenantsTable: testStack.table('tenants'),
      ses: down.client,
    });

    const error = await rejectionOf(broken.service.addIdentity(tenantId, domain));
    down.client.destroy();

    expect(error).toBeInstanceOf(SesUnavailableError);
    expect((error as Error).message).toMatch(
      /^SES CreateEmailIdentity failed: .+ Nothing was left half-done; try again\.$/,
    );
    expect(await broken.identities.getIdentity(tenantId, domain)).toBeUndefined();
    expect(await broken.identities.getCounts(tenantId)).toEqual({ domainCount: 0, emailCount: 0 });
    expect(await broken.identities.findOwner(domain)).toBeUndefined();
    // The domain is free again: the working SES adds it.
    expect((await devSide().service.addIdentity(tenantId, domain)).outcome).toBe('created');
  });

  it('adopts an identity SES already has, and completes a repeated add instead of failing', async () => {
    const tenantId = await newTenant();
    const domain = domainOf(tenantId);
    const existing = await dev.client.send(new CreateEmailIdentityCommand({ EmailIdentity: domain }));
    const { service } = devSide();

    const adopted = await service.addIdentity(tenantId, domain);
    expect(adopted.outcome).toBe('adopted');
    expect(adopted.identity.dkimTokens).toEqual(existing.DkimAttributes?.Tokens);

    const again = await service.addIdentity(tenantId, domain);
    expect(again.outcome).toBe('resumed');
    expect(again.identity.dkimTokens).toEqual(existing.DkimAttributes?.Tokens);
  });

  it('refuses an identity another tenant holds in the scope, an unknown tenant, and the platform’s own domain', async () => {
    const owner = await newTenant();
    const other = await newTenant();
    const domain = domainOf(owner);
    const { service, identities } = devSide();
    await service.addIdentity(owner, domain);

    expect(await rejectionOf(service.addIdentity(other, domain))).toBeInstanceOf(IdentityClaimedError);
    expect(await rejectionOf(service.addIdentity(`missing-${run}`, `x@${domain}`))).toBeInstanceOf(
      UnknownTenantError,
    );
    const reserved = await rejectionOf(service.addIdentity(other, 'alerts.mail-dev.example-platform.com'));
    expect(reserved).toBeInstanceOf(ReservedIdentityError);
    expect(await identities.listIdentities(other)).toEqual([]);
    expect(sesDev.store.identities.has('alerts.mail-dev.example-platform.com')).toBe(false);
  });
});

describe('IdentityService.deleteIdentity', () => {
  it('deletes in SES and in the store, dissociates it from the SES tenant, and frees the limit', async () => {
    const tenantId = await newTenant();
    const domain = domainOf(tenantId);
    const { service, identities } = devSide();
    const added = await service.addIdentity(tenantId, domain);

    await service.deleteIdentity(tenantId, domain);

    expect(
      await rejectionOf(dev.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }))),
    ).toMatchObject({
      name: 'NotFoundException',
    });
    expect(await identities.listIdentities(tenantId)).toEqual([]);
    expect(await identities.getCounts(tenantId)).toEqual({ domainCount: 0, emailCount: 0 });
    expect(await sesTenantResources(dev.client, added.sesTenantName)).toEqual([
      expect.stringMatching(/^CONFIGURATION_SET /),
    ]);
    expect((await service.addIdentity(tenantId, `new.${domain}`)).outcome).toBe('created');
  });
});

describe('scheduled refresh', () => {
  it('refreshes pending identities into the table and reports what changed', async () => {
    const tenantId = await newTenant();
    const domain = domainOf(tenantId);
    const { service, identities } = devSide();
    const added = await service.addIdentity(tenantId, domain);
    publishDkim(dns, domain, added.identity.dkimTokens);
    const handler = createRefreshIdentitiesHandler(service, { includeVerified: false });

    const summary = await handler({ tenantIds: [tenantId] }, {} as never);

    expect(summary).toEqual({ checked: 1, changed: 1, verified: 1, pending: 0, missingInSes: 0, failed: 0 });
    expect((await identities.getIdentity(tenantId, domain))?.status).toBe('SUCCESS');
    // Verified identities are skipped unless asked for.
    expect(await handler({ tenantIds: [tenantId] }, {} as never)).toMatchObject({ checked: 0 });
    expect(await handler({ tenantIds: [tenantId], includeVerified: true }, {} as never)).toMatchObject({
      checked: 1,
      changed: 0,
    });
  });

  it('stores NOT_STARTED for an identity deleted in SES behind tenant-mail’s back', async () => {
    const tenantId = await newTenant();
    const address = `ops@${domainOf(tenantId)}`;
    const { service } = devSide();
    await service.addIdentity(tenantId, address);
    sesDev.store.identities.delete(address);

    expect(await service.refreshTenant(tenantId)).toEqual([
      expect.objectContaining({ identity: address, status: 'NOT_STARTED', missingInSes: true }),
    ]);
    expect((await service.addIdentity(tenantId, address)).outcome).toBe('resumed');
  });
});

describe('verification scopes side by side', () => {
  it('a domain verified in prod authorises prod’s environments and nothing in dev, which has its own 3 records', async () => {
    const tenantId = await newTenant();
    const domain = domainOf(tenantId);
    const prodService = prodSide();
    const devService = devSide();

    const inProd = await prodService.service.addIdentity(tenantId, domain);
    const inDev = await devService.service.addIdentity(tenantId, domain);
    expect(inProd.sesTenantName).toBe(`tm-prod-${tenantId}`);
    expect(inProd.identity.dkimTokens).not.toEqual(inDev.identity.dkimTokens);
    const tenant = await prodService.tenants.get(tenantId);
    expect(tenant?.environments.production?.sesTenantName).toBe(`tm-prod-${tenantId}`);
    expect(tenant?.environments['developer-sandbox']?.sesTenantName).toBe(`tm-dev-${tenantId}`);

    // Only prod's records are published.
    publishDkim(dns, domain, inProd.identity.dkimTokens);
    expect((await prodService.service.refreshIdentity(tenantId, domain)).status).toBe('SUCCESS');
    expect((await devService.service.refreshIdentity(tenantId, domain)).status).toBe('PENDING');

    const from = `invoices@${domain}`;
    expect(authorizeFrom(from, await prodService.identities.listIdentities(tenantId)).identity).toBe(domain);
    const devError = await rejectionOf(
      Promise.resolve().then(async () =>
        authorizeFrom(from, await devService.identities.listIdentities(tenantId)),
      ),
    );
    expect(devError).toBeInstanceOf(UnverifiedFromAddressError);
    expect(devError).toMatchObject({ rule: 'identity-not-verified' });

    // Both scopes' records, labelled: 6 CNAMEs.
    const guide = await devService.service.dnsFor(tenantId, {
      otherScopes: { prod: prodService.identities },
    });
    expect(guide.dkim.map((r) => `${r.scope} ${r.name}`).sort()).toEqual(
      [
        ...inProd.identity.dkimTokens.map((t) => `prod ${t}._domainkey.${domain}`),
        ...inDev.identity.dkimTokens.map((t) => `dev ${t}._domainkey.${domain}`),
      ].sort(),
    );
    expect(guide.unavailableScopes).toEqual([]);
  });

  it('a domain only in prod does not authorise dev, and dev’s DNS guide says how to add it there', async () => {
    const tenantId = await newTenant();
    const domain = domainOf(tenantId);
    const prodService = prodSide();
    const added = await prodService.service.addIdentity(tenantId, domain);
    publishDkim(dns, domain, added.identity.dkimTokens);
    await prodService.service.refreshIdentity(tenantId, domain);

    const devIdentities = await devSide().identities.listIdentities(tenantId);
    expect(devIdentities).toEqual([]);
    expect(() => authorizeFrom(`a@${domain}`, devIdentities)).toThrow(
      expect.objectContaining({ rule: 'no-identity' }),
    );
    expect(authorizeFrom(`a@${domain}`, await prodService.identities.listIdentities(tenantId)).identity).toBe(
      domain,
    );
    const guide = await prodService.service.dnsFor(tenantId, { otherScopes: { dev: devSide().identities } });
    expect(guide.dkim).toHaveLength(3);
    expect(guide.unavailableScopes).toEqual([
      {
        scope: 'dev',
        reason: expect.stringContaining(
          `tenant-mail identity add-domain --scope dev --tenant ${tenantId} --domain ${domain}`,
        ),
      },
    ]);
  });
});
