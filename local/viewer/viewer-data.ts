import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  type ScanCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { StoredMessageJson } from '../ses/emulator-store';

/** Physical names of the tables the viewer reads. */
export interface ViewerTables {
  readonly messages: string;
  readonly tenants: string;
  readonly counters: string;
  readonly suppressions: string;
}

export interface TimelineEntry {
  readonly status: string;
  readonly at: string;
  readonly detail?: string;
}

/** A messages-table item as the viewer shows it; every field read defensively (the table is not ours to trust). */
export interface MessageRecord {
  readonly messageId: string;
  readonly tenantId: string;
  readonly status: string;
  readonly environment?: string;
  readonly category?: string;
  readonly subject?: string;
  readonly recipients: readonly string[];
  readonly method?: string;
  readonly fromAddress?: string;
  readonly createdAt?: string;
  readonly updatedAt?: string;
  readonly sesMessageId?: string;
  readonly reason?: string;
  readonly reasonCode?: string;
  readonly eligibleAt?: string;
  readonly attempts?: number;
  readonly bodyExcerpt?: string;
  readonly timeline: readonly TimelineEntry[];
  readonly dkim?: {
    readonly signingDomains: readonly string[];
    readonly alignment?: string;
    readonly aligned?: boolean;
  };
  readonly suppressedRecipients: readonly string[];
  readonly rejectedRecipients: readonly {
    readonly recipient: string;
    readonly code?: number;
    readonly reply?: string;
  }[];
}

/** One line of the list: a ledger record joined with what SES stored, or an SES message no record names. */
export interface MessageRow {
  /** The id `/messages/<id>` opens: our message id, or SES's id for SES-only rows. */
  readonly id: string;
  readonly source: 'ledger' | 'ses';
  readonly status: string;
  readonly tenantId: string;
  readonly recipients: readonly string[];
  readonly subject: string;
  readonly method: string;
  readonly time: string;
  readonly sesMessageId?: string;
  /** Per-recipient outcome the SES emulator simulated (delivered, bounced…), when the message went through SES. */
  readonly outcomes?: readonly { readonly recipient: string; readonly outcome: string }[];
}

export interface ReputationTotals {
  readonly sends: number;
  readonly bounces: number;
  readonly complaints: number;
}

export interface TenantCounters {
  readonly tenantId: string;
  readonly displayName?: string;
  /** Environments whose mail is held (`paused` by the reputation guard or an operator). */
  readonly pausedIn: readonly string[];
  readonly statuses: Readonly<Record<string, number>>;
  readonly emails: number;
  /** Active suppression entries by reason. */
  readonly suppressions: Readonly<Record<string, number>>;
  readonly reputation24h: ReputationTotals;
  readonly reputation7d: ReputationTotals;
}

export interface TenantSummary {
  readonly tenantId: string;
  readonly displayName?: string;
  /** Environments whose mail is held (`paused` by the reputation guard or an operator). */
  readonly pausedIn: readonly string[];
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];
const obj = (value: unknown): Record<string, unknown> | undefined =>
  value && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

/** Reads a messages-table item into a MessageRecord, dropping anything of an unexpected type. */
export function toMessageRecord(item: Record<string, unknown>): MessageRecord {
  const dkim = obj(item.dkim);
  const timeline = Array.isArray(item.timeline) ? item.timeline : [];
  const rejected = Array.isArray(item.rejectedRecipients) ? item.rejectedRecipients : [];
  return {
    messageId: str(item.messageId) ?? '',
    tenantId: str(item.tenantId) ?? '(unknown)',
    status: str(item.status) ?? '(none)',
    recipients: strings(item.recipients),
    ...optional('environment', str(item.environment)),
    ...optional('category', str(item.category)),
    ...optional('subject', str(item.subject)),
    ...optional('method', str(item.method)),
    ...optional('fromAddress', str(item.fromAddress)),
    ...optional('createdAt', str(item.createdAt)),
    ...optional('updatedAt', str(item.updatedAt)),
    ...optional('sesMessageId', str(item.sesMessageId)),
    ...optional('reason', str(item.reason)),
    ...optional('reasonCode', str(item.reasonCode)),
    ...optional('eligibleAt', str(item.eligibleAt)),
    ...optional('bodyExcerpt', str(item.bodyExcerpt)),
    ...optional('attempts', typeof item.attempts === 'number' ? item.attempts : undefined),
    timeline: timeline.flatMap((entry) => {
      const fields = obj(entry);
      const status = str(fields?.status);
      if (!fields || !status) return [];
      return [{ status, at: str(fields.at) ?? '', ...optional('detail', str(fields.detail)) }];
    }),
    ...(dkim
      ? {
          dkim: {
            signingDomains: strings(dkim.signingDomains),
            ...optional('alignment', str(dkim.alignment)),
            ...optional('aligned', typeof dkim.aligned === 'boolean' ? dkim.aligned : undefined),
          },
        }
      : {}),
    suppressedRecipients: strings(item.suppressedRecipients),
    rejectedRecipients: rejected.flatMap((entry) => {
      const fields = obj(entry);
      const recipient = str(fields?.recipient);
      if (!fields || !recipient) return [];
      return [
        {
          recipient,
          ...optional('code', typeof fields.code === 'number' ? fields.code : undefined),
          ...optional('reply', str(fields.reply)),
        },
      ];
    }),
  };
}

