import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { testAws } from '../../support/env';

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
