import { randomUUID } from 'node:crypto';
import {
  CreateConfigurationSetCommand,
  CreateConfigurationSetEventDestinationCommand,
  CreateEmailIdentityCommand,
  type EventType,
  GetEmailIdentityCommand,
  SESv2Client,
} from '@aws-sdk/client-sesv2';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type LocalDnsServer, startLocalDnsServer } from '../../../local/dns/dns-server';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import {
  type SesEmulator,
  type SesEmulatorOptions,
  type StoredMessageJson,
  startSesEmulator,
} from '../../../local/ses';
import { testAws } from '../../support/env';

export interface SesHarness {
  readonly dns: LocalDnsServer;
  readonly emulator: SesEmulator;
  readonly ses: SESv2Client;
  stop(): Promise<void>;
}

/** A local DNS server and an emulator publishing its DKIM keys into it, with the real SES v2 client. */
export async function startSesHarness(options: SesEmulatorOptions = {}): Promise<SesHarness> {
  const dns = await startLocalDnsServer();
  const emulator = await startSesEmulator({
    dns,
    snsEndpoint: testAws.sqs.endpoint,
    dkimKeyBits: 1024,
    ...options,
  });
  const ses = new SESv2Client({
    endpoint: emulator.url,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
  return {
    dns,
    emulator,
    ses,
    stop: async () => {
      ses.destroy();
      await emulator.stop();
      await dns.stop();
    },
  };
}

/** A configuration set whose records of `types` (SES's `MatchingEventTypes`) go to `topicArn` over SNS. */
export async function configurationSetToSns(
  harness: SesHarness,
  set: string,
  topicArn: string,
  types: EventType[],
): Promise<void> {
  await harness.ses.send(new CreateConfigurationSetCommand({ ConfigurationSetName: set }));
  await harness.ses.send(
    new CreateConfigurationSetEventDestinationCommand({
      ConfigurationSetName: set,
      EventDestinationName: 'to-sns',
      EventDestination: { Enabled: true, MatchingEventTypes: types, SnsDestination: { TopicArn: topicArn } },
    }),
  );
}

/** Creates a domain identity and publishes its three DKIM CNAMEs, as the tenant would in their DNS. */
export async function verifiedDomain(harness: SesHarness, domain: string): Promise<string[]> {
  const created = await harness.ses.send(new CreateEmailIdentityCommand({ EmailIdentity: domain }));
  const tokens = created.DkimAttributes?.Tokens ?? [];
  for (const token of tokens) {
    harness.dns.setRecords(`${token}._domainkey.${domain}`, 'CNAME', [`${token}.dkim.amazonses.com`]);
  }
  const identity = await harness.ses.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));
  if (!identity.VerifiedForSendingStatus) throw new Error(`${domain} did not verify`);
  return tokens;
}

export async function storedMessages(harness: SesHarness): Promise<StoredMessageJson[]> {
  const response = await fetch(`${harness.emulator.url}/_local/messages`);
  return ((await response.json()) as { messages: StoredMessageJson[] }).messages;
}

/** Creates an email identity and follows the link of its verification mail. */
export async function verifiedEmail(harness: SesHarness, address: string): Promise<void> {
  await harness.ses.send(new CreateEmailIdentityCommand({ EmailIdentity: address }));
  const mail = (await storedMessages(harness)).find(
    (message) => message.kind === 'verification' && message.destination.includes(address),
  );
  const link = mail?.raw.match(/http:\/\/127\.0\.0\.1:\d+\/_local\/verify\/[0-9a-f]+/)?.[0];
  if (!link) throw new Error(`no verification link for ${address}`);
  const response = await fetch(link);
  if (!response.ok) throw new Error(`verification link answered ${response.status}`);
}

/** A raw RFC 5322 message with CRLF line ends. */
export function rawMessage(headers: Record<string, string>, body = 'Hello from the test.'): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `${lines.join('\r\n')}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}\r\n`;
}

export const rawContent = (raw: string) => ({ Raw: { Data: Buffer.from(raw) } });

export interface FeedbackQueue {
  readonly topicArn: string;
  readonly queueUrl: string;
  /** Receives SNS-wrapped SES event records until `count` arrived, unwrapping SNS's envelope. */
  receive(count: number): Promise<Record<string, unknown>[]>;
  destroy(): void;
}

/** An SNS topic with an SQS queue subscribed, in fauxqs, uniquely named for one test file. */
export async function createFeedbackQueue(prefix: string): Promise<FeedbackQueue> {
  const sns = new SNSClient(testAws.sqs);
  const sqs = new SQSClient(testAws.sqs);
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  await sns.send(
    new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: attributes.Attributes?.QueueArn }),
  );
  if (!TopicArn || !QueueUrl) throw new Error('fauxqs did not create the topic or queue');
  return {
    topicArn: TopicArn,
    queueUrl: QueueUrl,
    receive: async (count) => {
      const records: Record<string, unknown>[] = [];
      for (let attempt = 0; attempt < 20 && records.length < count; attempt++) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        for (const message of Messages) {
          const envelope = JSON.parse(message.Body ?? '{}') as { Message?: string };
          records.push(JSON.parse(envelope.Message ?? '{}') as Record<string, unknown>);
        }
        if (Messages.length > 0) {
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl,
              Entries: Messages.map((message, i) => ({
                Id: String(i),
                ReceiptHandle: message.ReceiptHandle,
              })),
            }),
          );
        }
      }
      return records;
    },
    destroy: () => {
      sns.destroy();
      sqs.destroy();
    },
  };
}

type Shape = string | Shape[] | { [key: string]: Shape };

/** The JSON types of a value, recursively (arrays by their first element). */
function shapeOf(value: unknown): Shape {
  if (Array.isArray(value)) return value.length > 0 ? [shapeOf(value[0])] : [];
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, shapeOf(inner)]));
  }
  return value === null ? 'null' : typeof value;
}

/**
 * Checks that `actual` has every member of the AWS sample `fixture` with the same JSON type, recursively.
 * `tags` and `headers` hold message-specific names, so only their container type is compared.
 */
export function missingFromShape(actual: unknown, fixture: unknown, path = '$'): string[] {
  const want = shapeOf(fixture);
  const have = shapeOf(actual);
  if (typeof want === 'string' || typeof have === 'string') {
    return want === have ? [] : [`${path}: expected ${JSON.stringify(want)}, got ${JSON.stringify(have)}`];
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(have)) return [`${path}: expected an array`];
    const [first] = fixture as unknown[];
    return first === undefined ? [] : missingFromShape((actual as unknown[])[0], first, `${path}[0]`);
  }
  if (Array.isArray(have)) return [`${path}: expected an object`];
  const problems: string[] = [];
  for (const key of Object.keys(want)) {
    if (!(key in have)) {
      problems.push(`${path}.${key}: missing`);
      continue;
    }
    if (key === 'tags' || key === 'headers') continue;
    problems.push(
      ...missingFromShape(
        (actual as Record<string, unknown>)[key],
        (fixture as Record<string, unknown>)[key],
        `${path}.${key}`,
      ),
    );
  }
  return problems;
}
