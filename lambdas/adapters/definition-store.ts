import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { NotificationDefinitionSource } from '../domain/notifications/definition-ports';
import { type Definition, parseDefinition } from '../domain/notifications/definition-schema';
import { TemplateInUseError, TemplateNotFoundError } from '../domain/notifications/notification-errors';
import { assertTemplateCompiles } from '../domain/notifications/template-renderer';
import { parseTemplate, parseTemplateContent, type Template } from '../domain/notifications/template-schema';
import type { Environment } from '../domain/scope';
import type { Clock } from '../domain/sending/ports';

export interface DynamoDefinitionStoreOptions {
  readonly client: DynamoDBDocumentClient;
  /** The `definitions` table (lib/schema/tables.ts). */
  readonly tableName: string;
  /** How long a warm container trusts definitions and templates it read. @default 30 s */
  readonly cacheTtlSeconds?: number;
  /** Cached lookups kept at most (oldest evicted). @default 1000 */
  readonly cacheSize?: number;
  readonly clock?: Clock;
}

/** Item keys: definitions `DEF#<environment>#<definitionId>` and templates `TPL#<templateId>` under `TENANT#<id>`. */
export const definitionKeys = {
  definition: (tenantId: string, environment: Environment, definitionId: string) => ({
    pk: `TENANT#${tenantId}`,
    sk: `DEF#${environment}#${definitionId}`,
  }),
  template: (tenantId: string, templateId: string) => ({ pk: `TENANT#${tenantId}`, sk: `TPL#${templateId}` }),
};

/** JSON round trip: drops `undefined` (the injected client may not be configured to remove them). */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function isConditionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'ConditionalCheckFailedException') return true;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
  return (
    error.name === 'TransactionCanceledException' &&
    !!reasons?.some((r) => r.Code === 'ConditionalCheckFailed')
  );
}

/**
 * Notification definitions and templates in the `definitions` table. Writes validate first (schema, and for
 * templates that every Liquid part compiles), a definition can only be stored when its template exists
 * (checked in the same transaction), and every template put bumps `version` atomically. The two lookups the
 * dispatcher makes per event are cached per warm container for a short TTL; this instance's own writes drop the
 * affected cache entries at once, other containers see them when their TTL expires.
 */
export class DynamoDefinitionStore implements NotificationDefinitionSource {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly ttlMs: number;
  private readonly cacheSize: number;
  private readonly clock: Clock;
  private readonly cache = new Map<string, { until: number; value: Promise<unknown> }>();

  constructor(options: DynamoDefinitionStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.ttlMs = (options.cacheTtlSeconds ?? 30) * 1000;
    this.cacheSize = options.cacheSize ?? 1000;
    this.clock = options.clock ?? { now: () => new Date() };
  }

  /** Definitions of a tenant and environment for one event type (cached; inactive ones included). */
  async definitionsFor(tenantId: string, environment: Environment, eventType: string): Promise<Definition[]> {
    const all = await this.cached(`DEF\u0000${tenantId}\u0000${environment}`, () =>
      this.listDefinitions(tenantId, environment),
    );
    return all.filter((definition) => definition.eventType === eventType);
  }

  /** A tenant's template (cached), or `undefined`. */
  templateFor(tenantId: string, templateId: string): Promise<Template | undefined> {
    return this.cached(`TPL\u0000${tenantId}\u0000${templateId}`, () =>
      this.getTemplate(tenantId, templateId),
    );
  }

