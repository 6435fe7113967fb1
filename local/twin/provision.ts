import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  type StreamViewType,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  type EventBridgeClient,
  ResourceAlreadyExistsException,
} from '@aws-sdk/client-eventbridge';
import {
  AlreadyExistsException,
  CreateConfigurationSetCommand,
  CreateConfigurationSetEventDestinationCommand,
  CreateEmailIdentityCommand,
  type EventType,
  GetEmailIdentityCommand,
  type SESv2Client,
  UpdateConfigurationSetEventDestinationCommand,
} from '@aws-sdk/client-sesv2';
import {
  CreateTopicCommand,
  ListSubscriptionsByTopicCommand,
  type SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { LocalDnsServer } from '../dns/dns-server';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../emulators/local-aws';
import type { CfnTemplate } from './cloud-assembly';

/** What a logical resource became locally: its `Ref` value and its attributes (`Arn`, `QueueUrl`…). */
export interface LocalResource {
  readonly type: string;
  readonly ref: string;
  readonly attributes: Record<string, string>;
}

export interface ProvisionedScope {
  /** Every provisioned resource by logical id (unique across the scope's stacks). */
  readonly resources: Map<string, LocalResource>;
  /** Resolves a template value (Ref, Fn::GetAtt, Fn::ImportValue, Fn::Join, Fn::Sub) against local resources. */
  resolve(value: unknown): unknown;
}

export interface ProvisionClients {
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  /** fauxqs's SNS; without it topics and subscriptions are not provisioned. */
  readonly sns?: SNSClient;
  /** The SES emulator; without it SES resources are not provisioned. */
  readonly ses?: SESv2Client;
  /** Where DKIM CNAMEs of SES domain identities are published, so they verify as after a real DNS change. */
  readonly dns?: LocalDnsServer;
  /** The scope's EventBridge emulator; without it event buses are only named (their Ref and Arn resolve). */
  readonly eventBridge?: EventBridgeClient;
}

type Properties = Record<string, unknown>;

/**
 * Resource types the twin does not create, each with the reason; a template type in neither list fails the
 * coverage test, so a new kind of resource cannot be added to the stack without the twin following.
 */
export const NOT_PROVISIONED: Readonly<Record<string, string>> = {
  'AWS::CDK::Metadata': 'deployment metadata only',
  'AWS::IAM::Role': 'the emulators do not enforce IAM; least privilege is checked by the infra tests',
  'AWS::IAM::Policy': 'the emulators do not enforce IAM; least privilege is checked by the infra tests',
  'AWS::KMS::Key': 'the emulators do not encrypt at rest',
  'AWS::Logs::LogGroup': 'functions log to the console locally',
  'AWS::CloudWatch::Alarm': 'no CloudWatch locally; alarms are covered by the infra tests',
  'AWS::SQS::QueuePolicy':
    'TLS-only and producer queue policies: the twin talks plain HTTP on loopback and fauxqs enforces no IAM',
  'AWS::SSM::Parameter':
    'the events queue URL/ARN for producers; the twin publishes its endpoints in .local/endpoints.json',
  'AWS::SNS::TopicPolicy': 'publishing rights are not enforced by fauxqs',
  'AWS::Lambda::Function': 'not provisioned: run from its bundled asset by run-functions.ts',
  'AWS::Lambda::EventSourceMapping':
    'not provisioned: emulated by an SQS or DynamoDB Streams poller per mapping (run-functions.ts)',
  'AWS::Events::Rule':
    'not provisioned: rate(...) and cron(...) schedules invoke their target on a timer (run-functions.ts)',
  'AWS::Lambda::Permission': 'invoke permissions for EventBridge; not enforced locally',
};

/** Resource types the twin provisions; anything else in a template must be listed in NOT_PROVISIONED with a reason. */
export const PROVISIONED_TYPES = [
  'AWS::DynamoDB::Table',
  'AWS::SQS::Queue',
  'AWS::SES::ConfigurationSet',
  'AWS::SES::EmailIdentity',
  'AWS::SES::ConfigurationSetEventDestination',
  'AWS::SNS::Topic',
  'AWS::SNS::Subscription',
  'AWS::Events::EventBus',
] as const;

/**
 * Creates on the emulators what the templates declare: tables (keys, indexes, TTL) and queues (attributes,
 * redrive policies). Idempotent: existing tables and queues are kept, so data survives restarts.
 */
export async function provisionTemplates(
  templates: readonly CfnTemplate[],
  clients: ProvisionClients,
): Promise<ProvisionedScope> {
  const resources = new Map<string, LocalResource>();
  const exports = new Map<string, unknown>();
  const all = templates.flatMap((template) => Object.entries(template.Resources ?? {}));

  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (!value || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    const [first] = entries;
    if (entries.length !== 1 || !first) return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v)]));
    const [fn, arg] = first;
    switch (fn) {
      case 'Ref': {
        if (arg === 'AWS::Region') return LOCAL_REGION;
        if (arg === 'AWS::AccountId') return LOCAL_ACCOUNT;
        if (arg === 'AWS::Partition') return 'aws';
        if (arg === 'AWS::URLSuffix') return 'amazonaws.com';
        return resources.get(String(arg))?.ref ?? unresolved(fn, arg);
      }
      case 'Fn::GetAtt': {
        const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
        return resources.get(String(id))?.attributes[String(attribute)] ?? unresolved(fn, arg);
      }
      case 'Fn::ImportValue': {
        const name = String(resolve(arg));
        return exports.has(name) ? resolve(exports.get(name)) : unresolved(fn, arg);
      }
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, unknown[]];
        return (resolve(parts) as unknown[]).join(separator);
      }
      case 'Fn::Sub': {
        const template = String(Array.isArray(arg) ? arg[0] : arg);
        return template.replace(/\$\{([^}]+)\}/g, (_, name: string) =>
          String(name.includes('.') ? resolve({ 'Fn::GetAtt': name.split('.') }) : resolve({ Ref: name })),
        );
      }
      default:
        return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v)]));
    }
  };

  for (const template of templates) {
    for (const output of Object.values(template.Outputs ?? {})) {
      if (output.Export) exports.set(output.Export.Name, output.Value);
    }
  }

  for (const [id, resource] of all) {
    if (resource.Type !== 'AWS::DynamoDB::Table') continue;
    const props = (resource.Properties ?? {}) as Properties;
    const tableName = String(props.TableName);
    const streamArn = await createTable(clients.dynamodb, props);
    const arn = `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${tableName}`;
    resources.set(id, {
      type: resource.Type,
      ref: tableName,
      attributes: { Arn: arn, ...(streamArn ? { StreamArn: streamArn } : {}) },
    });
  }

  for (const [id, resource] of all) {
    if (resource.Type !== 'AWS::Events::EventBus') continue;
    const name = String(resource.Properties?.Name);
    try {
      await clients.eventBridge?.send(new CreateEventBusCommand({ Name: name }));
    } catch (error) {
      if (!(error instanceof ResourceAlreadyExistsException)) throw error;
    }
    const arn = `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:event-bus/${name}`;
    resources.set(id, { type: resource.Type, ref: name, attributes: { Arn: arn, Name: name } });
  }

  // Queues without a redrive policy first, so every dead-letter target exists before its source queue.
  const queues = all
    .filter(([, resource]) => resource.Type === 'AWS::SQS::Queue')
    .sort(
      ([, a], [, b]) =>
        Number(Boolean(a.Properties?.RedrivePolicy)) - Number(Boolean(b.Properties?.RedrivePolicy)),
    );
  const sqsEndpoint = queues.length > 0 ? await endpointOf(clients.sqs) : '';
  for (const [id, resource] of queues) {
    const props = resolve(resource.Properties ?? {}) as Properties;
    const attributes: Record<string, string> = {};
    for (const name of [
      'VisibilityTimeout',
      'MessageRetentionPeriod',
      'DelaySeconds',
      'ReceiveMessageWaitTimeSeconds',
    ]) {
      if (props[name] !== undefined) attributes[name] = String(props[name]);
    }
    if (props.RedrivePolicy) attributes.RedrivePolicy = JSON.stringify(props.RedrivePolicy);
    const { QueueUrl } = await clients.sqs.send(
      new CreateQueueCommand({ QueueName: String(props.QueueName), Attributes: attributes }),
    );
    if (!QueueUrl) throw new Error(`fauxqs returned no URL for queue ${String(props.QueueName)}`);
    const url = addressableQueueUrl(QueueUrl, sqsEndpoint);
    const { Attributes } = await clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    const arn = Attributes?.QueueArn ?? '';
    resources.set(id, {
      type: resource.Type,
      ref: url,
      attributes: { Arn: arn, QueueUrl: url, QueueName: String(props.QueueName) },
    });
  }

  if (clients.sns) await provisionSns(all, clients.sns, resources, resolve);
  if (clients.ses) await provisionSes(all, clients.ses, clients.dns, resources, resolve);
  return { resources, resolve };
}

