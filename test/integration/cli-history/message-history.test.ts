import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AdminInputError, createAdminClient } from '../../../client/admin-client';
import { FAILED_STATUSES } from '../../../client/history-rules';
import type { HistoryRow } from '../../../client/messages';
import { ALL_STATUSES, type MessageStatus } from '../../../lambdas/domain/message/message-status';
import { testAws } from '../../support/env';
import { createScratchTable, deleteScratchTable } from '../../support/scratch-table';

/**
 * `message list` over 5,000 records of 3 tenants in a table of its own: every filter returns exactly the records
 * a plain filter over the generated data selects (the oracle), newest first across pages, never another tenant's,
 * and every request is a Query of the `byTenant` index (counted by an SDK middleware).
 */
const NOW = new Date('2026-11-20T12:00:00.000Z');
const TENANTS = ['hist-a', 'hist-b', 'hist-c'] as const;
const ENVIRONMENTS = ['developer-sandbox', 'central-sandbox'] as const;
const EVENT_TYPES = ['InvoicePosted', 'PaymentProcessed', 'BillRunCompleted'] as const;
const RECORDS = 5_000;
const HOUR = 3_600_000;

interface Fixture {
  readonly messageId: string;
  readonly tenantId: string;
  readonly createdAt: string;
  readonly environment: string;
  readonly status: MessageStatus;
  readonly recipients: string[];
  readonly eventType: string;
  readonly eventId: string;
  readonly itemKey: string;
}

/** Deterministic spread: 10 days back from NOW, one record every 172.8 s, each with its own time. */
const records: Fixture[] = Array.from({ length: RECORDS }, (_, i) => ({
  messageId: `m${String(i).padStart(5, '0')}${'0'.repeat(26)}`,
  tenantId: TENANTS[i % 3] ?? 'hist-a',
  createdAt: new Date(NOW.getTime() - i * 172_799).toISOString(),
  environment: ENVIRONMENTS[(i >> 1) % 2] ?? 'developer-sandbox',
  status: ALL_STATUSES[(i * 7) % ALL_STATUSES.length] ?? 'SENT',
  recipients: [`customer${i % 17}@example.com`, ...(i % 5 === 0 ? ['ar@example.com'] : [])],
  eventType: EVENT_TYPES[(i >> 2) % 3] ?? 'InvoicePosted',
  eventId: `evt-${Math.floor(i / 4)}`,
  itemKey: `INV-${1000 + (i % 250)}`,
}));

const dynamodb = new DynamoDBClient(testAws.dynamodb);
const documents = DynamoDBDocumentClient.from(dynamodb);
const requests: { command: string; input: Record<string, unknown> }[] = [];
let table: string;

/** A client whose requests are recorded, as an admin backend would create it. */
const counted = new DynamoDBClient(testAws.dynamodb);
counted.middlewareStack.add(
  (next, context) => async (args) => {
    requests.push({ command: String(context.commandName), input: args.input as Record<string, unknown> });
    return next(args);
  },
  { step: 'initialize', name: 'countRequests' },
);

/** History reads DynamoDB only; the other clients are there because the admin client takes all four. */
const others = {
  ses: new SESv2Client(testAws.sqs),
  sqs: new SQSClient(testAws.sqs),
  secrets: new SecretsManagerClient(testAws.sqs),
};
const admin = () =>
  createAdminClient({
    scope: 'dev',
    clients: { dynamodb: counted, ...others },
    tables: { messages: table },
    now: () => NOW,
  });

function expected(filter: (r: Fixture) => boolean): string[] {
  return records
    .filter(filter)
    .sort((x, y) => y.createdAt.localeCompare(x.createdAt))
    .map((r) => r.messageId);
}

/** Follows page tokens to the end; returns every row and how many pages it took. */
async function allPages(
  query: Parameters<ReturnType<typeof admin>['messages']['list']>[0],
): Promise<{ rows: HistoryRow[]; pages: number }> {
  const client = admin();
  const rows: HistoryRow[] = [];
  let pageToken: string | undefined;
  let pages = 0;
  do {
    const page = await client.messages.list({ ...query, ...(pageToken ? { pageToken } : {}) });
    expect(page.items.length).toBeLessThanOrEqual(query.limit ?? 40);
    rows.push(...page.items);
    pageToken = page.nextPageToken;
    pages += 1;
  } while (pageToken);
  return { rows, pages };
}

const within = (r: Fixture, days: number) =>
  r.createdAt >= new Date(NOW.getTime() - days * 24 * HOUR).toISOString() && r.createdAt <= NOW.toISOString();

beforeAll(async () => {
  table = await createScratchTable(dynamodb, 'messages', { label: 'history' });
  for (let i = 0; i < records.length; i += 25) {
    const batch = records.slice(i, i + 25).map((r) => ({
      PutRequest: {
        Item: { ...r, updatedAt: r.createdAt, expiresAt: 0, subject: `Invoice ${r.itemKey}`, timeline: [] },
      },
    }));
    await documents.send(new BatchWriteCommand({ RequestItems: { [table]: batch } }));
  }
}, 120_000);

