import { startDynamoDbLocal } from '../../local/emulators/dynamodb-local';
import { startLocalFauxqs } from '../../local/emulators/fauxqs';

/**
 * Starts the emulators every integration test shares, once per `jest` run, on 127.0.0.1 at free ports.
 * Test files read the endpoints from the environment (see `test/support/env.ts`); the teardown stops them.
 */
export default async function globalSetup(): Promise<void> {
  const [dynamo, fauxqs] = await Promise.all([startDynamoDbLocal(), startLocalFauxqs()]);
  process.env.TM_TEST_DYNAMODB_ENDPOINT = dynamo.endpoint;
  process.env.TM_TEST_SQS_ENDPOINT = fauxqs.endpoint;
  globalThis.__tenantMailEmulators = [dynamo, fauxqs];
}

declare global {
  var __tenantMailEmulators: { stop(): Promise<void> }[] | undefined;
}
