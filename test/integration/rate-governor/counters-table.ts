import { CreateTableCommand, DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TABLES } from '../../../lib/schema/tables';

/** Creates a counters table (per TABLES.counters) with a unique name in DynamoDB Local; returns its name. */
export async function createCountersTable(client: DynamoDBClient, prefix: string): Promise<string> {
  const schema = TABLES.counters;
  const tableName = `${prefix}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: schema.partitionKey, KeyType: 'HASH' },
        { AttributeName: schema.sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: schema.partitionKey, AttributeType: 'S' },
        { AttributeName: schema.sortKey, AttributeType: 'S' },
      ],
    }),
  );
  return tableName;
}

export async function deleteTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: tableName }));
}

/** A clock tests move by hand. */
export class ManualClock {
  constructor(private current: number) {}
  now(): number {
    return this.current;
  }
  set(ms: number): void {
    this.current = ms;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}
