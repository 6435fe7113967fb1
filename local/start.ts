import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SCOPES, type Scope } from '../lambdas/domain/message';
import { startLocalDnsServer } from './dns/dns-server';
import { startDynamoDbLocal } from './emulators/dynamodb-local';
import { startLocalFauxqs } from './emulators/fauxqs';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './emulators/local-aws';
import { startSesEmulator } from './ses';
import { synthScope } from './twin/cloud-assembly';
import { provisionTemplates } from './twin/provision';
import { runFunctions } from './twin/run-functions';

const USAGE = `Usage: npm start -- [--scope dev|prod] [--fresh]

Runs tenant-mail locally on embedded emulators (no AWS account): DynamoDB Local, fauxqs (SQS/SNS), the
tenant-mail SES emulator and a local DNS server, all on 127.0.0.1, provisioned from the synthesized stack.
  --scope   which verification scope's stack to run (default dev)
  --fresh   forget data kept under .local/ from earlier runs`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scope: { type: 'string', default: 'dev' },
      fresh: { type: 'boolean', default: false },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const scope = values.scope as Scope;
  if (!(SCOPES as readonly string[]).includes(scope))
    throw new Error(`--scope must be one of ${SCOPES.join(', ')}\n\n${USAGE}`);
  const dataDir = join(__dirname, '..', '.local');
  if (values.fresh) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(join(dataDir, 'dynamodb'), { recursive: true });
  mkdirSync(join(dataDir, 'ses'), { recursive: true });

  const step = (text: string) => process.stdout.write(`• ${text}\n`);
  step('starting emulators on 127.0.0.1 (DynamoDB Local needs Java)…');
  const dns = await startLocalDnsServer();
  const [dynamo, fauxqs] = await Promise.all([
    startDynamoDbLocal({ dataDir: join(dataDir, 'dynamodb') }),
    startLocalFauxqs(),
  ]);
  const ses = await startSesEmulator({
    dns,
    snsEndpoint: fauxqs.endpoint,
    dataDir: join(dataDir, 'ses'),
    verificationRecheckMs: 1000,
  });
  const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const sqs = new SQSClient({ ...aws, endpoint: fauxqs.endpoint });
  const clients = {
    dynamodb: new DynamoDBClient({ ...aws, endpoint: dynamo.endpoint }),
    sqs,
    sns: new SNSClient({ ...aws, endpoint: fauxqs.endpoint }),
    ses: new SESv2Client({ ...aws, endpoint: ses.url }),
    dns,
  };

  step(`synthesizing and bundling the ${scope} scope, then provisioning what its templates declare…`);
  const { templates, directory } = synthScope(scope, { bundle: true });
  const provisioned = await provisionTemplates(templates, clients);
  const endpointEnv = {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: fauxqs.endpoint,
    AWS_ENDPOINT_URL_SNS: fauxqs.endpoint,
    AWS_ENDPOINT_URL_SESV2: ses.url,
  };
  const functions = await runFunctions(templates, directory, provisioned, sqs, endpointEnv, (error) =>
    console.error('function invocation failed:', error),
  );
  for (const fn of functions) fn.poller.start();

  const queues = Object.fromEntries(
    [...provisioned.resources.values()]
      .filter((resource) => resource.type === 'AWS::SQS::Queue')
      .map((resource) => [resource.attributes.QueueName, resource.ref]),
  );
  const tables = Object.fromEntries(
    [...provisioned.resources.values()]
      .filter((r) => r.type === 'AWS::DynamoDB::Table')
      .map((r) => [r.ref, r.ref]),
  );
  const endpoints = {
    scope,
    region: LOCAL_REGION,
    dynamodb: dynamo.endpoint,
    sqs: fauxqs.endpoint,
    sns: fauxqs.endpoint,
    ses: ses.url,
    dns: dns.server,
    queues,
    tables,
    viewer: `${ses.url}/_local/`,
  };
  writeFileSync(join(dataDir, 'endpoints.json'), `${JSON.stringify(endpoints, null, 2)}\n`);
  const sendQueue = queues[`tenant-mail-${scope}-send`];
  console.log(`
tenant-mail (${scope} scope) is running locally. Endpoints: .local/endpoints.json
  send queue   ${sendQueue}
  functions    ${functions.map((fn) => fn.handlerFile).join(', ')}
  mail viewer  ${ses.url}/_local/   (every email SES accepted, raw MIME with headers)

Try it (in another terminal):
  npm run send:example      # seeds a demo tenant and queues one email
Press Ctrl-C to stop.`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping…');
    await Promise.all(functions.map((fn) => fn.poller.stop()));
    await ses.stop();
    await Promise.all([fauxqs.stop(), dynamo.stop(), dns.stop()]);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
