import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDefinitionStore, definitionKeys } from '../../../lambdas/adapters/definition-store';
import { matchDefinitions } from '../../../lambdas/domain/notifications/definition-matching';
import { parseNotificationEvent } from '../../../lambdas/domain/notifications/event-schema';
import {
  InvalidDefinitionError,
  InvalidTemplateError,
  TemplateInUseError,
  TemplateNotFoundError,
} from '../../../lambdas/domain/notifications/notification-errors';
import { TABLES } from '../../../lib/schema/tables';
import { testAws } from '../../support/env';
import { createScratchTable, deleteScratchTable } from '../../support/scratch-table';

const _schema = TABLES.definitions;
const dynamodb = new DynamoDBClient(testAws.dynamodb);
const client = DynamoDBDocumentClient.from(dynamodb);
const tableName = `definitions-${process.pid}-${Date.now()}`;

/** A clock the test moves by hand, so cache expiry is checked without waiting. */
const clock = { current: new Date('2025-03-01T00:00:00Z'), now: () => clock.current };
const store = new DynamoDefinitionStore({ client, tableName, cacheTtlSeconds: 30, clock });

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(__dirname, '../../fixtures/events', name), 'utf8'));

let tenantSeq = 0;
const newTenant = () => `tenant-${process.pid}-${++tenantSeq}`;

const templateFor = (tenantId: string, templateId = 'invoice-posted') => ({
  ...fixture('invoice-posted.template.json'),
  tenantId,
  templateId,
});
const definitionFor = (tenantId: string, overrides: Record<string, unknown> = {}) => ({
  ...fixture('invoice-posted.definition.json'),
  tenantId,
  ...overrides,
});

beforeAll(async () => {
  await createScratchTable(dynamodb, 'definitions', { tableName });
});

afterAll(async () => {
  await deleteScratchTable(dynamodb, tableName);
  dynamodb.destroy();
});