afterAll(async () => {
  await deleteScratchTable(dynamodb, table);
  dynamodb.destroy();
  counted.destroy();
  for (const client of Object.values(others)) client.destroy();
});

beforeEach(() => {
  requests.length = 0;
});

/** Every Query went to the byTenant index, and the only other reads were BatchGetItems of the rows found. */
const indexOnly = (sent: typeof requests) =>
  sent.every((request) =>
    request.command === 'QueryCommand'
      ? request.input.IndexName === 'byTenant'
      : request.command === 'BatchGetItemCommand',
  );

describe('message list (email history)', () => {
  it('returns a tenant’s last 3 days newest first across pages of 40, exactly: the byTenant index, then the status of its rows', async () => {
    const { rows, pages } = await allPages({ tenantId: 'hist-a' });
    const want = expected((r) => r.tenantId === 'hist-a' && within(r, 3));
    expect(want.length).toBeGreaterThan(200);
    expect(rows.map((r) => r.messageId)).toEqual(want);
    expect(pages).toBe(Math.ceil(want.length / 40));
    expect(new Set(rows.map((r) => r.tenantId))).toEqual(new Set(['hist-a']));
    // Per page one Query on the index (unfiltered pages are read exactly), then one BatchGetItem for the live
    // columns of exactly those rows (and the one that tells whether a next page exists); never a scan.
    expect(requests).toHaveLength(2 * pages);
    for (const [i, request] of requests.entries()) {
      if (i % 2 === 0) {
        expect(request.command).toBe('QueryCommand');
        expect(request.input.IndexName).toBe('byTenant');
        expect(request.input.TableName).toBe(table);
      } else {
        expect(request.command).toBe('BatchGetItemCommand');
        const keys = (request.input.RequestItems as Record<string, { Keys: unknown[] }>)[table]?.Keys ?? [];
        expect(keys.length).toBeLessThanOrEqual(41);
      }
    }
  });

  it('filters failed emails of one environment in a window, paged by 7', async () => {
    const since = '2026-11-15T00:00:00.000Z';
    const until = '2026-11-17';
    const { rows } = await allPages({
      tenantId: 'hist-b',
      env: 'central-sandbox',
      failed: true,
      since,
      until,
      limit: 7,
    });
    const want = expected(
      (r) =>
        r.tenantId === 'hist-b' &&
        r.environment === 'central-sandbox' &&
        FAILED_STATUSES.includes(r.status) &&
        r.createdAt >= since &&
        r.createdAt <= '2026-11-17T23:59:59.999Z',
    );
    expect(want.length).toBeGreaterThan(7);
    expect(rows.map((r) => r.messageId)).toEqual(want);
    expect(indexOnly(requests)).toBe(true);
  });

  it('finds one customer’s invoice by recipient, event type and object id over the whole retention (--all)', async () => {
    const { rows } = await allPages({
      tenantId: 'hist-c',
      recipient: 'AR@example.com',
      eventType: 'BillRunCompleted',
      all: true,
    });
    expect(rows.map((r) => r.messageId)).toEqual(
      expected(
        (r) =>
          r.tenantId === 'hist-c' &&
          r.recipients.includes('ar@example.com') &&
          r.eventType === 'BillRunCompleted',
      ),
    );
    const invoice = records.find((r) => r.tenantId === 'hist-c' && within(r, 3)) as Fixture;
    const byObject = await allPages({ tenantId: 'hist-c', objectId: invoice.itemKey });
    expect(byObject.rows.map((r) => r.messageId)).toEqual(
      expected((r) => r.tenantId === 'hist-c' && r.itemKey === invoice.itemKey && within(r, 3)),
    );
    const byEvent = await allPages({ tenantId: 'hist-c', objectId: invoice.eventId, status: invoice.status });
    expect(byEvent.rows.map((r) => r.messageId)).toEqual(
      expected(
        (r) =>
          r.tenantId === 'hist-c' &&
          r.eventId === invoice.eventId &&
          r.status === invoice.status &&
          within(r, 3),
      ),
    );
    expect(indexOnly(requests)).toBe(true);
  });

  it('refuses more than 3 days without --all, a page over 40, and another tenant’s page token', async () => {
    const client = admin();
    await expect(
      client.messages.list({ tenantId: 'hist-a', since: '2026-11-10', until: '2026-11-14' }),
    ).rejects.toThrow(AdminInputError);
    await expect(client.messages.list({ tenantId: 'hist-a', limit: 41 })).rejects.toThrow(/from 1 to 40/);
    const page = await client.messages.list({ tenantId: 'hist-a', limit: 5 });
    expect(page.nextPageToken).toBeDefined();
    await expect(
      client.messages.list({ tenantId: 'hist-b', pageToken: page.nextPageToken as string }),
    ).rejects.toMatchObject({ code: 'INVALID_PAGE_TOKEN' });
  });
});
