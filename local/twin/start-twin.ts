import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type AdminAwsClients, type AdminClient, createAdminClient } from '../../client/admin-client';
import { createPublisher, type Publisher } from '../../client/publisher';
import { SCOPES, type Scope } from '../../lambdas/domain/scope';
import { loadScopeConfigs } from '../../lib/config/scope-config';
import { type LocalDnsServer, startLocalDnsServer } from '../dns/dns-server';
import { publishPublicRecords } from '../dns/public-records';
import { startDynamoDbLocal } from '../emulators/dynamodb-local';
import { startLocalFauxqs } from '../emulators/fauxqs';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../emulators/local-aws';
import type { RecordedEvent } from '../eventbridge/eventbridge-emulator';
import { type ScopeEventBus, startScopeEventBus } from '../eventbridge/scope-event-bus';
import {
  type SecretsManagerEmulator,
  startSecretsManagerEmulator,
} from '../secrets/secrets-manager-emulator';
import { type SesEmulator, startSesEmulator } from '../ses';
import { type SmtpRelay, selfSignedRelayCertificate, startSmtpRelay } from '../smtp/smtp-relay';
import { startLocalViewer } from '../viewer/local-viewer';
import { cdkJsonContext, synthScopes } from './cloud-assembly';
import { type LocalEndpointsFile, type ScopeEndpoints, writeEndpointsFile } from './endpoints-file';
import { createMailbox, type Mailbox } from './mailbox';
import { provisionTemplates } from './provision';
import { runFunctions } from './run-functions';
import { startWatchdog } from './watchdog';

export interface StartTwinOptions {
  /** Which verification scope's stack to run; `all` runs prod and dev side by side (dev first). @default 'dev' */
  readonly scope?: Scope | 'all';
  /**
   * Where tables, queues, SES state, secrets and `endpoints.json` are kept. @default a new temporary folder,
   * removed by `stop()`
   */
  readonly dataDir?: string;
  /** Forget what `dataDir` holds from an earlier run. @default false */
  readonly fresh?: boolean;
  /** The functions' INFO logs (JSON, as in CloudWatch) instead of warnings only. @default false */
  readonly verbose?: boolean;
  /**
   * CDK context over the package's cdk.json, e.g. `{ tenantMail: { scopes: { dev: { senderDomain } } } }`
   * (the same settings a deployment reads). @default none
   */
  readonly context?: Record<string, unknown>;
  /** Progress lines while starting (the `npm start` CLI prints them). @default none */
  readonly onProgress?: (text: string) => void;
  /** A function invocation that failed (a Lambda error, a timeout). @default console.error */
  readonly onFunctionError?: (scope: Scope, error: unknown) => void;
}

/** One running scope: its endpoints and clients pointed at them. */
export interface TwinScope {
  readonly scope: Scope;
  readonly endpoints: ScopeEndpoints;
  /** The publisher (`tenant-mail/client`) on this scope's events queue. */
  readonly client: Publisher;
  /** The admin client (`tenant-mail/client`) of this scope, trusting the stand-in relay's certificate. */
  readonly admin: AdminClient;
  /** SDK clients on this scope's emulators (static local credentials); `stop()` destroys them. */
  readonly aws: AdminAwsClients;
  /** Handler files of the functions it runs (`send-email.handler.ts`…). */
  readonly functions: readonly string[];
  /**
   * The status events (`Email Status Changed`, docs/events.md "Events out") the scope's `tenant-mail.<scope>`
   * bus received, oldest first, with the rules each matched. The bus is also an EventBridge endpoint
   * (`endpoints.eventBridge`) where a test can put its own rules with SQS targets.
   */
  readonly events: () => readonly RecordedEvent[];
}

/** The stand-in for a tenant's own SMTP server (method `external-smtp`): STARTTLS with a self-signed certificate. */
export interface TwinRelay {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** PEM of its certificate (the functions trust it; give it to anything else that connects). */
  readonly ca: string;
  readonly caFile: string;
}

