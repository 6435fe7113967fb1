/**
 * The one description of every DynamoDB table: the CDK construct builds the tables from it, and so the
 * synthesized template, which the test harness and the local twin provision from, follows it too.
 * Keys are generic (`pk`/`sk`) where a table holds several item kinds; each owner documents its item layout.
 */
export interface KeySchema {
  readonly partitionKey: string;
  readonly sortKey?: string;
}

export interface IndexSchema extends KeySchema {
  readonly indexName: string;
  /**
   * Attributes the index carries besides the keys (an empty list: keys only); all attributes when absent.
   * Every attribute an index carries is written again each time it changes, so indexes carry only what their
   * queries read.
   */
  readonly include?: readonly string[];
}

export interface TableSchema extends KeySchema {
  /** Attribute holding an epoch-seconds expiry, when items expire. */
  readonly timeToLiveAttribute?: string;
  readonly globalIndexes?: readonly IndexSchema[];
  /** The table's DynamoDB stream, when something consumes its changes. */
  readonly stream?: 'NEW_AND_OLD_IMAGES';
}

/**
 * The message attributes an email-history row shows and filters on that never change after the record is
 * created, besides the `byTenant` keys: the index carries them (the message ledger's `HISTORY_INDEXED`), so
 * the index is written once per email. What changes (status, updated time, reason, method, provider id) is read
 * from the table for the rows of a page (`HISTORY_LIVE`).
 */
export const MESSAGE_HISTORY_COLUMNS = [
  'environment',
  'category',
  'recipients',
  'subject',
  'eventId',
  'eventType',
  'definitionId',
  'itemKey',
] as const;

export const TABLES = {
  /** One item per tenant (`pk=TENANT#<id>`, `sk=PROFILE`): profile and per-environment settings. */
  tenants: { partitionKey: 'pk', sortKey: 'sk' },
  /**
   * Advanced-method identities of a tenant (`pk=TENANT#<id>`, `sk=IDENTITY#<identity>`), the tenant's identity
   * counts (`sk=LIMITS`) and a scope-wide claim per identity (`pk=IDENTITY#<identity>`, `sk=CLAIM`).
   */
  identities: { partitionKey: 'pk', sortKey: 'sk' },
  /** Notification definitions and templates of a tenant (`pk=TENANT#<id>`). */
  definitions: { partitionKey: 'pk', sortKey: 'sk' },
  /** One item per email: the idempotency ledger entry and the status timeline; kept for the retention period. */
  messages: {
    partitionKey: 'messageId',
    timeToLiveAttribute: 'expiresAt',
    /** Status events out: each write's old and new image, read by `publish-status-events` (a transactional outbox). */
    stream: 'NEW_AND_OLD_IMAGES',
    globalIndexes: [
      /**
       * Email history: only attributes that never change after creation, so a record's later writes leave the
       * index alone (a changed projected attribute costs an index write).
       */
      {
        indexName: 'byTenant',
        partitionKey: 'tenantId',
        sortKey: 'createdAt',
        include: [...MESSAGE_HISTORY_COLUMNS],
      },
      /**
       * Records that were ever pending carry `pendingShard` and `sweepAt` (`P0`–`P3`, the time after which the
       * sweeper looks at them), kept after the provider has the email (removing them would cost an index write
       * per email): the sweeper walks each shard once with a cursor and reads the status from the table. PAUSED
       * records sit under `HELD#<tenant>` (found on resume). Only attributes that never change are carried: the
       * claim and the other moves of a pending record cost no index write.
       */
      {
        indexName: 'byPending',
        partitionKey: 'pendingShard',
        sortKey: 'sweepAt',
        include: ['tenantId', 'category'],
      },
    ],
  },
  /** Suppressed recipients per tenant (`pk=TENANT#<id>`, `sk=<lower-cased address>`), with reason and expiry. */
  suppressions: { partitionKey: 'pk', sortKey: 'sk', timeToLiveAttribute: 'expiresAt' },
  /** Rate-limit buckets and reputation counters (`pk=<scope key>`, `sk=<window>`), expiring with their window. */
  counters: { partitionKey: 'pk', sortKey: 'sk', timeToLiveAttribute: 'expiresAt' },
} as const satisfies Record<string, TableSchema>;

export type TableName = keyof typeof TABLES;
