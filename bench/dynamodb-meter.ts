import {
  BatchGetItemCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type AttributeValue as SdkAttributeValue,
} from '@aws-sdk/client-dynamodb';
import {
  type IndexShape,
  type Item,
  itemSize,
  readUnits,
  type TableShape,
  writeUnits,
} from './capacity-units';
import { startMeteringProxy } from './metering-proxy';

/** Units consumed so far, by table (`<table>` and `<table>/<index>`) and in all. */
export interface CapacityTotals {
  readonly writeUnits: number;
  readonly readUnits: number;
  readonly writeRequests: number;
  readonly readRequests: number;
  readonly conditionFailures: number;
  readonly byTable: Readonly<Record<string, number>>;
  /** Write requests whose condition failed, by `<operation> <table>`. */
  readonly failuresByOperation: Readonly<Record<string, number>>;
  /** Write requests by `<operation> <table>`. */
  readonly requestsByOperation: Readonly<Record<string, number>>;
  /**
   * Item writes by what they did (`<kind> <table> <status before>→<status after>`, side items and counters by
   * key shape): how many, the units of the table and of its indexes, and the largest item written.
   */
  readonly byWrite: Readonly<Record<string, WriteTally>>;
}

export interface WriteTally {
  readonly count: number;
  readonly table: number;
  readonly indexes: number;
  readonly maxBytes: number;
}

export interface DynamoDbMeter {
  /** Give this to every client and function instead of DynamoDB Local's endpoint. */
  readonly url: string;
  totals(): CapacityTotals;
  stop(): Promise<void>;
}

type Body = Record<string, unknown>;
interface ItemWrite {
  readonly table: string;
  readonly key: Item;
  /** The item a Put writes (its after-image); Update's is read back. */
  readonly item?: Item;
  readonly kind: 'Put' | 'Update' | 'Delete' | 'ConditionCheck';
}

const WRITE_OPERATIONS = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
]);

/**
 * DynamoDB Local reports no consumed capacity, so this proxy computes it from what is actually written: for each
 * write it reads the items before (a consistent BatchGetItem), forwards the request, reads them again, and
 * charges table and index write units by the documented rules in `capacity-units.ts`; reads are charged from
 * the items the answer carries. The extra reads go straight to DynamoDB Local and are not counted.
 */
