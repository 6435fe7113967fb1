import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoTenantStore } from '../lambdas/adapters/tenant-store';
import { LOCAL_CREDENTIALS } from '../local/emulators/local-aws';

/** Seeds a demo tenant in the running local stack (`npm start`) and queues one composed email. */
async function main(): Promise<void> {
  const endpoints = JSON.parse(readFileSync(join(__dirname, '..', '.local', 'endpoints.json'), 'utf8')) as {
    scope: string;
    region: string;
    dynamodb: string;
    sqs: string;
    viewer: string;
    queues: Record<string, string>;
  };
  const environment = endpoints.scope === 'prod' ? 'production' : 'developer-sandbox';
  const aws = { region: endpoints.region, credentials: LOCAL_CREDENTIALS };
  const tenants = new DynamoTenantStore(
    DynamoDBDocumentClient.from(new DynamoDBClient({ ...aws, endpoint: endpoints.dynamodb })),
    { tableName: `tenant-mail-${endpoints.scope}-tenants` },
  );
  await tenants.put({
    tenantId: 'demo',
    displayName: 'Demo Utilities Ltd',
    profileEmail: 'billing@demo-utilities.example',
    environments: { [environment]: { method: 'default' } },
  });
  const sqs = new SQSClient({ ...aws, endpoint: endpoints.sqs });
  const queueUrl = endpoints.queues[`tenant-mail-${endpoints.scope}-send`];
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify({
        tenantId: 'demo',
        environment,
        to: ['success@simulator.amazonses.com'],
        subject: 'Your invoice INV-1001 has been posted',
        html: '<p>Hello, your invoice <b>INV-1001</b> for $42.00 is ready.</p>',
        idempotencyKey: `demo-${Date.now()}`,
      }),
    }),
  );
  console.log(`queued one email on ${queueUrl}\nsee it at ${endpoints.viewer}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