/** The tag SES carries our message id in (the sender sets it on every send). */
const tagValue = (message: StoredMessageJson, name: string) =>
  message.emailTags.find((tag) => tag.Name === name)?.Value;

export interface ViewerDataOptions {
  readonly documents: DynamoDBDocumentClient;
  readonly tables: ViewerTables;
  readonly sesUrl?: string;
  /** Most message records read for one page (a Scan, filtered by tenant when asked). */
  readonly maxRecords: number;
  readonly clock: () => Date;
}

/** Projection of the list: the fields a row shows, never held request bodies or timelines. */
const LIST_FIELDS = [
  'messageId',
  'tenantId',
  'status',
  'subject',
  'recipients',
  'method',
  'createdAt',
  'sesMessageId',
];
const listProjection = {
  ProjectionExpression: LIST_FIELDS.map((_, index) => `#f${index}`).join(', '),
  ExpressionAttributeNames: Object.fromEntries(LIST_FIELDS.map((field, index) => [`#f${index}`, field])),
};

/**
 * Reads what the viewer shows from the twin's tables and the SES emulator. Local only: the list is a Scan
 * (filtered by tenant when asked) capped at `maxRecords` read, sorted in memory.
 */
export class ViewerData {
  constructor(private readonly options: ViewerDataOptions) {}

