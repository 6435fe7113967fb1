import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { testAws, testStack } from '../../support/env';

describe('test harness', () => {
  it('exposes DynamoDB Local and fauxqs on loopback endpoints', async () => {
    expect(testAws.dynamodb.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const dynamodb = new DynamoDBClient(testAws.dynamodb);
    const sqs = new SQSClient(testAws.sqs);
    const tables = await dynamodb.send(new ListTablesCommand({}));
    expect(Array.isArray(tables.TableNames)).toBe(true);
    await sqs.send(new CreateQueueCommand({ QueueName: 'harness-probe' }));
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'harness-probe' }));
    expect(QueueUrl).toContain('harness-probe');
    dynamodb.destroy();
    sqs.destroy();
  });
});

describe('provisioning from the synthesized template', () => {
  it('creates the messages table with its indexes and the send queue with its dead-letter queue', async () => {
    const { DescribeTableCommand } = await import('@aws-sdk/client-dynamodb');
    const { GetQueueAttributesCommand } = await import('@aws-sdk/client-sqs');
    const dynamodb = new DynamoDBClient(testAws.dynamodb);
    const sqs = new SQSClient(testAws.sqs);
    const { Table } = await dynamodb.send(
      new DescribeTableCommand({ TableName: testStack.table('messages') }),
    );
    expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort()).toEqual([
      'byPending',
      'byTenant',
    ]);
    // The sweeper's sparse index carries only what the sweeper reads.
    const pending = Table?.GlobalSecondaryIndexes?.find((index) => index.IndexName === 'byPending');
    expect(pending?.Projection?.ProjectionType).toBe('INCLUDE');
    expect([...(pending?.Projection?.NonKeyAttributes ?? [])].sort()).toEqual(['category', 'tenantId']);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: testStack.queueUrl('send'), AttributeNames: ['All'] }),
    );
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toMatchObject({ maxReceiveCount: 5 });
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}').deadLetterTargetArn).toContain(
      'tenant-mail-dev-send-dlq',
    );
    expect(Attributes?.VisibilityTimeout).toBe('180');
    dynamodb.destroy();
    sqs.destroy();
  });
});
