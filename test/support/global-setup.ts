import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { startDynamoDbLocal } from '../../local/emulators/dynamodb-local';
import { startLocalFauxqs } from '../../local/emulators/fauxqs';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/emulators/local-aws';
import { synthScopeTemplates } from '../../local/twin/cloud-assembly';
import { provisionTemplates } from '../../local/twin/provision';

/**
 * Starts the emulators every integration test shares, once per `jest` run, on 127.0.0.1 at free ports, and
 * provisions the `dev` scope's tables and queues from the synthesized templates (one source of truth with
 * the stack). Test files read endpoints and names from the environment (`test/support/env.ts`).
 */
export default async function globalSetup(): Promise<void> {
  // A parent process (the mutation-test runner) may have started them already for many Jest runs.
  if (process.env.TM_TEST_STACK) return;
  const started = await startTestEmulators();
  globalThis.__tenantMailEmulators = started.emulators;
  Object.assign(process.env, started.env);
}

/** Starts DynamoDB Local and fauxqs and provisions the dev scope; returns the `TM_TEST_*` variables tests read. */
export async function startTestEmulators(): Promise<{
  env: Record<string, string>;
  emulators: { stop(): Promise<void> }[];
}> {
  const [dynamo, fauxqs] = await Promise.all([startDynamoDbLocal(), startLocalFauxqs()]);

  const clients = {
    dynamodb: new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    }),
    sqs: new SQSClient({ endpoint: fauxqs.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
    sns: new SNSClient({ endpoint: fauxqs.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
  };
  const provisioned = await provisionTemplates(synthScopeTemplates('dev'), clients);
  const names: Record<string, string> = {};
  for (const resource of provisioned.resources.values()) {
    if (resource.type === 'AWS::DynamoDB::Table') names[resource.ref] = resource.ref;
    if (resource.type === 'AWS::SQS::Queue') names[resource.attributes.QueueName ?? ''] = resource.ref;
    if (resource.type === 'AWS::SNS::Topic') names[resource.attributes.TopicName ?? ''] = resource.ref;
  }
  clients.dynamodb.destroy();
  clients.sqs.destroy();
  clients.sns.destroy();
  return {
    env: {
      TM_TEST_DYNAMODB_ENDPOINT: dynamo.endpoint,
      TM_TEST_SQS_ENDPOINT: fauxqs.endpoint,
      TM_TEST_STACK: JSON.stringify(names),
    },
    emulators: [dynamo, fauxqs],
  };
}

declare global {
  var __tenantMailEmulators: { stop(): Promise<void> }[] | undefined;
}