  /** Message records newest first (by `createdAt`), at most `maxRecords`; `truncated` when more exist. */
  async records(tenantId?: string): Promise<{ records: MessageRecord[]; truncated: boolean }> {
    const items: Record<string, unknown>[] = [];
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const remaining = this.options.maxRecords - items.length;
      // Local only: a Scan, filtered by tenant when asked (the `byTenant` index carries none of the status,
      // method or SES id a row shows).
      const page = await this.options.documents.send(
        new ScanCommand({
          TableName: this.options.tables.messages,
          Limit: remaining,
          ...listProjection,
          ...(tenantId
            ? {
                FilterExpression: '#tenant = :t',
                ExpressionAttributeNames: {
                  ...listProjection.ExpressionAttributeNames,
                  '#tenant': 'tenantId',
                },
                ExpressionAttributeValues: { ':t': tenantId },
              }
            : {}),
          ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
        } satisfies ScanCommandInput),
      );
      items.push(...(page.Items ?? []));
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey && items.length < this.options.maxRecords);
    const records = items.map(toMessageRecord);
    records.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
    return { records, truncated: exclusiveStartKey !== undefined };
  }

  async record(messageId: string): Promise<MessageRecord | undefined> {
    const { Item } = await this.options.documents.send(
      new GetCommand({ TableName: this.options.tables.messages, Key: { messageId } }),
    );
    return Item ? toMessageRecord(Item) : undefined;
  }

  /** Every message the SES emulator accepted; `error` says why none could be read (no emulator, not running). */
  async sesMessages(): Promise<{ messages: StoredMessageJson[]; error?: string }> {
    if (!this.options.sesUrl) return { messages: [], error: 'no SES emulator configured' };
    try {
      const response = await fetch(`${this.options.sesUrl}/_local/messages`);
      if (!response.ok) return { messages: [], error: `the SES emulator answered ${response.status}` };
      const body = (await response.json()) as { messages?: StoredMessageJson[] };
      return { messages: Array.isArray(body.messages) ? body.messages : [] };
    } catch (error) {
      return { messages: [], error: `the SES emulator is not reachable (${(error as Error).message})` };
    }
  }

  /** Rows of the list: records joined with SES, plus SES messages sent outside the sender, newest first. */
  rows(
    records: readonly MessageRecord[],
    ses: readonly StoredMessageJson[],
    tenantId?: string,
  ): MessageRow[] {
    const bySesId = new Map(ses.map((message) => [message.messageId, message]));
    const byOurId = new Map<string, StoredMessageJson>();
    for (const message of ses) {
      const ours = tagValue(message, 'message-id');
      if (ours) byOurId.set(ours, message);
    }
    const rows: MessageRow[] = records.map((record) => {
      const sent = (record.sesMessageId && bySesId.get(record.sesMessageId)) || byOurId.get(record.messageId);
      return {
        id: record.messageId,
        source: 'ledger',
        status: record.status,
        tenantId: record.tenantId,
        recipients: record.recipients,
        subject: record.subject ?? '',
        method: record.method ?? '',
        time: record.createdAt ?? '',
        ...optional('sesMessageId', record.sesMessageId ?? sent?.messageId),
        ...(sent ? { outcomes: sent.outcomes } : {}),
      };
    });
    // Mail sent to the emulator directly (not by our sender) has no message-id tag and no record to join.
    for (const message of ses) {
      if (tagValue(message, 'message-id')) continue;
      const tenant = tagValue(message, 'tenant-id') ?? message.tenantName ?? '';
      if (tenantId && tenant !== tenantId) continue;
      rows.push({
        id: message.messageId,
        source: 'ses',
        status: 'SES',
        tenantId: tenant || '(none)',
        recipients: message.destination,
        subject: message.subject,
        method: message.kind === 'verification' ? 'ses (verification mail)' : 'ses (direct)',
        time: message.timestamp,
        sesMessageId: message.messageId,
        outcomes: message.outcomes,
      });
    }
    rows.sort((a, b) => b.time.localeCompare(a.time));
    return rows;
  }

  /** Tenants of the tenants table (profile items), at most `limit`. */
  async tenants(limit = 500): Promise<TenantSummary[]> {
    const tenants: TenantSummary[] = [];
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.options.documents.send(
        new ScanCommand({
          TableName: this.options.tables.tenants,
          ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        if (item.sk !== 'PROFILE') continue;
        const summary = tenantSummary(obj(item.tenant));
        if (summary) tenants.push(summary);
      }
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey && tenants.length < limit);
    return tenants.sort((a, b) => a.tenantId.localeCompare(b.tenantId)).slice(0, limit);
  }

  /** Counters of one tenant: statuses of `records` (already read), suppression entries, reputation buckets. */
  async counters(tenant: TenantSummary, records: readonly MessageRecord[]): Promise<TenantCounters> {
    const statuses: Record<string, number> = {};
    let emails = 0;
    for (const record of records) {
      if (record.tenantId !== tenant.tenantId) continue;
      statuses[record.status] = (statuses[record.status] ?? 0) + 1;
      emails += 1;
    }
    const [suppressions, reputation] = await Promise.all([
      this.suppressionCounts(tenant.tenantId),
      this.reputation(tenant.tenantId),
    ]);
    return { ...tenant, statuses, emails, suppressions, ...reputation };
  }

  private async suppressionCounts(tenantId: string): Promise<Record<string, number>> {
    const nowSeconds = Math.floor(this.options.clock().getTime() / 1000);
    const counts: Record<string, number> = {};
    for await (const item of this.queryAll({
      TableName: this.options.tables.suppressions,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `TENANT#${tenantId}` },
      ProjectionExpression: 'reason, expiresAt',
    })) {
      // DynamoDB deletes expired items lazily; an expired entry no longer suppresses.
      if (typeof item.expiresAt === 'number' && item.expiresAt <= nowSeconds) continue;
      const reason = str(item.reason) ?? 'UNKNOWN';
      counts[reason] = (counts[reason] ?? 0) + 1;
    }
    return counts;
  }

  /** Sums the hourly reputation buckets (`pk=REPUTATION#<tenant>`, `sk=<bucket start>`) of the last 24 h and 7 days. */
  private async reputation(
    tenantId: string,
  ): Promise<Pick<TenantCounters, 'reputation24h' | 'reputation7d'>> {
    const now = this.options.clock().getTime();
    const since24h = new Date(now - 24 * 3_600_000).toISOString();
    const since7d = new Date(now - 7 * 24 * 3_600_000).toISOString();
    const day = { sends: 0, bounces: 0, complaints: 0 };
    const week = { sends: 0, bounces: 0, complaints: 0 };
    for await (const item of this.queryAll({
      TableName: this.options.tables.counters,
      KeyConditionExpression: 'pk = :pk AND sk >= :from',
      ExpressionAttributeValues: { ':pk': `REPUTATION#${tenantId}`, ':from': since7d },
      ProjectionExpression: 'sk, sends, bounces, complaints',
    })) {
      const totals = (str(item.sk) ?? '') >= since24h ? [day, week] : [week];
      for (const sum of totals) {
        sum.sends += Number(item.sends ?? 0);
        sum.bounces += Number(item.bounces ?? 0);
        sum.complaints += Number(item.complaints ?? 0);
      }
    }
    return { reputation24h: day, reputation7d: week };
  }

  private async *queryAll(input: QueryCommandInput): AsyncGenerator<Record<string, unknown>> {
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.options.documents.send(
        new QueryCommand({
          ...input,
          ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
        }),
      );
      yield* page.Items ?? [];
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey);
  }
}

function tenantSummary(tenant: Record<string, unknown> | undefined): TenantSummary | undefined {
  const tenantId = str(tenant?.tenantId);
  if (!tenant || !tenantId) return undefined;
  const environments = Object.entries(obj(tenant.environments) ?? {});
  return {
    tenantId,
    ...optional('displayName', str(tenant.displayName)),
    pausedIn: environments.filter(([, settings]) => obj(obj(settings)?.paused)).map(([name]) => name),
  };
}