export async function startDynamoDbMeter(upstream: string, direct: DynamoDBClient): Promise<DynamoDbMeter> {
  const shapes = new Map<string, Promise<TableShape>>();
  const shapeOf = (table: string) => {
    let shape = shapes.get(table);
    if (!shape) {
      shape = describe(direct, table);
      shapes.set(table, shape);
    }
    return shape;
  };
  const totals = { writeUnits: 0, readUnits: 0, writeRequests: 0, readRequests: 0, conditionFailures: 0 };
  const byTable: Record<string, number> = {};
  const failuresByOperation: Record<string, number> = {};
  const requestsByOperation: Record<string, number> = {};
  const bump = (counts: Record<string, number>, key: string) => {
    counts[key] = (counts[key] ?? 0) + 1;
  };
  const byWrite: Record<string, WriteTally> = {};
  const tally = (label: string, charged: { table: number; indexes: number }, bytes: number) => {
    const seen = byWrite[label] ?? { count: 0, table: 0, indexes: 0, maxBytes: 0 };
    byWrite[label] = {
      count: seen.count + 1,
      table: seen.table + charged.table,
      indexes: seen.indexes + charged.indexes,
      maxBytes: Math.max(seen.maxBytes, bytes),
    };
  };
  const charge = (name: string, amount: number) => {
    byTable[name] = (byTable[name] ?? 0) + amount;
  };

  const itemsOf = async (writes: readonly ItemWrite[]): Promise<(Item | undefined)[]> =>
    Promise.all(writes.map(async (write) => (await readItems(direct, [write]))[0]));

  const proxy = await startMeteringProxy<{ writes: ItemWrite[]; before: (Item | undefined)[] }>(upstream, {
    before: async (target, body) => {
      const operation = target.split('.')[1] ?? '';
      if (!WRITE_OPERATIONS.has(operation)) return { writes: [], before: [] };
      const writes = await writesOf(operation, JSON.parse(body.toString('utf8')) as Body, shapeOf);
      return { writes, before: await itemsOf(writes) };
    },
    after: async ({ target, body, status, response }, state) => {
      const operation = target.split('.')[1] ?? '';
      const request = JSON.parse(body.toString('utf8') || '{}') as Body;
      const answer = JSON.parse(response.toString('utf8') || '{}') as Body;
      if (WRITE_OPERATIONS.has(operation) && state) {
        totals.writeRequests += 1;
        const errorType = String(answer.__type ?? '');
        const failed = status === 400 && /ConditionalCheckFailed|TransactionCanceled/.test(errorType);
        if (status >= 300 && !failed) return;
        const key = `${operation} ${[...new Set(state.writes.map((write) => write.table))].join('+')}`;
        bump(requestsByOperation, key);
        if (failed) {
          totals.conditionFailures += 1;
          bump(failuresByOperation, key);
        }
        const after = failed ? state.before : await itemsOf(state.writes);
        for (const [index, write] of state.writes.entries()) {
          const shape = await shapeOf(write.table);
          const charged = writeUnits(
            shape,
            state.before[index],
            write.kind === 'ConditionCheck' ? state.before[index] : after[index],
            {
              conditionFailed: failed || write.kind === 'ConditionCheck',
              transactional: operation === 'TransactWriteItems',
            },
          );
          totals.writeUnits += charged.table + charged.indexes;
          const next = write.kind === 'ConditionCheck' ? state.before[index] : after[index];
          tally(
            writeLabel(write, state.before[index], next, failed),
            charged,
            Math.max(itemSize(state.before[index]), itemSize(next)),
          );
          charge(write.table, charged.table);
          if (charged.indexes > 0) charge(`${write.table} (indexes)`, charged.indexes);
        }
        return;
      }
      if (status >= 300) return;
      totals.readRequests += 1;
      const consistent = request.ConsistentRead === true;
      if (operation === 'GetItem')
        totals.readUnits += readUnits([answer.Item as Item | undefined], consistent);
      else if (operation === 'Query' || operation === 'Scan')
        totals.readUnits += readUnits((answer.Items as Item[] | undefined) ?? [], consistent);
      else if (operation === 'BatchGetItem') {
        const wanted = (request.RequestItems ?? {}) as Record<string, { ConsistentRead?: boolean }>;
        for (const [table, items] of Object.entries((answer.Responses ?? {}) as Record<string, Item[]>)) {
          for (const item of items)
            totals.readUnits += readUnits([item], wanted[table]?.ConsistentRead === true);
        }
      } else if (operation === 'TransactGetItems') {
        for (const entry of (answer.Responses ?? []) as { Item?: Item }[])
          totals.readUnits += 2 * readUnits([entry.Item], true);
      }
    },
  });
  return {
    url: proxy.url,
    totals: () => ({
      ...totals,
      byTable: { ...byTable },
      failuresByOperation: { ...failuresByOperation },
      requestsByOperation: { ...requestsByOperation },
      byWrite: { ...byWrite },
    }),
    stop: () => proxy.stop(),
  };
}

