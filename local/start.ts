import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SCOPES, type Scope } from '../lambdas/domain/scope';
import { runDemo } from './demo/run-demo';
import { type LocalDnsServer, startLocalDnsServer } from './dns/dns-server';
import { publishPublicRecords } from './dns/public-records';
import { startDynamoDbLocal } from './emulators/dynamodb-local';
import { startLocalFauxqs } from './emulators/fauxqs';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './emulators/local-aws';
import { startScopeEventBus } from './eventbridge/scope-event-bus';
import { startSecretsManagerEmulator } from './secrets/secrets-manager-emulator';
import { startSesEmulator } from './ses';
import { selfSignedRelayCertificate, startSmtpRelay } from './smtp/smtp-relay';
import { synthScopes } from './twin/cloud-assembly';
import { type LocalEndpointsFile, type ScopeEndpoints, writeEndpointsFile } from './twin/endpoints-file';
import { provisionTemplates } from './twin/provision';
import { runFunctions } from './twin/run-functions';
import { startLocalViewer } from './viewer/local-viewer';

const USAGE = `Usage: npm start -- [--scope dev|prod|all] [--fresh] [--demo] [--verbose] [--data-dir DIR]

Runs tenant-mail locally on embedded emulators (no AWS account): DynamoDB Local, fauxqs (SQS/SNS), the
tenant-mail SES emulator and a local DNS server, all on 127.0.0.1, provisioned from the synthesized stack.
  --scope     which verification scope's stack to run; all runs prod and dev side by side (default dev)
  --fresh     forget data kept from earlier runs
  --demo      set up two demo tenants and publish a bill run and simulator events, with a live summary
              (in the dev scope when --scope all)
  --verbose   show the functions' INFO logs (JSON, as in CloudWatch)
  --data-dir  where data and endpoints.json are kept (default .local in the project)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scope: { type: 'string', default: 'dev' },
      fresh: { type: 'boolean', default: false },
      demo: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const scopes: Scope[] =
    values.scope === 'all' ? ['dev', 'prod'] : SCOPES.filter((scope) => scope === values.scope);
  const [defaultScope] = scopes;
  if (!defaultScope) throw new Error(`--scope must be one of ${SCOPES.join(', ')}, all\n\n${USAGE}`);
  const dataDir = resolve(values['data-dir'] ?? join(__dirname, '..', '.local'));
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
  publishPublicRecords(dns);
  const [dynamo, fauxqs] = await Promise.all([
    startDynamoDbLocal({ dataDir: join(dataDir, 'dynamodb') }),
    // Queues persist like the tables: a twin restarted after a crash holds what AWS would.
    startLocalFauxqs({ dataDir: join(dataDir, 'sqs') }),
  ]);
  const secretsManager = await startSecretsManagerEmulator({ folder: join(dataDir, 'secrets') });
  const relay = await startSmtpRelay({
    users: { [RELAY_USER]: RELAY_PASSWORD },
    certificate: { key: certificate.key, cert: certificate.cert },
  });
  const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const dynamodb = new DynamoDBClient({ ...aws, endpoint: dynamo.endpoint });
  const sqs = new SQSClient({ ...aws, endpoint: fauxqs.endpoint });
  const sns = new SNSClient({ ...aws, endpoint: fauxqs.endpoint });
  const documents = DynamoDBDocumentClient.from(dynamodb);

  step(
    `synthesizing and bundling the ${scopes.join(' and ')} scope, then provisioning what its templates declare…`,
  );
  const synthesized = synthScopes(scopes, { bundle: true });
  const running: RunningScope[] = [];
  for (const [index, scope] of scopes.entries()) {
    const { templates, directory } = synthesized[index] ?? {};
    if (!templates || !directory) throw new Error(`no templates for scope ${scope}`);
    running.push(
      await startScope(scope, templates, directory, {
        dataDir,
        dns,
        dynamodb,
        sqs,
        sns,
        documents,
        dynamoEndpoint: dynamo.endpoint,
        sqsEndpoint: fauxqs.endpoint,
        secretsManagerUrl: secretsManager.url,
        smtpRelay: `127.0.0.1:${relay.port}`,
        verbose: Boolean(values.verbose),
      }),
    );
  }
  const [primary] = running;
  if (!primary) throw new Error('no scope started');
  const endpoints: LocalEndpointsFile = {
    ...primary.endpoints,
    scopes: Object.fromEntries(running.map((scope) => [scope.endpoints.scope, scope.endpoints])),
    relayCaCertificate: certificate.certFile,
  };
  const endpointsFile = writeEndpointsFile(dataDir, endpoints);
  for (const scope of running) {
    console.log(`
tenant-mail (${scope.endpoints.scope} scope) is running locally. Endpoints: ${endpointsFile}
  send queue   ${scope.endpoints.queues[`tenant-mail-${scope.endpoints.scope}-send`]}
  functions    ${scope.functions.functions.map((fn) => fn.handlerFile).join(', ')}
  viewer       ${scope.endpoints.viewer}   (emails, status timelines, DKIM results, per-tenant counters)
  SES store    ${scope.endpoints.sesMessages}   (every email SES accepted, raw MIME with headers)`);
  }
  console.log(`  SMTP relay   127.0.0.1:${relay.port} (user ${RELAY_USER}), standing in for a tenant's own server
  relay CA     ${certificate.certFile}

Try it (in another terminal):
  npm run send:example      # seeds a demo tenant and queues one email
  npx tenant-mail tenant list --local --scope ${defaultScope}        # the operator CLI against this local stack
