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
 * How event records reach SNS. SES publishes asynchronously, at least once, in no guaranteed order: the
 * defaults keep order with a short delay; `EVENTS_CHAOS` delays each record independently (so records of one
 * message overtake each other) and publishes some twice.
 */
export interface EventDeliveryOptions {
  /** Each record waits a random time in [min, max] ms before it is published. @default { min: 5, max: 25 } */
  readonly delayMs?: { readonly min: number; readonly max: number };
  /** Publish in emission order (one after another) instead of as each delay ends. @default true */
  readonly ordered?: boolean;
  /** Share of records published a second time, after their own random delay. @default 0 */
  readonly duplicateRate?: number;
  /** Seed of the random delays and duplicates, for reproducible runs. @default random */
  readonly seed?: number;
}

/** `--events chaos`: up to 2 s of independent delay per record and 1 in 10 records published twice. */
export const EVENTS_CHAOS: EventDeliveryOptions = {
  delayMs: { min: 0, max: 2000 },
  ordered: false,
  duplicateRate: 0.1,
};

/** A small seeded generator (mulberry32): the same seed gives the same delays and duplicates. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Publishes event records to the SNS topics of a configuration set's enabled event destinations whose
 * `MatchingEventTypes` include the event, with the real SNS client (fauxqs locally), after the SendEmail
 * answer, as `EventDeliveryOptions` say. Every record (and every duplicate) is also kept in `store.events`
 * for tests and the viewer.
 */
export class EventPublisher {
  private readonly clients = new Map<string, SNSClient>();
  private readonly pending = new Set<Promise<void>>();
  private chain: Promise<void> = Promise.resolve();
  private readonly random: () => number;
  private readonly delay: { min: number; max: number };
  private readonly ordered: boolean;
  private readonly duplicateRate: number;

  constructor(
    private readonly store: EmulatorStore,
    private readonly snsEndpoint: string | undefined,
    delivery: EventDeliveryOptions = {},
  ) {
    this.random = randomSource(delivery.seed ?? Math.floor(Math.random() * 2 ** 32));
    this.delay = { min: delivery.delayMs?.min ?? 5, max: delivery.delayMs?.max ?? 25 };
    this.ordered = delivery.ordered ?? true;
    this.duplicateRate = delivery.duplicateRate ?? 0;
  }

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
      const copies = this.random() < this.duplicateRate ? 2 : 1;
      for (let copy = 0; copy < copies; copy++) {
        const event: PublishedEvent = {
          id: randomUUID(),
          messageId,
          eventType,
          topicArn: destination.snsTopicArn,
          payload,
          status: this.snsEndpoint ? 'pending' : 'skipped',
          ...(copy > 0 ? { duplicate: true } : {}),
        };
        this.store.addEvent(event);
        if (this.snsEndpoint) this.schedule(event);
      }
    }
  }

  /**
   * Publishes the records SES still owes from before a restart (emitted but pending when the emulator stopped or
   * crashed, or failed because SNS was unreachable): SES delivers every event at least once.
   */
  resume(): void {
    if (!this.snsEndpoint) return;
    for (const event of this.store.unpublishedEvents()) this.schedule(event);
  }

  /** Resolves once every emitted event has been published (or has failed). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  close(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }

  private schedule(event: PublishedEvent): void {
    const waitMs = this.delay.min + this.random() * (this.delay.max - this.delay.min);
    const waited = new Promise<void>((resolve) => setTimeout(resolve, waitMs));
    let done: Promise<void>;
    if (this.ordered) {
      done = this.chain.then(() => waited).then(() => this.publish(event));
      this.chain = done;
    } else {
      done = waited.then(() => this.publish(event));
    }
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  private async publish(event: PublishedEvent): Promise<void> {
    try {
      await this.client(event.topicArn).send(
        new PublishCommand({ TopicArn: event.topicArn, Message: JSON.stringify(event.payload) }),
      );
      this.store.eventSettled(event, 'published');
    } catch (error) {
      this.store.eventSettled(
        event,
        'failed',
        error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      );
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