/** A running twin; see {@link startTwin}. */
export interface Twin extends TwinScope {
  /** Every running scope (the first one's are also at the top level). */
  readonly scopes: Partial<Record<Scope, TwinScope>>;
  /** The endpoints file's content: the first scope at the top level, every scope under `scopes`. */
  readonly endpointsFile: LocalEndpointsFile & { readonly path: string };
  readonly dataDir: string;
  /** What the SES emulators accepted and the relay received. */
  readonly mailbox: Mailbox;
  readonly relay: TwinRelay;
  /**
   * The emulators themselves, for what the clients cannot do: DNS records (SPF, DKIM CNAMEs), relay faults
   * (`throttleNext`, `rejectRecipient`), SES's clock and account settings.
   */
  readonly emulators: {
    readonly dns: LocalDnsServer;
    readonly relay: SmtpRelay;
    readonly secretsManager: SecretsManagerEmulator;
    readonly ses: Partial<Record<Scope, SesEmulator>>;
  };
  /** Stops every function, server and the DynamoDB Local JVM; removes the data folder it created. */
  stop(): Promise<void>;
}

const RELAY_USER = 'relay-user';
const RELAY_PASSWORD = 'local-relay-password';

/**
 * Starts tenant-mail on embedded emulators, all on 127.0.0.1 with free ports: DynamoDB Local (needs Java), fauxqs
 * (SQS/SNS), an SES emulator per scope, Secrets Manager, DNS and a stand-in tenant relay. The app is synthesized
 * and its functions bundled as `cdk deploy` would, the templates' tables, queues and topics created, and each
 * function run from its bundle in worker threads, fed by its event source mappings and schedules.
 */