  /**
   * Validates and stores (creates or replaces) a definition.
   * @throws InvalidDefinitionError naming each invalid field; TemplateNotFoundError when its template is missing.
   */
  async putDefinition(input: unknown): Promise<Definition> {
    const definition = parseDefinition(input);
    const { tenantId, environment, definitionId, templateId } = definition;
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: this.tableName,
                Key: definitionKeys.template(tenantId, templateId),
                ConditionExpression: 'attribute_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  ...definitionKeys.definition(tenantId, environment, definitionId),
                  kind: 'definition',
                  eventType: definition.eventType,
                  templateId,
                  definition: plain(definition),
                  updatedAt: this.clock.now().toISOString(),
                },
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new TemplateNotFoundError(tenantId, templateId, { cause: error });
      throw error;
    }
    this.invalidate(`DEF\u0000${tenantId}\u0000${environment}`);
    return definition;
  }

  async getDefinition(
    tenantId: string,
    environment: Environment,
    definitionId: string,
  ): Promise<Definition | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: definitionKeys.definition(tenantId, environment, definitionId),
      }),
    );
    return Item ? parseDefinition(Item.definition) : undefined;
  }

  /** All definitions of a tenant, or of one of its environments, ordered by environment then id. */
  listDefinitions(tenantId: string, environment?: Environment): Promise<Definition[]> {
    const prefix = environment ? `DEF#${environment}#` : 'DEF#';
    return this.query(tenantId, prefix, (item) => parseDefinition(item.definition));
  }

  /** Deletes a definition; returns whether it existed. */
  async deleteDefinition(tenantId: string, environment: Environment, definitionId: string): Promise<boolean> {
    const { Attributes } = await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: definitionKeys.definition(tenantId, environment, definitionId),
        ReturnValues: 'ALL_OLD',
      }),
    );
    this.invalidate(`DEF\u0000${tenantId}\u0000${environment}`);
    return Attributes !== undefined;
  }

  /**
   * Validates (fields and Liquid syntax) and stores a template; its `version` becomes the previous one plus 1
   * (1 for a new template), in one atomic update, so renderer caches keyed by version never serve stale content.
   * @throws InvalidTemplateError naming each invalid field or the Liquid parse error.
   */
  async putTemplate(input: unknown): Promise<Template> {
    const content = parseTemplateContent(input);
    assertTemplateCompiles(content);
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: definitionKeys.template(content.tenantId, content.templateId),
        UpdateExpression: 'SET #kind = :kind, #template = :template, #updatedAt = :now ADD #version :one',
        ExpressionAttributeNames: {
          '#kind': 'kind',
          '#template': 'template',
          '#updatedAt': 'updatedAt',
          '#version': 'version',
        },
        ExpressionAttributeValues: {
          ':kind': 'template',
          ':template': plain(content),
          ':now': this.clock.now().toISOString(),
          ':one': 1,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    this.invalidate(`TPL\u0000${content.tenantId}\u0000${content.templateId}`);
    return this.templateFromItem(Attributes ?? {});
  }

  async getTemplate(tenantId: string, templateId: string): Promise<Template | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: definitionKeys.template(tenantId, templateId) }),
    );
    return Item ? this.templateFromItem(Item) : undefined;
  }

  /** All templates of a tenant, ordered by id. */
  listTemplates(tenantId: string): Promise<Template[]> {
    return this.query(tenantId, 'TPL#', (item) => this.templateFromItem(item));
  }

  /**
   * Deletes a template; returns whether it existed. Refuses while a definition in any environment still uses
   * it (a guard for operators, read before the delete, not a transaction).
   * @throws TemplateInUseError listing the definitions that use it.
   */
  async deleteTemplate(tenantId: string, templateId: string): Promise<boolean> {
    const users = (await this.listDefinitions(tenantId)).filter(
      (definition) => definition.templateId === templateId,
    );
    if (users.length > 0) {
      throw new TemplateInUseError(
        tenantId,
        templateId,
        users.map((definition) => `${definition.environment}/${definition.definitionId}`),
      );
    }
    const { Attributes } = await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: definitionKeys.template(tenantId, templateId),
        ReturnValues: 'ALL_OLD',
      }),
    );
    this.invalidate(`TPL\u0000${tenantId}\u0000${templateId}`);
    return Attributes !== undefined;
  }

  private templateFromItem(item: Record<string, unknown>): Template {
    const template = (item.template ?? {}) as Record<string, unknown>;
    return parseTemplate({ ...template, version: item.version, updatedAt: item.updatedAt });
  }

  private async query<T>(
    tenantId: string,
    prefix: string,
    map: (item: Record<string, unknown>) => T,
  ): Promise<T[]> {
    const out: T[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': `TENANT#${tenantId}`, ':prefix': prefix },
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) out.push(map(item));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return out;
  }

  /** Caches the promise, so concurrent lookups share one read; a failed read is not cached. */
  private cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.clock.now().getTime();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.value as Promise<T>;
    const value = load();
    this.cache.delete(key);
    this.cache.set(key, { until: now + this.ttlMs, value });
    value.catch(() => {
      if (this.cache.get(key)?.value === value) this.cache.delete(key);
    });
    if (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    return value;
  }

  private invalidate(key: string): void {
    this.cache.delete(key);
  }
}
