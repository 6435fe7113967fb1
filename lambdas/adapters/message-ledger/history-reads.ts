import { QueryCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { MESSAGE_HISTORY_COLUMNS } from '../../../lib/schema/tables';
import { PermanentError } from '../../domain/errors';
import { LedgerUnavailableError } from '../../domain/message/errors';
import type { MessageRecord } from '../../domain/message/message-record';
import type { MessageStatus } from '../../domain/message/message-status';
import { type LedgerContext, readRecords } from './ledger-context';

/**
 * The attributes of a history row read from the `byTenant` index: its keys and the columns it carries
 * (`MESSAGE_HISTORY_COLUMNS`, one list for both), which never change after creation.
 */
export const HISTORY_INDEXED = ['messageId', 'tenantId', 'createdAt', ...MESSAGE_HISTORY_COLUMNS] as const;

/** The attributes of a history row that change with the email's life: read from the table for a page's rows. */
export const HISTORY_LIVE = ['status', 'updatedAt', 'reasonCode', 'method', 'sesMessageId'] as const;

export const HISTORY_ATTRIBUTES = [...HISTORY_INDEXED, ...HISTORY_LIVE] as const;

export type HistoryRow = Pick<MessageRecord, 'messageId' | 'tenantId' | 'createdAt' | 'status'> &
  Partial<Pick<MessageRecord, (typeof HISTORY_ATTRIBUTES)[number]>>;

/** Rows read ahead per page when filtering on status (which the index does not carry). */
const STATUS_READ_AHEAD = 100;

/** One page of a tenant's email history, newest first. */
export interface HistoryQuery {
  readonly tenantId: string;
  /** ISO times; `since` inclusive, `until` inclusive. Without `since`, the whole retention period. */
  readonly since?: string;
  readonly until: string;
  readonly environment?: string;
  readonly statuses?: readonly MessageStatus[];
  /** Lower-cased address; matches any of the record's recipients. */
  readonly recipient?: string;
  readonly eventType?: string;
  /** The business object: the fan-out item key (e.g. an invoice id) or the event id. */
  readonly objectId?: string;
  readonly limit: number;
  /** From the previous page; bound to the tenant. */
  readonly pageToken?: string;
}

export interface HistoryPage {
  readonly items: HistoryRow[];
  readonly nextPageToken?: string;
}

/** A page token that is not one this query issued (another tenant's, or damaged). */
export class InvalidPageTokenError extends PermanentError {
  constructor() {
    super('INVALID_PAGE_TOKEN', 'the page token does not belong to this query: start again without it');
    this.name = 'InvalidPageTokenError';
  }
}

interface TokenKey {
  readonly tenantId: string;
  readonly createdAt: string;
  readonly messageId: string;
}

function encodeToken(row: TokenKey): string {
  return Buffer.from(JSON.stringify([row.tenantId, row.createdAt, row.messageId])).toString('base64url');
}

function decodeToken(token: string, tenantId: string): TokenKey {
  try {
    const [tenant, createdAt, messageId] = JSON.parse(
      Buffer.from(token, 'base64url').toString('utf8'),
    ) as unknown[];
    if (tenant === tenantId && typeof createdAt === 'string' && typeof messageId === 'string')
      return { tenantId, createdAt, messageId };
  } catch {
    // falls through to the error below
  }
  throw new InvalidPageTokenError();
}

/**
 * A tenant's emails newest first: the time window is the key condition on the `byTenant` index (tenant +
 * `createdAt`) and the filters on what never changes (environment, recipient, event type, object) a filter
 * expression on the index's own attributes; the status and the other live columns of the rows found are then
 * read from the table (one BatchGetItem per 100 rows, eventually consistent) and the status filter applied to
 * them. Reads until `limit` matches plus one are found (to know whether a next page exists); the page token is
 * the key of the last row returned.
 */
export async function queryHistory(ctx: LedgerContext, query: HistoryQuery): Promise<HistoryPage> {
  const names: Record<string, string> = { '#tenantId': 'tenantId', '#createdAt': 'createdAt' };
  const values: Record<string, unknown> = { ':tenant': query.tenantId, ':until': query.until };
  const filters: string[] = [];
  for (const attribute of HISTORY_INDEXED) names[`#${attribute}`] = attribute;
  if (query.environment !== undefined) {
    filters.push('#environment = :environment');
    values[':environment'] = query.environment;
  }
  if (query.recipient !== undefined) {
    filters.push('contains(#recipients, :recipient)');
    values[':recipient'] = query.recipient;
  }
  if (query.eventType !== undefined) {
    filters.push('#eventType = :eventType');
    values[':eventType'] = query.eventType;
  }
  if (query.objectId !== undefined) {
    filters.push('(#itemKey = :objectId OR #eventId = :objectId)');
    values[':objectId'] = query.objectId;
  }
  const statuses = query.statuses?.length ? new Set<string>(query.statuses) : undefined;
  let key = '#tenantId = :tenant AND #createdAt <= :until';
  if (query.since !== undefined) {
    key = '#tenantId = :tenant AND #createdAt BETWEEN :since AND :until';
    values[':since'] = query.since;
  }
  const after = query.pageToken ? decodeToken(query.pageToken, query.tenantId) : undefined;
  const items: HistoryRow[] = [];
  let start: Record<string, unknown> | undefined = after ? { ...after } : undefined;
  do {
    const wanted = query.limit + 1 - items.length;
    let page: QueryCommandOutput;
    try {
      page = await ctx.client.send(
        new QueryCommand({
          TableName: ctx.tableName,
          IndexName: ctx.indexes.tenant,
          KeyConditionExpression: key,
          ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
          ProjectionExpression: HISTORY_INDEXED.map((a) => `#${a}`).join(', '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          // Unfiltered, the page is known exactly; filtered on the index, DynamoDB reads up to 1 MB per request;
          // filtered on status, rows are read ahead in pages of at least 100.
          ...(filters.length > 0 ? {} : { Limit: statuses ? Math.max(wanted, STATUS_READ_AHEAD) : wanted }),
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
    } catch (error) {
      throw new LedgerUnavailableError('query history', error);
    }
    const rows = await withLiveColumns(ctx, (page.Items ?? []) as HistoryRow[]);
    items.push(...(statuses ? rows.filter((row) => statuses.has(row.status)) : rows));
    start = page.LastEvaluatedKey;
  } while (start && items.length <= query.limit);
  if (items.length <= query.limit) return { items };
  const rows = items.slice(0, query.limit);
  const last = rows[rows.length - 1] as HistoryRow;
  return { items: rows, nextPageToken: encodeToken(last) };
}

/** The rows with their live columns read from the table; a row whose record is gone meanwhile is left out. */
async function withLiveColumns(ctx: LedgerContext, rows: readonly HistoryRow[]): Promise<HistoryRow[]> {
  const live = await readRecords(
    ctx,
    rows.map((row) => row.messageId),
    HISTORY_LIVE,
    { consistent: false, operation: 'read history rows' },
  );
  return rows.flatMap((row) => {
    const item = live.get(row.messageId);
    return item ? [{ ...row, ...item } as HistoryRow] : [];
  });
}
