import type { TableName } from '../../lib/schema/tables';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/emulators/local-aws';

function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(
      `${name} is not set: run tests through jest so test/support/global-setup.ts starts the emulators`,
    );
  return value;
}

/** Client settings for the emulators started by the global setup. */
export const testAws = {
  get dynamodb() {
    return {
      endpoint: required('TM_TEST_DYNAMODB_ENDPOINT'),
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    };
  },
  get sqs() {
    return {
      endpoint: required('TM_TEST_SQS_ENDPOINT'),
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    };
  },
};

/** Names the global setup provisioned from the `dev` scope's templates (tables and queue URLs). */
export const testStack = {
  table(name: TableName): string {
    return lookup(`tenant-mail-dev-${name}`);
  },
  /** Topic ARN by the topic's short name: `ses-events`, `alarms`. */
  topicArn(name: string): string {
    return lookup(`tenant-mail-dev-${name}`);
  },
  /** Queue URL by the queue's short name: `send`, `send-dlq`, `events`, `events-dlq`… */
  queueUrl(name: string): string {
    return lookup(`tenant-mail-dev-${name}`);
  },
};

function lookup(physicalName: string): string {
  const names = JSON.parse(required('TM_TEST_STACK')) as Record<string, string>;
  const value = names[physicalName];
  if (!value) throw new Error(`the dev scope's template has no resource named ${physicalName}`);
  return value;
}
