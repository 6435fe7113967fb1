import { type DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../domain/sending/ports';
import { type Tenant, type TenantDirectory, tenantSchema } from '../domain/tenant';

export interface DynamoTenantStoreOptions {
  readonly tableName: string;
  /** How long a warm container trusts a tenant it read. @default 30 s */
  readonly cacheTtlSeconds?: number;
  readonly clock?: Clock;
}

const key = (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: 'PROFILE' });

/**
 * Tenants in the tenants table, one item each. Reads are cached per warm container for a short TTL so the
 * hot path does not read the table per message; writes validate the whole tenant first.
 */
export class DynamoTenantStore implements TenantDirectory {
  private readonly cache = new Map<string, { tenant: Tenant | undefined; until: number }>();
  private readonly clock: Clock;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: DynamoTenantStoreOptions,
  ) {
    this.clock = options.clock ?? { now: () => new Date() };
  }

  async get(tenantId: string): Promise<Tenant | undefined> {
    const now = this.clock.now().getTime();
    const cached = this.cache.get(tenantId);
    if (cached && cached.until > now) return cached.tenant;
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.options.tableName, Key: key(tenantId) }),
    );
    const tenant = Item ? tenantSchema.parse(Item.tenant) : undefined;
    this.cache.set(tenantId, { tenant, until: now + (this.options.cacheTtlSeconds ?? 30) * 1000 });
    return tenant;
  }

  /** Validates and stores a tenant; throws a ZodError naming each invalid field. */
  async put(input: unknown): Promise<Tenant> {
    // Parsed and re-serialised: the stored item holds exactly the validated fields, no undefined values.
    const tenant = tenantSchema.parse(JSON.parse(JSON.stringify(input)));
    await this.client.send(
      new PutCommand({
        TableName: this.options.tableName,
        Item: { ...key(tenant.tenantId), tenant, updatedAt: this.clock.now().toISOString() },
      }),
    );
    this.cache.delete(tenant.tenantId);
    return tenant;
  }

  async list(): Promise<Tenant[]> {
    const tenants: Tenant[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({ TableName: this.options.tableName, ExclusiveStartKey }),
      );
      for (const item of page.Items ?? [])
        if (item.sk === 'PROFILE') tenants.push(tenantSchema.parse(item.tenant));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return tenants.sort((a, b) => a.tenantId.localeCompare(b.tenantId));
  }
}