type TemplateResources = readonly [
  string,
  { readonly Type: string; readonly Properties?: Record<string, unknown> },
][];

async function provisionSns(
  all: TemplateResources,
  sns: SNSClient,
  resources: Map<string, LocalResource>,
  resolve: (value: unknown) => unknown,
): Promise<void> {
  for (const [id, resource] of all) {
    if (resource.Type !== 'AWS::SNS::Topic') continue;
    const { TopicArn } = await sns.send(
      new CreateTopicCommand({ Name: String(resource.Properties?.TopicName) }),
    );
    if (!TopicArn)
      throw new Error(`fauxqs returned no ARN for topic ${String(resource.Properties?.TopicName)}`);
    resources.set(id, {
      type: resource.Type,
      ref: TopicArn,
      attributes: { TopicArn, TopicName: String(resource.Properties?.TopicName) },
    });
  }
  for (const [id, resource] of all) {
    if (resource.Type !== 'AWS::SNS::Subscription') continue;
    const props = resolve(resource.Properties ?? {}) as Properties;
    const topicArn = String(props.TopicArn);
    const existing = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
    const endpoint = String(props.Endpoint);
    let subscriptionArn = existing.Subscriptions?.find((sub) => sub.Endpoint === endpoint)?.SubscriptionArn;
    if (!subscriptionArn) {
      const created = await sns.send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: String(props.Protocol),
          Endpoint: endpoint,
          Attributes: {
            ...(props.RawMessageDelivery !== undefined
              ? { RawMessageDelivery: String(props.RawMessageDelivery) }
              : {}),
            ...(props.FilterPolicy ? { FilterPolicy: JSON.stringify(props.FilterPolicy) } : {}),
          },
        }),
      );
      subscriptionArn = created.SubscriptionArn;
    }
    resources.set(id, { type: resource.Type, ref: String(subscriptionArn), attributes: {} });
  }
}

