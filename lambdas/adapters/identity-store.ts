import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type IdentityCounts,
  type IdentityName,
  type IdentityRecord,
  type IdentityStatusUpdate,
  type IdentityStore,
  type IdentityType,
  MAX_DOMAIN_IDENTITIES,
  MAX_EMAIL_IDENTITIES,
  type VerificationStatus,
} from '../domain/identity/identity';
import {
  IdentityAlreadyExistsError,
  IdentityClaimedError,
  IdentityDomainConflictError,
  IdentityInsideClaimedDomainError,
  IdentityLimitExceededError,
  IdentityNotFoundError,
  IdentityStoreConflictError,
} from '../domain/identity/identity-errors';
import { parseIdentity } from '../domain/identity/identity-name';

/**
 * Item layout of the `identities` table (one table per verification scope, see lib/schema/tables.ts):
 * - identity:  `pk=TENANT#<tenantId>`  `sk=IDENTITY#<identity>`  identityType, domain, status, dkimTokens, times;
 * - counts:    `pk=TENANT#<tenantId>`  `sk=LIMITS`               domainCount, emailCount;
 * - claim:     `pk=IDENTITY#<identity>` `sk=CLAIM`                tenantId (an identity belongs to one tenant per scope);
 * - domain marker: `pk=TENANT#<tenantId>` `sk=DOMAIN#<domain>`   kind (`domain` | `email`), refCount (identities of
 *   that kind in the domain). A domain identity and an email identity of the same domain both write this one item
 *   with different kinds, so they conflict; two email identities of one domain share it.
 */
export const identityKeys = {
  tenant: (tenantId: string) => `TENANT#${tenantId}`,
  identity: (identity: string) => `IDENTITY#${identity}`,
  limits: 'LIMITS',
  claimPk: (identity: string) => `IDENTITY#${identity}`,
  claimSk: 'CLAIM',
  domainMarker: (domain: string) => `DOMAIN#${domain}`,
} as const;

export interface DynamoIdentityStoreOptions {
  /** Document client, created once per container (tests point it at DynamoDB Local). */
  readonly client: DynamoDBDocumentClient;
  /** The scope's identities table. */
  readonly tableName: string;
  /**
   * Attempts of a transaction that DynamoDB cancels because of a concurrent transaction on the same items
   * (`TransactionConflict`); conditions are re-evaluated on each attempt, so limits stay exact.
   * @default 8
   */
  readonly maxAttempts?: number;
  /** @default () => new Date() */
  readonly clock?: () => Date;
}

interface IdentityItem {
  pk: string;
  sk: string;
  tenantId: string;
  identity: string;
  identityType: IdentityType;
  domain: string;
  status: VerificationStatus;
  dkimTokens: string[];
  createdAt: string;
  updatedAt: string;
  statusCheckedAt?: string;
}

interface MarkerItem {
  kind: IdentityType;
  refCount: number;
}

const COUNT_ATTRIBUTE: Record<IdentityType, 'domainCount' | 'emailCount'> = {
  domain: 'domainCount',
  email: 'emailCount',
};
const LIMIT: Record<IdentityType, number> = { domain: MAX_DOMAIN_IDENTITIES, email: MAX_EMAIL_IDENTITIES };

/** Positions of the items in the add transaction, to read its cancellation reasons. */
const ADD = { limits: 0, claim: 1, identity: 2, marker: 3 } as const;
/** Positions of the items in the delete transaction. */
const DELETE = { identity: 0, claim: 1, limits: 2, marker: 3 } as const;

/**
 * DynamoDB implementation of the {@link IdentityStore} port. Every limit is a condition inside one
 * `TransactWriteItems`, never a read-then-write, so concurrent requests cannot exceed them.
 */
