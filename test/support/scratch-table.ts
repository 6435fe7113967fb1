import { randomUUID } from 'node:crypto';
import {
  CreateTableCommand,
  DeleteTableCommand,
  type DynamoDBClient,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { TABLES, type TableName, type TableSchema } from '../../lib/schema/tables';

/**
 * Creates a table with the keys and indexes of `TABLES[name]` in DynamoDB Local, for tests that need a table of
 * their own (isolation, or a second scope's table next to the provisioned dev one). Returns its name.
 * @param tableName @default `<label>-<name>-<uuid>`
 */
export async function createScratchTable(
  client: DynamoDBClient,
  name: TableName,
  options: { readonly label?: string; readonly tableName?: string } = {},
): Promise<string> {
  const schema: TableSchema = TABLES[name];
  const tableName = options.tableName ?? `${options.label ?? 'scratch'}-${name}-${randomUUID()}`;
  const keys = (key: { partitionKey: string; sortKey?: string }) => [
    { AttributeName: key.partitionKey, KeyType: 'HASH' as const },
    ...(key.sortKey ? [{ AttributeName: key.sortKey, KeyType: 'RANGE' as const }] : []),
  ];
  const attributes = new Set(
    [schema, ...(schema.globalIndexes ?? [])].flatMap((key) => keys(key).map((k) => k.AttributeName)),
  );
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: keys(schema),
      AttributeDefinitions: [...attributes].map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
      ...(schema.globalIndexes?.length
        ? {
            GlobalSecondaryIndexes: schema.globalIndexes.map((index) => ({
              IndexName: index.indexName,
              KeySchema: keys(index),
              Projection: !index.include
                ? { ProjectionType: 'ALL' as const }
                : index.include.length === 0
                  ? { ProjectionType: 'KEYS_ONLY' as const }
                  : { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...index.include] },
            })),
          }
        : {}),
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: tableName });
  return tableName;
}

export async function deleteScratchTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: tableName }));
}