async function provisionSes(
  all: TemplateResources,
  ses: SESv2Client,
  dns: LocalDnsServer | undefined,
  resources: Map<string, LocalResource>,
  resolve: (value: unknown) => unknown,
): Promise<void> {
  for (const [id, resource] of all) {
    if (resource.Type !== 'AWS::SES::ConfigurationSet') continue;
    const name = String(resource.Properties?.Name);
    await ignoreExisting(ses.send(new CreateConfigurationSetCommand({ ConfigurationSetName: name })));
    resources.set(id, { type: resource.Type, ref: name, attributes: {} });
  }
  for (const [id, resource] of all) {
    if (resource.Type !== 'AWS::SES::EmailIdentity') continue;
    const identity = String(resource.Properties?.EmailIdentity);
    await ignoreExisting(ses.send(new CreateEmailIdentityCommand({ EmailIdentity: identity })));
    const { DkimAttributes } = await ses.send(new GetEmailIdentityCommand({ EmailIdentity: identity }));
    if (!identity.includes('@')) {
      for (const token of DkimAttributes?.Tokens ?? []) {
        dns?.setRecords(`${token}._domainkey.${identity}`, 'CNAME', [`${token}.dkim.amazonses.com`]);
      }
    }
    resources.set(id, { type: resource.Type, ref: identity, attributes: {} });
  }
  for (const [id, resource] of all) {
    if (resource.Type !== 'AWS::SES::ConfigurationSetEventDestination') continue;
    const props = resolve(resource.Properties ?? {}) as {
      ConfigurationSetName: string;
      EventDestination: {
        Name: string;
        Enabled?: boolean;
        MatchingEventTypes: string[];
        SnsDestination?: { TopicARN: string };
      };
    };
    const destination = props.EventDestination;
    const input = {
      ConfigurationSetName: props.ConfigurationSetName,
      EventDestinationName: destination.Name,
      EventDestination: {
        Enabled: destination.Enabled ?? true,
        MatchingEventTypes: destination.MatchingEventTypes.map(
          (type) => SES_EVENT_TYPES[type] ?? type.toUpperCase(),
        ) as EventType[],
        ...(destination.SnsDestination
          ? { SnsDestination: { TopicArn: destination.SnsDestination.TopicARN } }
          : {}),
      },
    };
    try {
      await ses.send(new CreateConfigurationSetEventDestinationCommand(input));
    } catch (error) {
      if (!(error instanceof AlreadyExistsException)) throw error;
      await ses.send(new UpdateConfigurationSetEventDestinationCommand(input));
    }
    resources.set(id, { type: resource.Type, ref: destination.Name, attributes: {} });
  }
}

