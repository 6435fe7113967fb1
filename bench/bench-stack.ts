import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type LocalDnsServer, startLocalDnsServer } from '../local/dns/dns-server';
import { startDynamoDbLocal } from '../local/emulators/dynamodb-local';
import { startLocalFauxqs } from '../local/emulators/fauxqs';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/emulators/local-aws';
import { startScopeEventBus } from '../local/eventbridge/scope-event-bus';
import { type SesEmulator, startSesEmulator } from '../local/ses';
import { type CfnTemplate, synthScope } from '../local/twin/cloud-assembly';
import { type ProvisionedScope, provisionTemplates } from '../local/twin/provision';

const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };

/** The emulators a benchmark runs on, with the `dev` scope provisioned from its synthesized templates. */
export interface BenchStack {
  readonly dynamodbEndpoint: string;
  readonly sqsEndpoint: string;
  /** The scope's EventBridge (status events out), as the twin runs it. */
  readonly eventBridgeEndpoint: string;
  readonly dns: LocalDnsServer;
  readonly templates: readonly CfnTemplate[];
  /** The cloud assembly folder; with `bundle`, the functions' bundled assets are under it. */
  readonly assemblyDirectory: string;
  /** The latest provisioning (with SES resources once `startSes` ran). */
  readonly provisioned: ProvisionedScope;
  /**
   * The environment the template gives a function (by its `tenant-mail:handler` file), resolved to the local
   * resources: what the function's config module reads at cold start.
   */
  functionEnvironment(handlerFile: string): Record<string, string> | undefined;
  /** The sender function's environment (see {@link functionEnvironment}). */
  senderEnvironment(): Record<string, string>;
  /**
   * A fresh SES emulator with the scope's configuration set and verified platform identity; no SNS publishing
   * unless `snsEndpoint` is given, in memory unless `dataDir` is.
   */
  startSes(
    maxSendRate: number,
    options?: { readonly snsEndpoint?: string; readonly dataDir?: string },
  ): Promise<{ ses: SesEmulator; client: SESv2Client; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

interface TemplateFunction {
  readonly Properties?: { readonly Environment?: { readonly Variables?: Record<string, unknown> } };
  readonly Metadata?: Record<string, unknown>;
}

/**
 * Starts DynamoDB Local, fauxqs and the DNS server on 127.0.0.1 and provisions the dev scope, as the jest setup
 * does; `bundle` also bundles the functions (for benchmarks that run them as the twin does).
 */
export async function startBenchStack(options: { readonly bundle?: boolean } = {}): Promise<BenchStack> {
  const dns = await startLocalDnsServer();
  const [dynamo, fauxqs] = await Promise.all([startDynamoDbLocal(), startLocalFauxqs()]);
  const dynamodb = new DynamoDBClient({ ...aws, endpoint: dynamo.endpoint });
  const sqs = new SQSClient({ ...aws, endpoint: fauxqs.endpoint });
  const sns = new SNSClient({ ...aws, endpoint: fauxqs.endpoint });
  const eventBus = await startScopeEventBus(sqs);
  const eventBridge = eventBus.client;
  const { templates, directory } = synthScope('dev', { bundle: options.bundle ?? false });
  let provisioned = await provisionTemplates(templates, { dynamodb, sqs, sns, eventBridge });
  const functions = templates.flatMap((template) =>
    Object.values(template.Resources ?? {}).filter((resource) => resource.Type === 'AWS::Lambda::Function'),
  ) as TemplateFunction[];

  const functionEnvironment = (handlerFile: string): Record<string, string> | undefined => {
    const fn = functions.find((candidate) => candidate.Metadata?.['tenant-mail:handler'] === handlerFile);
    if (!fn) return undefined;
    const variables = provisioned.resolve(fn.Properties?.Environment?.Variables ?? {}) as Record<
      string,
      unknown
    >;
    return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, String(value)]));
  };

  return {
    dynamodbEndpoint: dynamo.endpoint,
    sqsEndpoint: fauxqs.endpoint,
    eventBridgeEndpoint: eventBus.url,
    dns,
    templates,
    assemblyDirectory: directory,
    get provisioned() {
      return provisioned;
    },
    functionEnvironment,
    senderEnvironment() {
      const environment = functionEnvironment('send-email.handler.ts');
      if (!environment) throw new Error('the dev scope has no function for send-email.handler.ts');
      return environment;
    },
    async startSes(maxSendRate, sesOptions = {}) {
      const ses = await startSesEmulator({
        dns,
        dkimKeyBits: 1024,
        verificationRecheckMs: 100,
        maxSendRate,
        ...sesOptions,
      });
      const client = new SESv2Client({ ...aws, endpoint: ses.url });
      provisioned = await provisionTemplates(templates, {
        dynamodb,
        sqs,
        sns,
        ses: client,
        dns,
        eventBridge,
      });
      return {
        ses,
        client,
        async stop() {
          client.destroy();
          await ses.stop();
        },
      };
    },
    async stop() {
      dynamodb.destroy();
      sqs.destroy();
      sns.destroy();
      await eventBus.stop();
      await Promise.all([fauxqs.stop(), dynamo.stop(), dns.stop()]);
    },
  };
}
