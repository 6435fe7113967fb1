import { randomUUID } from 'node:crypto';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { LOCAL_CREDENTIALS } from '../emulators/local-aws';
import type { ConfigurationSetRecord, EmulatorStore, PublishedEvent } from './emulator-store';
import { addressesOf, decodeWords, domainOf, type HeaderField, headerValues } from './mime-message';

/** SES's event names in records (`eventType`) and in `MatchingEventTypes`. */
const MATCHING_TYPE: Record<string, string> = {
  Send: 'SEND',
  Reject: 'REJECT',
  Bounce: 'BOUNCE',
  Complaint: 'COMPLAINT',
  Delivery: 'DELIVERY',
  DeliveryDelay: 'DELIVERY_DELAY',
  RenderingFailure: 'RENDERING_FAILURE',
  Open: 'OPEN',
  Click: 'CLICK',
  Subscription: 'SUBSCRIPTION',
};

/** The part of a message every event record of it repeats: SES's `mail` object. */
export interface MailObjectInput {
  readonly timestamp: string;
  readonly messageId: string;
  readonly source: string;
  readonly sourceArn: string;
  readonly sendingAccountId: string;
  readonly destination: readonly string[];
  readonly headers: readonly HeaderField[];
  readonly configurationSetName?: string;
  readonly emailTags: readonly { Name: string; Value: string }[];
}

/** Builds the `mail` object of SES's event publishing format, with `tags` as SES fills them. */
export function mailObject(
  input: MailObjectInput,
  extraTags: Record<string, string[]> = {},
): Record<string, unknown> {
  const { headers } = input;
  const list = (name: string) => headerValues(headers, name).map(decodeWords);
  const commonHeaders: Record<string, unknown> = { from: list('From') };
  const replyTo = list('Reply-To');
  if (replyTo.length > 0) commonHeaders.replyTo = replyTo;
  const [date] = list('Date');
  if (date) commonHeaders.date = date;
  const to = list('To');
  if (to.length > 0) commonHeaders.to = to;
  const cc = list('Cc');
  if (cc.length > 0) commonHeaders.cc = cc;
  const [headerMessageId] = headerValues(headers, 'Message-ID');
  commonHeaders.messageId =
    headerMessageId && !headerMessageId.endsWith('@email.amazonses.com>') ? headerMessageId : input.messageId;
  const [subject] = list('Subject');
  if (subject !== undefined) commonHeaders.subject = subject;
  const tags: Record<string, string[]> = {};
  if (input.configurationSetName) tags['ses:configuration-set'] = [input.configurationSetName];
  tags['ses:source-ip'] = ['127.0.0.1'];
  tags['ses:from-domain'] = [domainOf(addressesOf([input.source])[0] ?? input.source)];
  tags['ses:caller-identity'] = ['local'];
  Object.assign(tags, extraTags);
  for (const tag of input.emailTags) tags[tag.Name] = [tag.Value];
  return {
    timestamp: input.timestamp,
    source: input.source,
    sourceArn: input.sourceArn,
    sendingAccountId: input.sendingAccountId,
    messageId: input.messageId,
    destination: [...input.destination],
    headersTruncated: false,
    headers: headers.map((field) => ({ name: field.name, value: field.value })),
    commonHeaders,
    tags,
  };
}

/** A feedback ID in SES's shape (`<16 hex>-<uuid>-000000`). */
export const newFeedbackId = (): string =>
  `${Date.now().toString(16).padStart(16, '0')}-${randomUUID()}-000000`;

/**
 * Publishes event records to the SNS topics of a configuration set's enabled event destinations whose
 * `MatchingEventTypes` include the event, with the real SNS client (fauxqs locally), one at a time in
 * the order they were emitted. Every record is also kept in `store.events` for tests and the viewer.
 */
export class EventPublisher {
  private readonly clients = new Map<string, SNSClient>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: EmulatorStore,
    private readonly snsEndpoint: string | undefined,
  ) {}

  emit(
    configurationSet: ConfigurationSetRecord | undefined,
    messageId: string,
    eventType: string,
    payload: Record<string, unknown>,
  ): void {
    if (!configurationSet) return;
    const wanted = MATCHING_TYPE[eventType];
    for (const destination of configurationSet.eventDestinations) {
      if (!destination.enabled || !destination.snsTopicArn) continue;
      if (!destination.matchingEventTypes.includes(wanted ?? '')) continue;
      const event: PublishedEvent = {
        messageId,
        eventType,
        topicArn: destination.snsTopicArn,
        payload,
        status: this.snsEndpoint ? 'pending' : 'skipped',
      };
      this.store.events.push(event);
      if (this.snsEndpoint) this.chain = this.chain.then(() => this.publish(event));
    }
  }

  /** Resolves once every emitted event has been published (or has failed). */
  async settled(): Promise<void> {
    let seen: Promise<void> | undefined;
    while (seen !== this.chain) {
      seen = this.chain;
      await seen;
    }
  }

  close(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }

  private async publish(event: PublishedEvent): Promise<void> {
    try {
      await this.client(event.topicArn).send(
        new PublishCommand({ TopicArn: event.topicArn, Message: JSON.stringify(event.payload) }),
      );
      event.status = 'published';
    } catch (error) {
      event.status = 'failed';
      event.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
  }

  private client(topicArn: string): SNSClient {
    const region = topicArn.split(':')[3] || 'us-east-1';
    let client = this.clients.get(region);
    if (!client) {
      client = new SNSClient({ endpoint: this.snsEndpoint, region, credentials: LOCAL_CREDENTIALS });
      this.clients.set(region, client);
    }
    return client;
  }
}
