import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoSuppressionStore, InvalidCursorError } from '../../../lambdas/adapters/suppression-store';
import type { SuppressionEntry } from '../../../lambdas/domain/feedback/suppression-rules';
import { testAws } from '../../support/env';
import { createScratchTable, deleteScratchTable } from '../../support/scratch-table';

const NOW = new Date('2024-03-01T12:00:00.000Z');
const nowSeconds = NOW.getTime() / 1000;

describe('DynamoSuppressionStore', () => {
  let client: DynamoDBClient;
  let documents: DynamoDBDocumentClient;
  let tableName: string;
  let store: DynamoSuppressionStore;

  beforeAll(async () => {
    client = new DynamoDBClient(testAws.dynamodb);
    documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    tableName = await createScratchTable(client, 'suppressions', { label: 'feedback' });
    store = new DynamoSuppressionStore(documents, tableName, { clock: () => NOW });
  });

  afterAll(async () => {
    await deleteScratchTable(client, tableName);
    client.destroy();
  });

  const entry = (
    overrides: Partial<SuppressionEntry> & Pick<SuppressionEntry, 'tenantId' | 'address'>,
  ): SuppressionEntry => ({
    reason: 'PERMANENT_BOUNCE',
    sourceMessageId: 'msg-1',
    createdAt: '2024-03-01T10:00:00.000Z',
    expiresAt: nowSeconds + 86_400,
    ...overrides,
  });

  it('stores an entry under the tenant with the lower-cased address as sort key', async () => {
    const result = await store.put(entry({ tenantId: 't-keys', address: 'Mixed.Case@Example.COM' }));
    expect(result).toEqual({ stored: true });
    const { Item } = await documents.send(
      new GetCommand({ TableName: tableName, Key: { pk: 'TENANT#t-keys', sk: 'mixed.case@example.com' } }),
    );
    expect(Item).toMatchObject({
      reason: 'PERMANENT_BOUNCE',
      sourceMessageId: 'msg-1',
      createdAt: '2024-03-01T10:00:00.000Z',
      expiresAt: nowSeconds + 86_400,
    });
  });

  it('stores the same entry once when it is put twice', async () => {
    const once = entry({ tenantId: 't-idem', address: 'a@example.com' });
    expect(await store.put(once)).toEqual({ stored: true });
    expect(await store.put(once)).toEqual({ stored: false });
  });

  it('keeps a complaint when a later permanent bounce arrives for the same address', async () => {
    await store.put(
      entry({ tenantId: 't-strength', address: 'a@example.com', reason: 'COMPLAINT', expiresAt: undefined }),
    );
    const result = await store.put(
      entry({ tenantId: 't-strength', address: 'a@example.com', reason: 'PERMANENT_BOUNCE' }),
    );
    expect(result.stored).toBe(false);
    const found = await store.isSuppressed('t-strength', ['a@example.com']);
    expect(found.get('a@example.com')?.reason).toBe('COMPLAINT');
  });

  it('upgrades a bounce entry when a complaint arrives', async () => {
    await store.put(entry({ tenantId: 't-upgrade', address: 'a@example.com', reason: 'PERMANENT_BOUNCE' }));
    const result = await store.put(
      entry({ tenantId: 't-upgrade', address: 'a@example.com', reason: 'COMPLAINT', expiresAt: undefined }),
    );
    expect(result.stored).toBe(true);
    const found = await store.isSuppressed('t-upgrade', ['a@example.com']);
    expect(found.get('a@example.com')).toMatchObject({ reason: 'COMPLAINT' });
    expect(found.get('a@example.com')?.expiresAt).toBeUndefined();
  });

  it('keeps the earlier of two entries with the same reason', async () => {
    await store.put(
      entry({
        tenantId: 't-earliest',
        address: 'a@example.com',
        createdAt: '2024-03-01T09:00:00.000Z',
        sourceMessageId: 'first',
      }),
    );
    expect(
      (
        await store.put(
          entry({
            tenantId: 't-earliest',
            address: 'a@example.com',
            createdAt: '2024-03-01T11:00:00.000Z',
            sourceMessageId: 'later',
          }),
        )
      ).stored,
    ).toBe(false);
    expect(
      (
        await store.put(
          entry({
            tenantId: 't-earliest',
            address: 'a@example.com',
            createdAt: '2024-03-01T08:00:00.000Z',
            sourceMessageId: 'earlier',
          }),
        )
      ).stored,
    ).toBe(true);
    expect(
      (await store.isSuppressed('t-earliest', ['a@example.com'])).get('a@example.com')?.sourceMessageId,
    ).toBe('earlier');
  });

  it('replaces an expired entry even with a weaker reason', async () => {
    await store.put(
      entry({
        tenantId: 't-expired',
        address: 'a@example.com',
        reason: 'PERMANENT_BOUNCE',
        expiresAt: nowSeconds - 10,
      }),
    );
    const result = await store.put(
      entry({ tenantId: 't-expired', address: 'a@example.com', reason: 'RELAY_REJECTION' }),
    );
    expect(result.stored).toBe(true);
  });

  it('reports only the suppressed addresses of a batch, ignoring case and duplicates', async () => {
    await store.put(entry({ tenantId: 't-batch', address: 'bounced@example.com' }));
    await store.put(
      entry({
        tenantId: 't-batch',
        address: 'complained@example.com',
        reason: 'COMPLAINT',
        expiresAt: undefined,
      }),
    );
    await store.put(entry({ tenantId: 't-other', address: 'fine@example.com' }));
    const found = await store.isSuppressed('t-batch', [
      'Bounced@Example.com',
      'bounced@example.com',
      'complained@example.com',
      'fine@example.com',
    ]);
    expect([...found.keys()].sort()).toEqual(['bounced@example.com', 'complained@example.com']);
  });

  it('looks up more than 100 addresses at once', async () => {
    const addresses = Array.from({ length: 130 }, (_, i) => `user${i}@example.com`);
    await store.put(entry({ tenantId: 't-many', address: 'user7@example.com' }));
    await store.put(entry({ tenantId: 't-many', address: 'user120@example.com' }));
    const found = await store.isSuppressed('t-many', addresses);
    expect([...found.keys()].sort()).toEqual(['user120@example.com', 'user7@example.com']);
  });

  it('does not count an expired entry that TTL has not deleted yet', async () => {
    await store.put(entry({ tenantId: 't-ttl', address: 'old@example.com', expiresAt: nowSeconds - 1 }));
    expect((await store.isSuppressed('t-ttl', ['old@example.com'], NOW)).size).toBe(0);
    const earlier = new Date(NOW.getTime() - 60_000);
    expect((await store.isSuppressed('t-ttl', ['old@example.com'], earlier)).size).toBe(1);
  });

  it('lists active entries page by page', async () => {
    for (let i = 0; i < 5; i += 1)
      await store.put(entry({ tenantId: 't-list', address: `user${i}@example.com` }));
    await store.put(entry({ tenantId: 't-list', address: 'expired@example.com', expiresAt: nowSeconds - 1 }));
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.list('t-list', { limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((item) => item.address));
      cursor = page.cursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(seen).toEqual([
      'user0@example.com',
      'user1@example.com',
      'user2@example.com',
      'user3@example.com',
      'user4@example.com',
    ]);
    expect(pages).toBeGreaterThan(2);
  });

  it('refuses a cursor it did not produce', async () => {
    await expect(store.list('t-list', { cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('removes an address so it is no longer suppressed', async () => {
    await store.put(
      entry({ tenantId: 't-remove', address: 'a@example.com', reason: 'MANUAL', expiresAt: undefined }),
    );
    await store.remove('t-remove', 'A@example.com');
    expect((await store.isSuppressed('t-remove', ['a@example.com'])).size).toBe(0);
    await expect(store.remove('t-remove', 'a@example.com')).resolves.toBeUndefined();
  });

  it('reads the concurrent lookups of a batch with one BatchGetItem, each tenant seeing only its own list', async () => {
    await store.put(entry({ tenantId: 't-batch-a', address: 'shared@example.com' }));
    await store.put(entry({ tenantId: 't-batch-b', address: 'only-b@example.com' }));
    const counted = new DynamoDBClient(testAws.dynamodb);
    let batchGets = 0;
    counted.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === 'BatchGetItemCommand') batchGets += 1;
        return next(args);
      },
      { step: 'initialize', name: 'countBatchGets' },
    );
    const coalescing = new DynamoSuppressionStore(DynamoDBDocumentClient.from(counted), tableName, {
      clock: () => NOW,
    });
    const lookups = await Promise.all([
      coalescing.isSuppressed('t-batch-a', ['shared@example.com', 'only-b@example.com']),
      coalescing.isSuppressed('t-batch-b', ['shared@example.com', 'only-b@example.com']),
      ...Array.from({ length: 8 }, (_, i) =>
        coalescing.isSuppressed('t-batch-a', [`other-${i}@example.com`]),
      ),
    ]);
    expect(batchGets).toBe(1);
    expect([...(lookups[0]?.keys() ?? [])]).toEqual(['shared@example.com']);
    expect([...(lookups[1]?.keys() ?? [])]).toEqual(['only-b@example.com']);
    expect(lookups.slice(2).every((found) => found.size === 0)).toBe(true);
    counted.destroy();
  });
});