export class DynamoIdentityStore implements IdentityStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly maxAttempts: number;
  private readonly clock: () => Date;

  constructor(options: DynamoIdentityStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.clock = options.clock ?? (() => new Date());
  }

  /**
   * Adds a domain or email identity to a tenant (normalised first), atomically enforcing: at most 1 domain and
   * 3 email identities, no domain and email identity of the same domain, one tenant per identity in the scope.
   * @throws IdentityLimitExceededError, IdentityDomainConflictError, IdentityAlreadyExistsError,
   *   IdentityClaimedError, InvalidIdentityError; IdentityStoreConflictError when contention outlasts the retries.
   */
  async addIdentity(input: {
    tenantId: string;
    identity: string;
    status?: VerificationStatus;
    dkimTokens?: readonly string[];
    now?: Date;
  }): Promise<IdentityRecord> {
    const name = parseIdentity(input.identity);
    const now = (input.now ?? this.clock()).toISOString();
    const tenantPk = identityKeys.tenant(input.tenantId);
    const item: IdentityItem = {
      pk: tenantPk,
      sk: identityKeys.identity(name.identity),
      tenantId: input.tenantId,
      identity: name.identity,
      identityType: name.type,
      domain: name.domain,
      status: input.status ?? 'PENDING',
      dkimTokens: [...(input.dkimTokens ?? [])],
      createdAt: now,
      updatedAt: now,
    };
    const count = COUNT_ATTRIBUTE[name.type];
    const transactItems: NonNullable<TransactWriteCommandInput['TransactItems']> = [];
    transactItems[ADD.limits] = {
      Update: {
        TableName: this.tableName,
        Key: { pk: tenantPk, sk: identityKeys.limits },
        UpdateExpression: 'ADD #count :one SET updatedAt = :now',
        ConditionExpression: 'attribute_not_exists(#count) OR #count < :max',
        ExpressionAttributeNames: { '#count': count },
        ExpressionAttributeValues: { ':one': 1, ':now': now, ':max': LIMIT[name.type] },
      },
    };
    transactItems[ADD.claim] = {
      Put: {
        TableName: this.tableName,
        Item: {
          pk: identityKeys.claimPk(name.identity),
          sk: identityKeys.claimSk,
          tenantId: input.tenantId,
          identityType: name.type,
          createdAt: now,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
    transactItems[ADD.identity] = {
      Put: { TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' },
    };
    transactItems[ADD.marker] = this.addMarker(tenantPk, name, now);
    // A domain another tenant holds covers its subdomains and addresses: refuse anything inside it, in the same
    // transaction (a domain identity's own name is the claim above).
    const enclosing = enclosingDomains(name.domain).filter((domain) => domain !== name.identity);
    for (const domain of enclosing) {
      transactItems.push({
        ConditionCheck: {
          TableName: this.tableName,
          Key: { pk: identityKeys.claimPk(domain), sk: identityKeys.claimSk },
          ConditionExpression: 'attribute_not_exists(pk) OR tenantId = :me',
          ExpressionAttributeValues: { ':me': input.tenantId },
        },
      });
    }

    await this.transact(transactItems, async (reasons, cause) => {
      // Most specific first: an identity that exists explains every other failed condition.
      if (failed(reasons, ADD.claim) || failed(reasons, ADD.identity)) {
        const owner = reasons[ADD.claim]?.Item?.tenantId?.S ?? (await this.findOwner(name.identity));
        return owner === undefined || owner === input.tenantId
          ? new IdentityAlreadyExistsError(name.identity, { cause })
          : new IdentityClaimedError(name.identity, { cause });
      }
      if (failed(reasons, ADD.limits))
        return new IdentityLimitExceededError(name.type, LIMIT[name.type], { cause });
      const taken = enclosing.findIndex((_, i) => failed(reasons, ADD.marker + 1 + i));
      if (taken >= 0)
        return new IdentityInsideClaimedDomainError(name.identity, enclosing[taken] ?? '', { cause });
      if (failed(reasons, ADD.marker))
        return new IdentityDomainConflictError(name.domain, name.type, { cause });
      return undefined;
    });
    return toRecord(item);
  }

  private addMarker(
    tenantPk: string,
    name: IdentityName,
    now: string,
  ): NonNullable<TransactWriteCommandInput['TransactItems']>[number] {
    const Key = { pk: tenantPk, sk: identityKeys.domainMarker(name.domain) };
    if (name.type === 'domain') {
      return {
        Put: {
          TableName: this.tableName,
          Item: { ...Key, kind: 'domain', refCount: 1, updatedAt: now },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      };
    }
    return {
      Update: {
        TableName: this.tableName,
        Key,
        UpdateExpression: 'SET #kind = :email, updatedAt = :now ADD refCount :one',
        ConditionExpression: 'attribute_not_exists(pk) OR #kind = :email',
        ExpressionAttributeNames: { '#kind': 'kind' },
        ExpressionAttributeValues: { ':email': 'email', ':one': 1, ':now': now },
      },
    };
  }

  async getIdentity(tenantId: string, identity: string): Promise<IdentityRecord | undefined> {
    const name = parseIdentity(identity);
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: identityKeys.tenant(tenantId), sk: identityKeys.identity(name.identity) },
        ConsistentRead: true,
      }),
    );
    return Item ? toRecord(Item as IdentityItem) : undefined;
  }

  /** Every identity of a tenant in this scope, ordered by identity. */
  async listIdentities(tenantId: string): Promise<IdentityRecord[]> {
    const records: IdentityRecord[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: {
            ':pk': identityKeys.tenant(tenantId),
            ':prefix': identityKeys.identity(''),
          },
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) records.push(toRecord(item as IdentityItem));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return records;
  }

  /**
   * Records what SES reports about an identity: verification status, DKIM tokens (when given) and the time
   * it was checked. @throws IdentityNotFoundError
   */
  async updateStatus(
    tenantId: string,
    identity: string,
    update: IdentityStatusUpdate,
  ): Promise<IdentityRecord> {
    const name = parseIdentity(identity);
    const checkedAt = (update.checkedAt ?? this.clock()).toISOString();
    const tokens = update.dkimTokens ? { ':tokens': [...update.dkimTokens] } : {};
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: identityKeys.tenant(tenantId), sk: identityKeys.identity(name.identity) },
          UpdateExpression: `SET #status = :status, statusCheckedAt = :at, updatedAt = :at${
            update.dkimTokens ? ', dkimTokens = :tokens' : ''
          }`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':status': update.status, ':at': checkedAt, ...tokens },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toRecord(Attributes as IdentityItem);
    } catch (error) {
      if (isConditionalCheckFailure(error)) throw new IdentityNotFoundError(name.identity, { cause: error });
      throw error;
    }
  }

  /**
   * Removes an identity with its claim, counts and domain marker in one transaction, so the tenant can add
   * another and the identity becomes free for other tenants of the scope. @throws IdentityNotFoundError
   */
  async deleteIdentity(tenantId: string, identity: string): Promise<void> {
    const name = parseIdentity(identity);
    const tenantPk = identityKeys.tenant(tenantId);
    const markerKey = { pk: tenantPk, sk: identityKeys.domainMarker(name.domain) };
    for (let attempt = 1; ; attempt++) {
      const [current, marker] = await Promise.all([
        this.getIdentity(tenantId, name.identity),
        this.client
          .send(new GetCommand({ TableName: this.tableName, Key: markerKey, ConsistentRead: true }))
          .then(({ Item }) => Item as MarkerItem | undefined),
      ]);
      if (!current) throw new IdentityNotFoundError(name.identity);
      const count = COUNT_ATTRIBUTE[current.type];
      const refCount = marker?.refCount ?? 0;
      const transactItems: NonNullable<TransactWriteCommandInput['TransactItems']> = [];
      transactItems[DELETE.identity] = {
        Delete: {
          TableName: this.tableName,
          Key: { pk: tenantPk, sk: identityKeys.identity(name.identity) },
          ConditionExpression: 'attribute_exists(pk)',
        },
      };
      transactItems[DELETE.claim] = {
        Delete: {
          TableName: this.tableName,
          Key: { pk: identityKeys.claimPk(name.identity), sk: identityKeys.claimSk },
          ConditionExpression: 'attribute_not_exists(pk) OR tenantId = :tenant',
          ExpressionAttributeValues: { ':tenant': tenantId },
        },
      };
      transactItems[DELETE.limits] = {
        Update: {
          TableName: this.tableName,
          Key: { pk: tenantPk, sk: identityKeys.limits },
          UpdateExpression: 'ADD #count :minusOne',
          ConditionExpression: '#count > :zero',
          ExpressionAttributeNames: { '#count': count },
          ExpressionAttributeValues: { ':minusOne': -1, ':zero': 0 },
        },
      };
      // The marker goes when its last identity goes; the refCount read above is a condition, so a concurrent
      // add or delete in the same domain cancels this transaction and the loop re-reads.
      transactItems[DELETE.marker] =
        refCount <= 1
          ? {
              Delete: {
                TableName: this.tableName,
                Key: markerKey,
                ConditionExpression: 'attribute_not_exists(pk) OR (#kind = :kind AND refCount <= :one)',
                ExpressionAttributeNames: { '#kind': 'kind' },
                ExpressionAttributeValues: { ':kind': current.type, ':one': 1 },
              },
            }
          : {
              Update: {
                TableName: this.tableName,
                Key: markerKey,
                UpdateExpression: 'ADD refCount :minusOne',
                ConditionExpression: '#kind = :kind AND refCount = :refCount',
                ExpressionAttributeNames: { '#kind': 'kind' },
                ExpressionAttributeValues: { ':kind': current.type, ':refCount': refCount, ':minusOne': -1 },
              },
            };
      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: transactItems }));
        return;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = error.CancellationReasons ?? [];
        if (failed(reasons, DELETE.identity))
          throw new IdentityNotFoundError(name.identity, { cause: error });
        if (!isConflict(reasons) && !reasons.some((r) => r.Code === 'ConditionalCheckFailed')) throw error;
        // A concurrent change (conflict, or the marker's count moved): re-read and try again.
        if (attempt >= this.maxAttempts) throw new IdentityStoreConflictError({ cause: error });
        await backoff(attempt);
      }
    }
  }

  /** The tenant holding `identity` in this scope. */
  async findOwner(identity: string): Promise<string | undefined> {
    const name = parseIdentity(identity);
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: identityKeys.claimPk(name.identity), sk: identityKeys.claimSk },
        ConsistentRead: true,
      }),
    );
    return typeof Item?.tenantId === 'string' ? Item.tenantId : undefined;
  }

  async getCounts(tenantId: string): Promise<IdentityCounts> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: identityKeys.tenant(tenantId), sk: identityKeys.limits },
        ConsistentRead: true,
      }),
    );
    return { domainCount: Number(Item?.domainCount ?? 0), emailCount: Number(Item?.emailCount ?? 0) };
  }

  /**
   * Runs a transaction, retrying when DynamoDB cancels it for a concurrent transaction; `explain` turns
   * failed conditions into a domain error (undefined: not a condition failure we know).
   */
  private async transact(
    transactItems: NonNullable<TransactWriteCommandInput['TransactItems']>,
    explain: (reasons: readonly CancellationReasonView[], cause: Error) => Promise<Error | undefined>,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: transactItems }));
        return;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = error.CancellationReasons ?? [];
        if (reasons.some((r) => r.Code === 'ConditionalCheckFailed'))
          throw (await explain(reasons, error)) ?? error;
        if (!isConflict(reasons)) throw error;
        if (attempt >= this.maxAttempts) throw new IdentityStoreConflictError({ cause: error });
        await backoff(attempt);
      }
    }
  }
}

