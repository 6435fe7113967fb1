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