describe('DynamoDefinitionStore', () => {
  it('stores templates with a version that grows by one on every put', async () => {
    const tenantId = newTenant();
    const first = await store.putTemplate(templateFor(tenantId));
    const second = await store.putTemplate({
      ...templateFor(tenantId),
      subject: 'Invoice {{ item.invoiceNumber }}',
    });
    expect([first.version, second.version]).toEqual([1, 2]);
    expect(await store.getTemplate(tenantId, 'invoice-posted')).toMatchObject({
      version: 2,
      subject: 'Invoice {{ item.invoiceNumber }}',
      headers: { 'X-Invoice-Number': '{{ item.invoiceNumber }}' },
    });
  });

  it('refuses a template with a disallowed header or Liquid that does not parse', async () => {
    const tenantId = newTenant();
    await expect(
      store.putTemplate({ ...templateFor(tenantId), headers: { Bcc: 'x@evil.example' } }),
    ).rejects.toThrow(InvalidTemplateError);
    await expect(
      store.putTemplate({ ...templateFor(tenantId), html: '{% include "secrets" %}' }),
    ).rejects.toThrow(/the include tag is not available/);
    expect(await store.getTemplate(tenantId, 'invoice-posted')).toBeUndefined();
  });

  it('stores a definition only when its template exists', async () => {
    const tenantId = newTenant();
    await expect(store.putDefinition(definitionFor(tenantId))).rejects.toThrow(TemplateNotFoundError);
    await store.putTemplate(templateFor(tenantId));
    const stored = await store.putDefinition(definitionFor(tenantId));
    expect(await store.getDefinition(tenantId, 'production', 'invoice-posted-email')).toEqual(stored);
  });

  it('refuses an invalid definition with the field named', async () => {
    const tenantId = newTenant();
    await expect(store.putDefinition(definitionFor(tenantId, { to: ['billTo.email'] }))).rejects.toThrow(
      InvalidDefinitionError,
    );
    await expect(store.putDefinition(definitionFor(tenantId, { environment: 'staging' }))).rejects.toThrow(
      /environment: must be one of/,
    );
  });

  it('lists definitions per environment and templates per tenant, and deletes them', async () => {
    const tenantId = newTenant();
    await store.putTemplate(templateFor(tenantId, 'a-template'));
    await store.putTemplate(templateFor(tenantId, 'b-template'));
    await store.putDefinition(definitionFor(tenantId, { definitionId: 'one', templateId: 'a-template' }));
    await store.putDefinition(definitionFor(tenantId, { definitionId: 'two', templateId: 'b-template' }));
    await store.putDefinition(
      definitionFor(tenantId, {
        definitionId: 'sandbox',
        templateId: 'a-template',
        environment: 'api-sandbox',
      }),
    );
    expect((await store.listDefinitions(tenantId, 'production')).map((d) => d.definitionId)).toEqual([
      'one',
      'two',
    ]);
    expect((await store.listDefinitions(tenantId)).map((d) => `${d.environment}/${d.definitionId}`)).toEqual([
      'api-sandbox/sandbox',
      'production/one',
      'production/two',
    ]);
    expect((await store.listTemplates(tenantId)).map((t) => t.templateId)).toEqual([
      'a-template',
      'b-template',
    ]);

    expect(await store.deleteDefinition(tenantId, 'production', 'two')).toBe(true);
    expect(await store.deleteDefinition(tenantId, 'production', 'two')).toBe(false);
    expect(await store.deleteTemplate(tenantId, 'b-template')).toBe(true);
    expect(await store.listTemplates(tenantId)).toHaveLength(1);
  });

  it('refuses to delete a template a definition still uses', async () => {
    const tenantId = newTenant();
    await store.putTemplate(templateFor(tenantId));
    await store.putDefinition(definitionFor(tenantId));
    const attempt = store.deleteTemplate(tenantId, 'invoice-posted');
    await expect(attempt).rejects.toThrow(TemplateInUseError);
    await expect(attempt).rejects.toThrow(/production\/invoice-posted-email/);
  });

  it('pages through more definitions than one query returns', async () => {
    const tenantId = newTenant();
    await store.putTemplate(templateFor(tenantId));
    const bigFilter = {
      any: Array.from({ length: 20 }, (_, i) => ({ path: '$.note', eq: 'x'.repeat(200) + i })),
    };
    // ~4 KB per item: 300 items exceed the 1 MB page limit of a Query.
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        client.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...definitionKeys.definition(tenantId, 'production', `def-${String(i).padStart(3, '0')}`),
              definition: {
                ...definitionFor(tenantId, { definitionId: `def-${String(i).padStart(3, '0')}` }),
                cc: [],
                bcc: [],
                filter: bigFilter,
                description: 'd'.repeat(2000),
              },
            },
          }),
        ),
      ),
    );
    const listed = await store.listDefinitions(tenantId, 'production');
    expect(listed).toHaveLength(300);
    expect(listed[299]?.definitionId).toBe('def-299');
  });

  describe('lookups on the dispatch path', () => {
    it('serves definitions of a tenant, environment and type that match the documented event', async () => {
      const tenantId = newTenant();
      await store.putTemplate(templateFor(tenantId));
      await store.putDefinition(definitionFor(tenantId));
      await store.putDefinition(
        definitionFor(tenantId, { definitionId: 'payments', eventType: 'com.tenantmail.payment.processed' }),
      );
      const event = parseNotificationEvent({ ...fixture('invoice-posted.event.json'), tenantid: tenantId });
      const candidates = await store.definitionsFor(tenantId, 'production', event.type);
      expect(candidates.map((d) => d.definitionId)).toEqual(['invoice-posted-email']);
      expect(matchDefinitions(event, candidates).map((d) => d.definitionId)).toEqual([
        'invoice-posted-email',
      ]);
      expect(await store.definitionsFor(tenantId, 'api-sandbox', event.type)).toEqual([]);
    });

    it('caches lookups until the TTL passes, then reads changes made elsewhere', async () => {
      const tenantId = newTenant();
      await store.putTemplate(templateFor(tenantId));
      await store.putDefinition(definitionFor(tenantId));
      expect(
        await store.definitionsFor(tenantId, 'production', 'com.tenantmail.invoice.posted'),
      ).toHaveLength(1);
      expect((await store.templateFor(tenantId, 'invoice-posted'))?.version).toBe(1);

      // Another container changes the table: this one keeps its cached view until the TTL expires.
      const elsewhere = new DynamoDefinitionStore({ client, tableName, clock });
      await elsewhere.putDefinition(definitionFor(tenantId, { definitionId: 'second' }));
      await elsewhere.putTemplate(templateFor(tenantId));
      expect(
        await store.definitionsFor(tenantId, 'production', 'com.tenantmail.invoice.posted'),
      ).toHaveLength(1);
      expect((await store.templateFor(tenantId, 'invoice-posted'))?.version).toBe(1);

      clock.current = new Date(clock.current.getTime() + 31_000);
      expect(
        await store.definitionsFor(tenantId, 'production', 'com.tenantmail.invoice.posted'),
      ).toHaveLength(2);
      expect((await store.templateFor(tenantId, 'invoice-posted'))?.version).toBe(2);
    });

    it('sees its own writes at once', async () => {
      const tenantId = newTenant();
      await store.putTemplate(templateFor(tenantId));
      expect(await store.definitionsFor(tenantId, 'production', 'com.tenantmail.invoice.posted')).toEqual([]);
      await store.putDefinition(definitionFor(tenantId));
      expect(
        await store.definitionsFor(tenantId, 'production', 'com.tenantmail.invoice.posted'),
      ).toHaveLength(1);
      await store.deleteDefinition(tenantId, 'production', 'invoice-posted-email');
      expect(await store.definitionsFor(tenantId, 'production', 'com.tenantmail.invoice.posted')).toEqual([]);
    });

    it('returns undefined for a template that does not exist', async () => {
      expect(await store.templateFor(newTenant(), 'missing')).toBeUndefined();
    });
  });
});