interface CancellationReasonView {
  readonly Code?: string | undefined;
  readonly Item?: Record<string, { S?: string } | undefined> | undefined;
}

const failed = (reasons: readonly CancellationReasonView[], index: number): boolean =>
  reasons[index]?.Code === 'ConditionalCheckFailed';

const isConflict = (reasons: readonly CancellationReasonView[]): boolean =>
  reasons.some((r) => r.Code === 'TransactionConflict');

const isConditionalCheckFailure = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';

/** Jittered exponential backoff between transaction attempts (≈ 10 ms doubling, capped at 500 ms). */
const backoff = (attempt: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(500, 10 * 2 ** attempt)));

function toRecord(item: IdentityItem): IdentityRecord {
  return {
    tenantId: item.tenantId,
    identity: item.identity,
    type: item.identityType,
    domain: item.domain,
    status: item.status,
    dkimTokens: item.dkimTokens ?? [],
    createdAt: item.createdAt,
    ...(item.statusCheckedAt ? { statusCheckedAt: item.statusCheckedAt } : {}),
  };
}

/**
 * A domain and every domain above it, down to two labels: `billing.northwind.example` → itself and
 * `northwind.example`. A domain identity at any of them covers the name.
 */
export function enclosingDomains(domain: string): string[] {
  const labels = domain.split('.');
  return labels
    .slice(0, Math.max(0, labels.length - 1))
    .map((_, i) => labels.slice(i).join('.'))
    .filter((d) => d.includes('.'));
}