export async function startTwin(options: StartTwinOptions = {}): Promise<Twin> {
  const scopes: Scope[] =
    options.scope === 'all' ? ['dev', 'prod'] : SCOPES.filter((scope) => scope === (options.scope ?? 'dev'));
  if (scopes.length === 0) throw new Error(`scope must be one of ${SCOPES.join(', ')}, all`);
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir
    ? resolve(options.dataDir)
    : mkdtempSync(join(tmpdir(), 'tenant-mail-twin-'));
  if (options.fresh && !ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
  for (const folder of ['dynamodb', 'sqs', 'ses', 'secrets', 'relay'])
    mkdirSync(join(dataDir, folder), { recursive: true });
  const progress = options.onProgress ?? (() => undefined);
  const watchdog = startWatchdog();
  if (ownsDataDir) watchdog.removeOnExit(dataDir);
  const stops: Array<() => Promise<void> | void> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    watchdog.dismiss();
  };

  try {
    const certificate = await relayCertificate(join(dataDir, 'relay'));
    progress('starting emulators on 127.0.0.1 (DynamoDB Local needs Java)…');
    const dns = await startLocalDnsServer();
    stops.push(() => dns.stop());
    publishPublicRecords(dns);
    const stoppable = <T extends { stop(): Promise<void> }>(server: T): T => {
      stops.push(() => server.stop());
      return server;
    };
    // Settled both before going on, so a failed start never leaves the other running unstopped.
    const [dynamoStart, fauxqsStart] = await Promise.allSettled([
      startDynamoDbLocal({ dataDir: join(dataDir, 'dynamodb') }).then((started) => {
        watchdog.killOnExit(started.pid);
        return stoppable(started);
      }),
      // Queues persist like the tables: a twin restarted after a crash holds what AWS would.
      startLocalFauxqs({ dataDir: join(dataDir, 'sqs') }).then(stoppable),
    ]);
    if (dynamoStart.status === 'rejected') throw dynamoStart.reason;
    if (fauxqsStart.status === 'rejected') throw fauxqsStart.reason;
    const [dynamo, fauxqs] = [dynamoStart.value, fauxqsStart.value];
    const secretsManager = await startSecretsManagerEmulator({ folder: join(dataDir, 'secrets') });
    stops.push(() => secretsManager.stop());
    const relay = await startSmtpRelay({
      users: { [RELAY_USER]: RELAY_PASSWORD },
      certificate: { key: certificate.key, cert: certificate.cert },
    });
    stops.push(() => relay.close());
    const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const dynamodb = new DynamoDBClient({ ...aws, endpoint: dynamo.endpoint });
    const sqs = new SQSClient({ ...aws, endpoint: fauxqs.endpoint });
    const sns = new SNSClient({ ...aws, endpoint: fauxqs.endpoint });
    const secrets = new SecretsManagerClient({ ...aws, endpoint: secretsManager.url });
    stops.push(() => {
      for (const client of [dynamodb, sqs, sns, secrets]) client.destroy();
    });

    progress(
      `synthesizing and bundling the ${scopes.join(' and ')} scope, then provisioning what its templates declare…`,
    );
    const context = { ...cdkJsonContext(), ...options.context };
    const configs = loadScopeConfigs(context.tenantMail);
    const synthesized = synthScopes(scopes, {
      bundle: true,
      ...(options.context ? { context: options.context } : {}),
    });
    const shared: SharedTwin = {
      dataDir,
      dns,
      dynamodb,
      sqs,
      sns,
      documents: DynamoDBDocumentClient.from(dynamodb),
      dynamoEndpoint: dynamo.endpoint,
      sqsEndpoint: fauxqs.endpoint,
      secretsManagerUrl: secretsManager.url,
      smtpRelay: `127.0.0.1:${relay.port}`,
      relayCa: certificate.cert,
      verbose: options.verbose ?? false,
      onFunctionError:
        options.onFunctionError ??
        ((scope, error) => console.error(`${scope}: function invocation failed:`, error)),
    };
    const running: TwinScope[] = [];
    const sesEmulators: Partial<Record<Scope, SesEmulator>> = {};
    for (const [index, scope] of scopes.entries()) {
      const { templates, directory } = synthesized[index] ?? {};
      if (!templates || !directory) throw new Error(`no templates for scope ${scope}`);
      const started = await startScope(scope, templates, directory, shared);
      stops.push(() => started.stop());
      sesEmulators[scope] = started.sesServer;
      const clients: AdminAwsClients = { dynamodb, sqs, secrets, ses: started.ses };
      const queue = (name: string) => started.endpoints.queues[`tenant-mail-${scope}-${name}`];
      const eventsQueue = queue('events');
      if (!eventsQueue) throw new Error(`the ${scope} scope has no events queue`);
      running.push({
        scope,
        endpoints: started.endpoints,
        events: () => started.eventBus.emulator.events(`tenant-mail.${scope}`),
        functions: started.functions,
        aws: clients,
        client: createPublisher({ sqs, queueUrl: eventsQueue }),
        admin: createAdminClient({
          scope,
          clients,
          queues: Object.fromEntries(
            ['events', 'send', 'send-bulk', 'feedback'].flatMap((name) => {
              const url = queue(name);
              return url ? [[name, url]] : [];
            }),
          ),
          platformDomains: [configs[scope].senderDomain],
          dnsServers: [dns.server],
          relayCa: certificate.cert,
        }),
      });
    }
    const [primary] = running;
    if (!primary) throw new Error('no scope started');
    const endpoints: LocalEndpointsFile = {
      ...primary.endpoints,
      scopes: Object.fromEntries(running.map((scope) => [scope.scope, scope.endpoints])),
      relayCaCertificate: certificate.certFile,
    };
    const endpointsPath = writeEndpointsFile(dataDir, endpoints);
    watchdog.removeOnExit(endpointsPath);
    stops.push(() => rmSync(endpointsPath, { force: true }));
    return {
      ...primary,
      scopes: Object.fromEntries(running.map((scope) => [scope.scope, scope])),
      endpointsFile: { ...endpoints, path: endpointsPath },
      dataDir,
      mailbox: createMailbox({
        ses: Object.fromEntries(running.map((scope) => [scope.scope, scope.endpoints.ses])),
        relay: relay.messages,
      }),
      relay: {
        host: relay.host,
        port: relay.port,
        user: RELAY_USER,
        password: RELAY_PASSWORD,
        ca: certificate.cert,
        caFile: certificate.certFile,
      },
      emulators: { dns, relay, secretsManager, ses: sesEmulators },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
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
  /** PEM the functions trust besides Node's roots (the relay's self-signed certificate). */
  readonly relayCa: string;
  readonly verbose: boolean;
  readonly onFunctionError: (scope: Scope, error: unknown) => void;
}

interface RunningScope {
  readonly endpoints: ScopeEndpoints;
  readonly eventBus: ScopeEventBus;
  readonly functions: readonly string[];
  readonly ses: SESv2Client;
  readonly sesServer: SesEmulator;
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
      // Functions log JSON at INFO in Lambda; locally only warnings unless verbose.
      POWERTOOLS_LOG_LEVEL: shared.verbose ? 'INFO' : 'WARN',
    },
    // The deployed sender verifies certificates; its environments trust the relay's as NODE_EXTRA_CA_CERTS would.
    extraCaCertificates: [shared.relayCa],
    onError: (error) => shared.onFunctionError(scope, error),
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
    eventBus,
    functions: functions.functions.map((fn) => fn.handlerFile),
    ses,
    sesServer,
    async stop() {
      await functions.stop();
      await viewer.stop();
      await sesServer.stop();
      await eventBus.stop();
      ses.destroy();
    },
  };
}

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
