import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoTenantStore } from '../../lambdas/adapters/tenant-store';
import { LOCAL_CREDENTIALS } from '../emulators/local-aws';
import { readEndpointsFile } from '../twin/endpoints-file';

export interface ExampleSent {
  readonly tenantId: string;
  readonly queueUrl: string;
  readonly idempotencyKey: string;
  readonly viewer: string;
}

/**
 * Seeds the `demo` tenant (method `default`) in a running twin and queues one composed email to SES's
 * mailbox simulator (`success@`), which ends DELIVERED once SES's Delivery event comes back.
 */
export async function sendExample(endpointsFile: string): Promise<ExampleSent> {
  const endpoints = readEndpointsFile(endpointsFile);
  const environment = endpoints.scope === 'prod' ? 'production' : 'developer-sandbox';
  const aws = { region: endpoints.region, credentials: LOCAL_CREDENTIALS };
  const dynamodb = new DynamoDBClient({ ...aws, endpoint: endpoints.dynamodb });
  const sqs = new SQSClient({ ...aws, endpoint: endpoints.sqs });
  try {
    const tenants = new DynamoTenantStore(DynamoDBDocumentClient.from(dynamodb), {
      tableName: `tenant-mail-${endpoints.scope}-tenants`,
    });
    await tenants.put({
      tenantId: 'demo',
      displayName: 'Demo Utilities Ltd',
      profileEmail: 'billing@demo-utilities.example',
      environments: { [environment]: { method: 'default' } },
    });
    const queueUrl = endpoints.queues[`tenant-mail-${endpoints.scope}-send`];
    if (!queueUrl) throw new Error(`${endpointsFile} lists no send queue for the ${endpoints.scope} scope`);
    const idempotencyKey = `demo-${Date.now()}`;
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify({
          tenantId: 'demo',
          environment,
          to: ['success@simulator.amazonses.com'],
          subject: 'Your invoice INV-1001 has been posted',
          html: '<p>Hello, your invoice <b>INV-1001</b> for $42.00 is ready.</p>',
          idempotencyKey,
        }),
        MessageGroupId: 'demo',
      }),
    );
    return { tenantId: 'demo', queueUrl, idempotencyKey, viewer: endpoints.viewer };
  } finally {
    dynamodb.destroy();
    sqs.destroy();
  }
}
