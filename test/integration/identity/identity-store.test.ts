import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoIdentityStore, identityKeys } from '../../../lambdas/adapters/identity-store';
import { authorizeFrom } from '../../../lambdas/domain/identity/from-authorizer';
import {
  IdentityAlreadyExistsError,
  IdentityClaimedError,
  IdentityDomainConflictError,
  IdentityInsideClaimedDomainError,
  IdentityLimitExceededError,
  IdentityNotFoundError,
  IdentityStoreConflictError,
  UnverifiedFromAddressError,
} from '../../../lambdas/domain/identity/identity-errors';
import { type Environment, SCOPE_ENVIRONMENTS, type Scope } from '../../../lambdas/domain/scope';
import { TABLES } from '../../../lib/schema/tables';
import { testAws } from '../../support/env';
import { createScratchTable, deleteScratchTable } from '../../support/scratch-table';

const _schema = TABLES.identities;
const dynamodb = new DynamoDBClient(testAws.dynamodb);
const client = DynamoDBDocumentClient.from(dynamodb);
const run = `${process.pid}-${Date.now()}`;
const tables: Record<Scope, string> = { prod: `identities-prod-${run}`, dev: `identities-dev-${run}` };
const store = new DynamoIdentityStore({ client, tableName: tables.prod });
const devStore = new DynamoIdentityStore({ client, tableName: tables.dev });
const TOKENS = [
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3',
];

let tenantSeq = 0;
const newTenant = (): string => `tenant-${run}-${++tenantSeq}`;

beforeAll(async () => {
  for (const tableName of Object.values(tables))
    await createScratchTable(dynamodb, 'identities', { tableName });
});

afterAll(async () => {
  for (const tableName of Object.values(tables)) await deleteScratchTable(dynamodb, tableName);
  dynamodb.destroy();
});

