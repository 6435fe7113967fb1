import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TransientError } from '../domain/errors';
import type { PauseMark, TenantPauseStore } from '../domain/feedback/tenant-pause';
import { ENVIRONMENTS, type Environment } from '../domain/scope';
import type { Clock } from '../domain/sending/ports';

const key = (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: 'PROFILE' });

function unavailable(operation: string, cause: unknown): TransientError {
  return new TransientError('TENANTS_TABLE_UNAVAILABLE', `tenants table ${operation} failed`, { cause });
}

/**
 * Pause and resume on the tenants table (`tenant.environments.<env>.paused`, the field the sender checks).
 * Each environment is one conditional UpdateItem on that nested attribute, so a pause never overwrites an
 * earlier pause's reason, never recreates an environment an operator removed meanwhile, and never rewrites the
 * rest of the tenant. The sender caches tenants for up to 30 s, so a pause takes effect within that time.
 */
export class DynamoTenantPauseStore implements TenantPauseStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock = { now: () => new Date() },
  ) {}

  async exists(tenantId: string): Promise<boolean> {
    return (await this.environments(tenantId)) !== undefined;
  }

  async pause(tenantId: string, mark: PauseMark): Promise<readonly Environment[]> {
    const paused: Environment[] = [];
    for (const environment of (await this.environments(tenantId)) ?? []) {
      const changed = await this.update(
        tenantId,
        environment,
        'SET #tenant.#envs.#env.paused = :paused, updatedAt = :at',
        'attribute_exists(#tenant.#envs.#env) AND attribute_not_exists(#tenant.#envs.#env.paused)',
        { ':paused': { reason: mark.reason, at: mark.at }, ':at': mark.at },
      );
      if (changed) paused.push(environment);
    }
    return paused;
  }

  async resume(tenantId: string): Promise<readonly Environment[]> {
    const resumed: Environment[] = [];
    for (const environment of (await this.environments(tenantId)) ?? []) {
      const changed = await this.update(
        tenantId,
        environment,
        'REMOVE #tenant.#envs.#env.paused SET updatedAt = :at',
        'attribute_exists(#tenant.#envs.#env.paused)',
        { ':at': this.clock.now().toISOString() },
      );
      if (changed) resumed.push(environment);
    }
    return resumed;
  }

  /** The tenant's environments, or undefined when the tenant does not exist. */
  private async environments(tenantId: string): Promise<Environment[] | undefined> {
    let item: Record<string, unknown> | undefined;
    try {
      ({ Item: item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: key(tenantId), ConsistentRead: true }),
      ));
    } catch (error) {
      throw unavailable('read', error);
    }
    if (!item) return undefined;
    const tenant = item.tenant as { environments?: Record<string, unknown> } | undefined;
    const present = tenant?.environments ?? {};
    // In the canonical order: DynamoDB does not keep a map's key order.
    return ENVIRONMENTS.filter((environment) => environment in present);
  }

  private async update(
    tenantId: string,
    environment: Environment,
    updateExpression: string,
    conditionExpression: string,
    values: Record<string, unknown>,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key(tenantId),
          UpdateExpression: updateExpression,
          ConditionExpression: conditionExpression,
          ExpressionAttributeNames: { '#tenant': 'tenant', '#envs': 'environments', '#env': environment },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw unavailable('update', error);
    }
  }
}