/** CloudFormation's event type names (camelCase) as the SES v2 API spells them. */
const SES_EVENT_TYPES: Record<string, string> = {
  send: 'SEND',
  reject: 'REJECT',
  bounce: 'BOUNCE',
  complaint: 'COMPLAINT',
  delivery: 'DELIVERY',
  open: 'OPEN',
  click: 'CLICK',
  renderingFailure: 'RENDERING_FAILURE',
  deliveryDelay: 'DELIVERY_DELAY',
  subscription: 'SUBSCRIPTION',
};

async function ignoreExisting(request: Promise<unknown>): Promise<void> {
  try {
    await request;
  } catch (error) {
    if (!(error instanceof AlreadyExistsException)) throw error;
  }
}

function unresolved(fn: string, arg: unknown): never {
  throw new Error(
    `local twin cannot resolve ${fn} ${JSON.stringify(arg)}: provision that resource type first`,
  );
}

/** Creates the table (keys, indexes, TTL, stream) unless it exists; returns its stream's ARN when it has one. */
async function createTable(client: DynamoDBClient, props: Properties): Promise<string | undefined> {
  const stream = props.StreamSpecification as { StreamViewType?: StreamViewType } | undefined;
  const streamSpecification = stream?.StreamViewType
    ? { StreamEnabled: true, StreamViewType: stream.StreamViewType }
    : undefined;
  const input: CreateTableCommandInput = {
    TableName: String(props.TableName),
    KeySchema: props.KeySchema as CreateTableCommandInput['KeySchema'],
    AttributeDefinitions: props.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    BillingMode: 'PAY_PER_REQUEST',
    ...(props.GlobalSecondaryIndexes
      ? {
          GlobalSecondaryIndexes:
            props.GlobalSecondaryIndexes as CreateTableCommandInput['GlobalSecondaryIndexes'],
        }
      : {}),
    ...(streamSpecification ? { StreamSpecification: streamSpecification } : {}),
  };
  try {
    const { TableDescription } = await client.send(new CreateTableCommand(input));
    const ttl = props.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
    if (ttl?.Enabled && ttl.AttributeName) {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: input.TableName,
          TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
        }),
      );
    }
    return TableDescription?.LatestStreamArn;
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  // Kept from an earlier run: add the stream when the table predates it.
  const { Table } = await client.send(new DescribeTableCommand({ TableName: input.TableName }));
  if (!streamSpecification || Table?.StreamSpecification?.StreamEnabled) return Table?.LatestStreamArn;
  const updated = await client.send(
    new UpdateTableCommand({ TableName: input.TableName, StreamSpecification: streamSpecification }),
  );
  return updated.TableDescription?.LatestStreamArn;
}

/**
 * The URL functions, the CLI and `.local/endpoints.json` get for a fauxqs queue: its path on the fauxqs serving now
 * (`endpoint`). fauxqs answers CreateQueue and GetQueueUrl with the URL it created the queue with,
 * `http://sqs.<region>.127.0.0.1:<port>/<account>/<name>`, and keeps it in its persisted data. Two faults follow:
 * - the host ending in a number is not a valid URL host (WHATWG parses it as a bad IPv4 address): the SQS client
 *   of a function configured through `AWS_ENDPOINT_URL_SQS`, which parses the queue URL to use as its endpoint
 *   (`useQueueUrlAsEndpoint`), fails SendMessageBatch with `TypeError: Invalid URL`;
 * - after a restart on `.local/` the stored URL names the port of the run that created the queue: every publish of
 *   a function goes to a closed port (ECONNREFUSED), while the twin's own pollers, given an explicit endpoint, go
 *   on receiving — a bill run stalls after its first chunks (found by the crash test, seed 49129).
 * fauxqs finds a queue by the name in its path, on whatever host and port it is reached.
 */
export function addressableQueueUrl(queueUrl: string, endpoint: string): string {
  const path = /^[a-z][a-z0-9+.-]*:\/\/[^/]+(\/[^?#]+)$/i.exec(queueUrl)?.[1];
  if (!path) throw new Error(`not a queue URL: ${queueUrl}`);
  return new URL(path, endpoint).toString();
}

/** The endpoint a twin client was built with (`new SQSClient({ endpoint })`), as a URL origin. */
export async function endpointOf(client: SQSClient): Promise<string> {
  const endpoint = await client.config.endpoint?.();
  if (!endpoint) throw new Error('the SQS client has no endpoint: the twin builds its clients with one');
  return `${endpoint.protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ''}`;
}