Press Ctrl-C to stop.`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping…');
    rmSync(endpointsFile, { force: true });
    for (const scope of running) await scope.stop();
    await Promise.all([fauxqs.stop(), dynamo.stop(), dns.stop(), secretsManager.stop(), relay.close()]);
    for (const client of [dynamodb, sqs, sns]) client.destroy();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  // The parent that restarted this process is gone (killed without passing a signal on, e.g. by a wrapper such
  // as tsx that escalates to SIGKILL): stop cleanly rather than be left behind holding ports and the JVM.
  process.once('disconnect', () => void stop());

  if (values.demo) {
    await runDemo({
      scope: primary.endpoints.scope,
      dataDir,
      dns,
      ses: primary.ses,
      documents,
      sqs,
      relay,
      relayUser: RELAY_USER,
      relayPassword: RELAY_PASSWORD,
      secrets: secretsManager,
      queues: primary.endpoints.queues,
      tables: {
        messages: `tenant-mail-${primary.endpoints.scope}-messages`,
        suppressions: `tenant-mail-${primary.endpoints.scope}-suppressions`,
      },
    });
  }
}

interface SharedTwin {
  readonly dataDir: string;
  readonly dns: LocalDnsServer;
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly sns: SNSClient;
  readonly documents: DynamoDBDocumentClient;
  readonly dynamoEndpoint: string;
  readonly sqsEndpoint: string;
  readonly secretsManagerUrl: string;
  readonly smtpRelay: string;
  readonly verbose: boolean;
}

interface RunningScope {
  readonly endpoints: ScopeEndpoints;
  readonly ses: SESv2Client;
  readonly functions: ReturnType<typeof runFunctions>;
  stop(): Promise<void>;
}

/**
 * One scope as its deployment: its own SES account (an SES emulator of its own, publishing to the scope's
 * topic), its tables and queues (named by scope in the shared DynamoDB Local and fauxqs, as two AWS accounts
 * would keep them apart), its functions, and a viewer.
 */
async function startScope(
  scope: Scope,
  templates: Parameters<typeof provisionTemplates>[0],
  directory: string,
  shared: SharedTwin,
): Promise<RunningScope> {
  const sesServer = await startSesEmulator({
    dns: shared.dns,
    snsEndpoint: shared.sqsEndpoint,
    dataDir: join(shared.dataDir, 'ses', scope),
    verificationRecheckMs: 1000,
  });
  const ses = new SESv2Client({
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    endpoint: sesServer.url,
  });
  // Status events out: the scope's EventBridge (local/eventbridge), where the tenant-mail.<scope> bus lives.
  const eventBus = await startScopeEventBus(shared.sqs);
  const provisioned = await provisionTemplates(templates, {
    dynamodb: shared.dynamodb,
    sqs: shared.sqs,
    sns: shared.sns,
    ses,
    dns: shared.dns,
    eventBridge: eventBus.client,
  });
  const functions = runFunctions(templates, directory, provisioned, shared.sqs, {
    endpointEnv: {
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: shared.dynamoEndpoint,
      AWS_ENDPOINT_URL_SQS: shared.sqsEndpoint,
      AWS_ENDPOINT_URL_SNS: shared.sqsEndpoint,
      AWS_ENDPOINT_URL_SESV2: sesServer.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: shared.secretsManagerUrl,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventBus.url,
      // Functions log JSON at INFO in Lambda; locally only warnings unless --verbose.
      POWERTOOLS_LOG_LEVEL: shared.verbose ? 'INFO' : 'WARN',
    },
    onError: (error) => console.error(`${scope}: function invocation failed:`, error),
  });
  functions.start();
  const resources = [...provisioned.resources.values()];
  const queues = Object.fromEntries(
    resources
      .filter((resource) => resource.type === 'AWS::SQS::Queue')
      .map((resource) => [resource.attributes.QueueName, resource.ref]),
  );
  const tables = Object.fromEntries(
    resources.filter((r) => r.type === 'AWS::DynamoDB::Table').map((r) => [r.ref, r.ref]),
  );
  const tableName = (name: string) => `tenant-mail-${scope}-${name}`;
  const viewer = await startLocalViewer({
    documents: shared.documents,
    tables: {
      messages: tableName('messages'),
      tenants: tableName('tenants'),
      counters: tableName('counters'),
      suppressions: tableName('suppressions'),
    },
    sesUrl: sesServer.url,
    dnsServer: shared.dns.server,
    eventBridgeUrl: eventBus.url,
  });
  return {
    endpoints: {
      scope,
      region: LOCAL_REGION,
      dynamodb: shared.dynamoEndpoint,
      sqs: shared.sqsEndpoint,
      sns: shared.sqsEndpoint,
      ses: sesServer.url,
      dns: shared.dns.server,
      secretsManager: shared.secretsManagerUrl,
      secretsDir: join(shared.dataDir, 'secrets'),
      smtpRelay: shared.smtpRelay,
      queues,
      tables,
      viewer: viewer.url,
      sesMessages: `${sesServer.url}/_local/`,
      eventBridge: eventBus.url,
    },
    ses,
    functions,
    async stop() {
      await functions.stop();
      await viewer.stop();
      await sesServer.stop();
      await eventBus.stop();
      ses.destroy();
    },
  };
}

const CHILD_FLAG = 'TENANT_MAIL_TWIN_TRUSTS_RELAY';
const RELAY_USER = 'relay-user';
const RELAY_PASSWORD = 'local-relay-password';

/** The local relay's key and certificate, made once and kept under <data dir>/relay. */
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
    // An IPC channel only so that the child notices when this process dies.
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
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
