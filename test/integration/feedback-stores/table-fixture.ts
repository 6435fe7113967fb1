import { randomUUID } from 'node:crypto';
import {
  CreateTableCommand,
  DeleteTableCommand,
  type DynamoDBClient,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { TABLES, type TableName } from '../../../lib/schema/tables';

/** Creates a uniquely named table with the key schema of `TABLES[name]`; returns its name. */
export async function createTable(client: DynamoDBClient, name: TableName): Promise<string> {
  const schema: { partitionKey: string; sortKey?: string } = TABLES[name];
  const tableName = `feedback-${name}-${randomUUID()}`;
  const keys = [schema.partitionKey, ...(schema.sortKey ? [schema.sortKey] : [])];
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: keys.map((key) => ({ AttributeName: key, AttributeType: 'S' })),
      KeySchema: [
        { AttributeName: schema.partitionKey, KeyType: 'HASH' },
        ...(schema.sortKey ? [{ AttributeName: schema.sortKey, KeyType: 'RANGE' as const }] : []),
      ],
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: tableName });
  return tableName;
}

export async function deleteTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: tableName }));
}
