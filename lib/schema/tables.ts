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
 * The message attributes an email-history row shows and filters on, besides the `byTenant` keys (the message
 * ledger's `HISTORY_ATTRIBUTES`, which the index must carry).
 */
export const MESSAGE_HISTORY_COLUMNS = [
  'updatedAt',
  'environment',
  'category',
  'status',
  'recipients',
  'subject',
  'eventId',
  'eventType',
  'definitionId',
  'itemKey',
  'reasonCode',
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
      /** Feedback without our tag finds its record's id here: keys only. */
      { indexName: 'bySesMessageId', partitionKey: 'sesMessageId', include: [] },
      /** Email history, the held-mail release and the local viewer (which also shows method and SES id). */
      {
        indexName: 'byTenant',
        partitionKey: 'tenantId',
        sortKey: 'createdAt',
        include: [...MESSAGE_HISTORY_COLUMNS, 'method', 'sesMessageId'],
      },
      /**
       * Sparse: only records in a pending status (QUEUED, SENDING, DEFERRED) carry `pendingShard` and `sweepAt`
       * (the time after which the record counts as stuck), so the sweeper reads exactly the stuck ones.
       */
      {
        indexName: 'byPending',
        partitionKey: 'pendingShard',
        sortKey: 'sweepAt',
        include: ['status', 'tenantId', 'category', 'sesMessageId'],
      },
    ],
  },
  /** Suppressed recipients per tenant (`pk=TENANT#<id>`, `sk=<lower-cased address>`), with reason and expiry. */
  suppressions: { partitionKey: 'pk', sortKey: 'sk', timeToLiveAttribute: 'expiresAt' },
  /** Rate-limit buckets and reputation counters (`pk=<scope key>`, `sk=<window>`), expiring with their window. */
  counters: { partitionKey: 'pk', sortKey: 'sk', timeToLiveAttribute: 'expiresAt' },
} as const satisfies Record<string, TableSchema>;

export type TableName = keyof typeof TABLES;