/** What one item write did, for the breakdown: the statuses it moved between, or the shape of its key. */
function writeLabel(
  write: ItemWrite,
  before: Item | undefined,
  after: Item | undefined,
  failed: boolean,
): string {
  const text = (item: Item | undefined, name: string) => {
    const value = item?.[name] as { S?: string } | undefined;
    return value?.S;
  };
  const table = write.table.replace(/^.*-/, '');
  const id = Object.values(write.key)
    .map((value) => (value as { S?: string }).S ?? '')
    .join('/');
  // Items beside a record: `<id>#request`, `<id>#event`, and a chunk's `published#<hash>`.
  const side = /^[0-9a-f]+#(\w+)$/.exec(id)?.[1] ?? /^(\w+)#[0-9a-f]+$/.exec(id)?.[1];
  const what = side
    ? `#${side}`
    : text(before, 'status') || text(after, 'status')
      ? `${text(before, 'status') ?? 'none'}→${text(after, 'status') ?? 'none'}`
      : id.replace(/[0-9a-f]{8,}|\d{4}-\d\d-\d\dT[\d:.]+Z?|\d{6,}/g, '…');
  return `${write.kind} ${table} ${what}${failed ? ' (condition failed)' : ''}`;
}

async function describe(client: DynamoDBClient, table: string): Promise<TableShape> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
  const keysOf = (schema?: { AttributeName?: string }[]) =>
    (schema ?? []).map((key) => key.AttributeName ?? '');
  const indexes: IndexShape[] = (Table?.GlobalSecondaryIndexes ?? []).map((index) => ({
    name: index.IndexName ?? '',
    keys: keysOf(index.KeySchema),
    projection: index.Projection?.ProjectionType ?? 'ALL',
    include: index.Projection?.NonKeyAttributes ?? [],
  }));
  return { keys: keysOf(Table?.KeySchema), indexes };
}

async function writesOf(
  operation: string,
  body: Body,
  shapeOf: (table: string) => Promise<TableShape>,
): Promise<ItemWrite[]> {
  const keyOf = async (table: string, item: Item) => {
    const { keys } = await shapeOf(table);
    return Object.fromEntries(keys.map((key) => [key, item[key] ?? {}])) as Item;
  };
  const table = String(body.TableName ?? '');
  switch (operation) {
    case 'PutItem':
      return [{ table, kind: 'Put', item: body.Item as Item, key: await keyOf(table, body.Item as Item) }];
    case 'UpdateItem':
      return [{ table, kind: 'Update', key: body.Key as Item }];
    case 'DeleteItem':
      return [{ table, kind: 'Delete', key: body.Key as Item }];
    case 'BatchWriteItem': {
      const writes: ItemWrite[] = [];
      for (const [name, requests] of Object.entries((body.RequestItems ?? {}) as Record<string, Body[]>)) {
        for (const entry of requests) {
          const put = entry.PutRequest as { Item: Item } | undefined;
          const del = entry.DeleteRequest as { Key: Item } | undefined;
          if (put)
            writes.push({ table: name, kind: 'Put', item: put.Item, key: await keyOf(name, put.Item) });
          if (del) writes.push({ table: name, kind: 'Delete', key: del.Key });
        }
      }
      return writes;
    }
    default: {
      const writes: ItemWrite[] = [];
      for (const entry of (body.TransactItems ?? []) as Record<string, Body>[]) {
        for (const kind of ['Put', 'Update', 'Delete', 'ConditionCheck'] as const) {
          const part = entry[kind];
          if (!part) continue;
          const name = String(part.TableName ?? '');
          const item = part.Item as Item | undefined;
          writes.push({
            table: name,
            kind,
            ...(item ? { item } : {}),
            key: item ? await keyOf(name, item) : (part.Key as Item),
          });
        }
      }
      return writes;
    }
  }
}

/** The stored items of `writes` (consistent reads), in order; undefined where there is none. */
async function readItems(
  client: DynamoDBClient,
  writes: readonly ItemWrite[],
): Promise<(Item | undefined)[]> {
  const [write] = writes;
  if (!write) return [];
  const { Responses = {} } = await client.send(
    new BatchGetItemCommand({
      RequestItems: {
        [write.table]: {
          Keys: [write.key as unknown as Record<string, SdkAttributeValue>],
          ConsistentRead: true,
        },
      },
    }),
  );
  return [(Responses[write.table]?.[0] as Item | undefined) ?? undefined];
}