async function rawItem(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await client.send(
    new GetCommand({ TableName: tables.prod, Key: { pk, sk }, ConsistentRead: true }),
  );
  return Item;
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('DynamoIdentityStore', () => {
  it('adds a normalised identity, records SES status and tokens, lists and deletes it', async () => {
    const tenant = newTenant();
    const added = await store.addIdentity({
      tenantId: tenant,
      identity: 'Bücher.Example.',
      now: new Date('2030-01-01T00:00:00Z'),
    });
    expect(added).toEqual({
      tenantId: tenant,
      identity: 'xn--bcher-kva.example',
      type: 'domain',
      domain: 'xn--bcher-kva.example',
      status: 'PENDING',
      dkimTokens: [],
      createdAt: '2030-01-01T00:00:00.000Z',
    });

    const updated = await store.updateStatus(tenant, 'bücher.example', {
      status: 'SUCCESS',
      dkimTokens: TOKENS,
      checkedAt: new Date('2030-01-02T00:00:00Z'),
    });
    expect(updated).toMatchObject({
      status: 'SUCCESS',
      dkimTokens: TOKENS,
      statusCheckedAt: '2030-01-02T00:00:00.000Z',
    });
    expect(await store.getIdentity(tenant, 'XN--BCHER-KVA.example')).toEqual(updated);
    expect(await store.listIdentities(tenant)).toEqual([updated]);
    expect(await store.findOwner('bücher.example')).toBe(tenant);
    expect(await store.getCounts(tenant)).toEqual({ domainCount: 1, emailCount: 0 });

    await store.deleteIdentity(tenant, 'xn--bcher-kva.example');
    expect(await store.listIdentities(tenant)).toEqual([]);
    expect(await store.findOwner('xn--bcher-kva.example')).toBeUndefined();
    expect(await store.getCounts(tenant)).toEqual({ domainCount: 0, emailCount: 0 });
    expect(
      await rawItem(identityKeys.tenant(tenant), identityKeys.domainMarker('xn--bcher-kva.example')),
    ).toBeUndefined();
  });

  it('rejects a second domain identity with DOMAIN_IDENTITY_LIMIT and accepts one after a delete', async () => {
    const tenant = newTenant();
    await store.addIdentity({ tenantId: tenant, identity: `one-${run}.example` });
    const error = await rejectionOf(store.addIdentity({ tenantId: tenant, identity: `two-${run}.example` }));
    expect(error).toBeInstanceOf(IdentityLimitExceededError);
    expect(error).toMatchObject({ code: 'DOMAIN_IDENTITY_LIMIT' });
    await store.deleteIdentity(tenant, `one-${run}.example`);
    await expect(
      store.addIdentity({ tenantId: tenant, identity: `two-${run}.example` }),
    ).resolves.toMatchObject({
      type: 'domain',
    });
  });

  it('accepts three email identities, two in the same domain, and rejects a fourth', async () => {
    const tenant = newTenant();
    await store.addIdentity({ tenantId: tenant, identity: `a@e1-${run}.example` });
    await store.addIdentity({ tenantId: tenant, identity: `b@e1-${run}.example` });
    await store.addIdentity({ tenantId: tenant, identity: `c@e2-${run}.example` });
    const error = await rejectionOf(store.addIdentity({ tenantId: tenant, identity: `d@e3-${run}.example` }));
    expect(error).toMatchObject({ code: 'EMAIL_IDENTITY_LIMIT' });
    expect(await store.getCounts(tenant)).toEqual({ domainCount: 0, emailCount: 3 });
  });

  it('rejects a domain identity while an email identity of that domain exists, until the last one is deleted', async () => {
    const tenant = newTenant();
    const domain = `mixed-${run}.example`;
    await store.addIdentity({ tenantId: tenant, identity: `a@${domain}` });
    await store.addIdentity({ tenantId: tenant, identity: `b@${domain}` });
    expect(
      await rejectionOf(store.addIdentity({ tenantId: tenant, identity: domain.toUpperCase() })),
    ).toBeInstanceOf(IdentityDomainConflictError);
    await store.deleteIdentity(tenant, `a@${domain}`);
    expect(await rejectionOf(store.addIdentity({ tenantId: tenant, identity: domain }))).toMatchObject({
      code: 'IDENTITY_DOMAIN_CONFLICT',
    });
    await store.deleteIdentity(tenant, `b@${domain}`);
    await expect(store.addIdentity({ tenantId: tenant, identity: domain })).resolves.toMatchObject({
      type: 'domain',
    });
    expect(await store.getCounts(tenant)).toEqual({ domainCount: 1, emailCount: 0 });
  });

  it('rejects an email identity in the domain of the domain identity', async () => {
    const tenant = newTenant();
    const domain = `dom-${run}.example`;
    await store.addIdentity({ tenantId: tenant, identity: domain });
    const error = await rejectionOf(store.addIdentity({ tenantId: tenant, identity: `Info@${domain}.` }));
    expect(error).toMatchObject({ code: 'IDENTITY_DOMAIN_CONFLICT', candidateType: 'email' });
    expect(await store.getCounts(tenant)).toEqual({ domainCount: 1, emailCount: 0 });
  });

  it('tells the same tenant it already has an identity, and another tenant that it is claimed', async () => {
    const [first, second] = [newTenant(), newTenant()];
    const domain = `claimed-${run}.example`;
    await store.addIdentity({ tenantId: first, identity: domain });
    expect(await rejectionOf(store.addIdentity({ tenantId: first, identity: domain }))).toBeInstanceOf(
      IdentityAlreadyExistsError,
    );
    expect(await rejectionOf(store.addIdentity({ tenantId: second, identity: domain }))).toBeInstanceOf(
      IdentityClaimedError,
    );
    expect(await store.getCounts(second)).toEqual({ domainCount: 0, emailCount: 0 });
    await store.deleteIdentity(first, domain);
    await expect(store.addIdentity({ tenantId: second, identity: domain })).resolves.toMatchObject({
      tenantId: second,
    });
  });

  it('keeps another tenant’s addresses and subdomains out of a domain a tenant holds, without naming that tenant', async () => {
    const [owner, squatter] = [newTenant(), newTenant()];
    const domain = `northwind-${run}.example`;
    await store.addIdentity({ tenantId: owner, identity: domain });
    for (const identity of [`billing@${domain}`, `billing.${domain}`, `ceo@en.${domain}`]) {
      const error = await rejectionOf(store.addIdentity({ tenantId: squatter, identity }));
      expect(error).toBeInstanceOf(IdentityInsideClaimedDomainError);
      expect((error as Error).message).toContain(`is inside ${domain}, a domain another tenant holds`);
      expect((error as Error).message).not.toContain(owner);
    }
    expect(await store.getCounts(squatter)).toEqual({ domainCount: 0, emailCount: 0 });
    // The rule never blocks the owner itself (its subdomain is refused only by its own 1-domain limit), and
    // names outside the domain stay free.
    await expect(store.addIdentity({ tenantId: owner, identity: `en.${domain}` })).rejects.toMatchObject({
      code: 'DOMAIN_IDENTITY_LIMIT',
    });
    await expect(
      store.addIdentity({ tenantId: squatter, identity: `billing@other-${run}.example` }),
    ).resolves.toMatchObject({ tenantId: squatter });
  });

  it('reports an unknown identity on update and delete', async () => {
    const tenant = newTenant();
    await expect(store.updateStatus(tenant, 'nothing.example', { status: 'SUCCESS' })).rejects.toBeInstanceOf(
      IdentityNotFoundError,
    );
    await expect(store.deleteIdentity(tenant, 'nothing.example')).rejects.toBeInstanceOf(
      IdentityNotFoundError,
    );
  });

  describe('under concurrent requests', () => {
    it('lets exactly one of 10 parallel domain identities through', async () => {
      const tenant = newTenant();
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          store.addIdentity({ tenantId: tenant, identity: `p${i}-${run}.example` }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results.filter((x) => x.status === 'rejected')) {
        expect(r.reason).toBeInstanceOf(IdentityLimitExceededError);
      }
      expect(await store.listIdentities(tenant)).toHaveLength(1);
      expect(await store.getCounts(tenant)).toEqual({ domainCount: 1, emailCount: 0 });
    });

    it('lets exactly three of 10 parallel email identities through', async () => {
      const tenant = newTenant();
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          store.addIdentity({ tenantId: tenant, identity: `user${i}@par-${i % 2}-${run}.example` }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
      for (const r of results.filter((x) => x.status === 'rejected')) {
        expect(r.reason).toMatchObject({ code: 'EMAIL_IDENTITY_LIMIT' });
      }
      expect(await store.listIdentities(tenant)).toHaveLength(3);
      expect(await store.getCounts(tenant)).toEqual({ domainCount: 0, emailCount: 3 });
    });

    it.each([1, 2, 3, 4, 5])(
      'lets a domain identity or the emails of that domain win a parallel race, never both (round %i)',
      async () => {
        const tenant = newTenant();
        const domain = `race-${tenantSeq}-${run}.example`;
        const results = await Promise.allSettled([
          store.addIdentity({ tenantId: tenant, identity: `a@${domain}` }),
          store.addIdentity({ tenantId: tenant, identity: domain }),
          store.addIdentity({ tenantId: tenant, identity: `b@${domain}` }),
        ]);
        const kinds = (await store.listIdentities(tenant)).map((i) => i.type);
        const domainWon = kinds.includes('domain');
        expect(domainWon ? kinds : [...new Set(kinds)]).toEqual(domainWon ? ['domain'] : ['email']);
        for (const r of results.filter((x) => x.status === 'rejected')) {
          expect(r.reason).toBeInstanceOf(IdentityDomainConflictError);
        }
        const counts = await store.getCounts(tenant);
        expect(counts).toEqual(
          domainWon ? { domainCount: 1, emailCount: 0 } : { domainCount: 0, emailCount: 2 },
        );
      },
    );

    it('gives a contested identity to exactly one of 5 tenants', async () => {
      const domain = `contested-${run}.example`;
      const tenants = Array.from({ length: 5 }, newTenant);
      const results = await Promise.allSettled(
        tenants.map((tenantId) => store.addIdentity({ tenantId, identity: domain })),
      );
      const winners = results.filter((r) => r.status === 'fulfilled');
      expect(winners).toHaveLength(1);
      expect(await store.findOwner(domain)).toBe(winners[0]?.value.tenantId);
      for (const r of results.filter((x) => x.status === 'rejected'))
        expect(r.reason).toBeInstanceOf(IdentityClaimedError);
    });
  });

  describe('when DynamoDB cancels a transaction for a concurrent one (TransactionConflict)', () => {
    // DynamoDB Local serialises transactions and never reports TransactionConflict; inject it in front of
    // the real emulator so the retry path runs against real conditions.
    const conflicting = (failures: number) => {
      const raw = new DynamoDBClient(testAws.dynamodb);
      let left = failures;
      raw.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'TransactWriteItemsCommand' && left > 0) {
            left -= 1;
            throw new TransactionCanceledException({
              message: 'Transaction cancelled',
              $metadata: {},
              CancellationReasons: [
                { Code: 'None' },
                { Code: 'TransactionConflict' },
                { Code: 'None' },
                { Code: 'None' },
              ],
            });
          }
          return next(args);
        },
        { step: 'initialize', name: 'injectTransactionConflict' },
      );
      return { raw, client: DynamoDBDocumentClient.from(raw) };
    };

    it('retries and then applies the add and the delete', async () => {
      const { raw, client: flaky } = conflicting(4);
      const flakyStore = new DynamoIdentityStore({ client: flaky, tableName: tables.prod });
      const tenant = newTenant();
      await expect(
        flakyStore.addIdentity({ tenantId: tenant, identity: `retry-${run}.example` }),
      ).resolves.toMatchObject({
        type: 'domain',
      });
      await flakyStore.deleteIdentity(tenant, `retry-${run}.example`);
      expect(await store.getCounts(tenant)).toEqual({ domainCount: 0, emailCount: 0 });
      raw.destroy();
    });

    it('gives up with a retryable IdentityStoreConflictError after maxAttempts, writing nothing', async () => {
      const { raw, client: flaky } = conflicting(10);
      const flakyStore = new DynamoIdentityStore({ client: flaky, tableName: tables.prod, maxAttempts: 3 });
      const tenant = newTenant();
      const error = await rejectionOf(
        flakyStore.addIdentity({ tenantId: tenant, identity: `busy-${run}.example` }),
      );
      expect(error).toBeInstanceOf(IdentityStoreConflictError);
      expect(error).toMatchObject({ kind: 'transient', code: 'IDENTITY_STORE_CONFLICT' });
      expect(await store.listIdentities(tenant)).toEqual([]);
      raw.destroy();
    });
  });

  describe('per verification scope', () => {
    const environments = (scope: Scope): readonly Environment[] => SCOPE_ENVIRONMENTS[scope];

    it('lets a prod-verified domain authorise production and api-sandbox, and nothing in the dev scope', async () => {
      const tenant = newTenant();
      const domain = `scoped-${run}.example`;
      await store.addIdentity({ tenantId: tenant, identity: domain, status: 'SUCCESS', dkimTokens: TOKENS });
      await devStore.addIdentity({ tenantId: tenant, identity: domain });
      const byScope = {
        prod: await store.listIdentities(tenant),
        dev: await devStore.listIdentities(tenant),
      };

      expect(environments('prod')).toEqual(['production', 'api-sandbox']);
      expect(authorizeFrom(`noreply@en.${domain}`, byScope.prod).dkim.tenantDomain).toBe(domain);
      const devError = (() => {
        try {
          authorizeFrom(`noreply@en.${domain}`, byScope.dev);
        } catch (error) {
          return error;
        }
      })();
      expect(devError).toBeInstanceOf(UnverifiedFromAddressError);
      expect(devError).toMatchObject({ rule: 'identity-not-verified' });
    });

    it('lets the same identity be claimed once in each scope', async () => {
      const domain = `both-${run}.example`;
      const [a, b] = [newTenant(), newTenant()];
      await store.addIdentity({ tenantId: a, identity: domain });
      await expect(devStore.addIdentity({ tenantId: b, identity: domain })).resolves.toMatchObject({
        tenantId: b,
      });
      expect([await store.findOwner(domain), await devStore.findOwner(domain)]).toEqual([a, b]);
    });
  });
});
