import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SCOPES, type Scope } from '../lambdas/domain/scope';
import { runDemo } from './demo/run-demo';
import { startLocalDnsServer } from './dns/dns-server';
import { startDynamoDbLocal } from './emulators/dynamodb-local';
import { startLocalFauxqs } from './emulators/fauxqs';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './emulators/local-aws';
import { startSecretsManagerEmulator } from './secrets/secrets-manager-emulator';
import { startSesEmulator } from './ses';
import { selfSignedRelayCertificate, startSmtpRelay } from './smtp/smtp-relay';
import { synthScope } from './twin/cloud-assembly';
import { provisionTemplates } from './twin/provision';
import { runFunctions } from './twin/run-functions';
import { startLocalViewer } from './viewer/local-viewer';

const USAGE = `Usage: npm start -- [--scope dev|prod] [--fresh] [--demo] [--verbose]

Runs tenant-mail locally on embedded emulators (no AWS account): DynamoDB Local, fauxqs (SQS/SNS), the
tenant-mail SES emulator and a local DNS server, all on 127.0.0.1, provisioned from the synthesized stack.
  --scope   which verification scope's stack to run (default dev)
  --fresh   forget data kept under .local/ from earlier runs
  --demo    set up two demo tenants and publish a bill run and simulator events, with a live summary
  --verbose show the functions' INFO logs (JSON, as in CloudWatch)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scope: { type: 'string', default: 'dev' },
      fresh: { type: 'boolean', default: false },
      demo: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
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
  if (values.fresh && process.env[CHILD_FLAG] !== '1') rmSync(dataDir, { recursive: true, force: true });
  for (const folder of ['dynamodb', 'sqs', 'ses', 'secrets', 'relay'])
    mkdirSync(join(dataDir, folder), { recursive: true });

  // The local relay stands in for a tenant's SMTP server with a self-signed certificate. The deployed sender
  // bundle verifies certificates, so this process is restarted once with that certificate trusted by Node
  // (NODE_EXTRA_CA_CERTS is read at start-up only); the code under test stays exactly as deployed.
  const certificate = await relayCertificate(join(dataDir, 'relay'));
  if (process.env[CHILD_FLAG] !== '1') {
    await restartTrusting(certificate.certFile);
    return;
  }

  const step = (text: string) => process.stdout.write(`• ${text}\n`);
  step('starting emulators on 127.0.0.1 (DynamoDB Local needs Java)…');
  const dns = await startLocalDnsServer();
  const [dynamo, fauxqs] = await Promise.all([
    startDynamoDbLocal({ dataDir: join(dataDir, 'dynamodb') }),
    // Queues persist like the tables: a twin restarted after a crash holds what AWS would.
    startLocalFauxqs({ dataDir: join(dataDir, 'sqs') }),
  ]);
  const ses = await startSesEmulator({
    dns,
    snsEndpoint: fauxqs.endpoint,
    dataDir: join(dataDir, 'ses'),
    verificationRecheckMs: 1000,
  });
  const secretsManager = await startSecretsManagerEmulator({ folder: join(dataDir, 'secrets') });
  const relay = await startSmtpRelay({
    users: { [RELAY_USER]: RELAY_PASSWORD },
    certificate: { key: certificate.key, cert: certificate.cert },
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
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
    // Functions log JSON at INFO in Lambda; locally only warnings unless --verbose.
    POWERTOOLS_LOG_LEVEL: values.verbose ? 'INFO' : 'WARN',
  };
  const functions = runFunctions(templates, directory, provisioned, sqs, {
    endpointEnv,
    onError: (error) => console.error('function invocation failed:', error),
  });
  functions.start();

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
  const tableName = (name: string) => `tenant-mail-${scope}-${name}`;
  const viewer = await startLocalViewer({
    documents: DynamoDBDocumentClient.from(clients.dynamodb),
    tables: {
      messages: tableName('messages'),
      tenants: tableName('tenants'),
      counters: tableName('counters'),
      suppressions: tableName('suppressions'),
    },
    sesUrl: ses.url,
    dnsServer: dns.server,
  });
  const endpoints = {
    scope,
    region: LOCAL_REGION,
    dynamodb: dynamo.endpoint,
    sqs: fauxqs.endpoint,
    sns: fauxqs.endpoint,
    ses: ses.url,
    dns: dns.server,
    secretsManager: secretsManager.url,
    secretsDir: join(dataDir, 'secrets'),
    smtpRelay: `127.0.0.1:${relay.port}`,
    queues,
    tables,
    viewer: viewer.url,
    sesMessages: `${ses.url}/_local/`,
  };
  writeFileSync(join(dataDir, 'endpoints.json'), `${JSON.stringify(endpoints, null, 2)}\n`);
  const sendQueue = queues[`tenant-mail-${scope}-send`];
  console.log(`
tenant-mail (${scope} scope) is running locally. Endpoints: .local/endpoints.json
  send queue   ${sendQueue}
  functions    ${functions.functions.map((fn) => fn.handlerFile).join(', ')}
  viewer       ${viewer.url}   (emails, status timelines, DKIM results, per-tenant counters)
  SES store    ${ses.url}/_local/   (every email SES accepted, raw MIME with headers)
  SMTP relay   127.0.0.1:${relay.port} (user ${RELAY_USER}), standing in for a tenant's own server

Try it (in another terminal):
  npm run send:example      # seeds a demo tenant and queues one email
  npx tenant-mail tenant list --local        # the operator CLI against this local stack
Press Ctrl-C to stop.`);
  if (values.demo) {
    await runDemo({
      scope,
      dataDir,
      dns,
      ses: clients.ses,
      documents: DynamoDBDocumentClient.from(clients.dynamodb),
      relay,
      relayUser: RELAY_USER,
      relayPassword: RELAY_PASSWORD,
      secrets: secretsManager,
      tables: {
        messages: `tenant-mail-${scope}-messages`,
        suppressions: `tenant-mail-${scope}-suppressions`,
      },
    });
  }

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping…');
    await functions.stop();
    await viewer.stop();
    await ses.stop();
    await Promise.all([fauxqs.stop(), dynamo.stop(), dns.stop(), secretsManager.stop(), relay.close()]);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

const CHILD_FLAG = 'TENANT_MAIL_TWIN_TRUSTS_RELAY';
const RELAY_USER = 'relay-user';
const RELAY_PASSWORD = 'local-relay-password';

/** The local relay's key and certificate, made once and kept under .local/relay. */
async function relayCertificate(folder: string) {
  const keyFile = join(folder, 'relay-key.pem');
  const certFile = join(folder, 'relay-cert.pem');
  if (!existsSync(keyFile) || !existsSync(certFile)) {
    const made = await selfSignedRelayCertificate();
    writeFileSync(keyFile, made.key, { mode: 0o600 });
    writeFileSync(certFile, made.cert);
  }
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile };
}

/** Runs this same command again with the relay certificate trusted, forwarding signals and the exit code. */
async function restartTrusting(certFile: string): Promise<void> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, NODE_EXTRA_CA_CERTS: certFile, [CHILD_FLAG]: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  const code = await new Promise<number>((resolve) =>
    child.once('exit', (exitCode) => resolve(exitCode ?? 1)),
  );
  process.exit(code);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
