import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateConfigurationSetCommand,
  CreateConfigurationSetEventDestinationCommand,
  GetConfigurationSetEventDestinationsCommand,
  PutSuppressedDestinationCommand,
  SendEmailCommand,
} from '@aws-sdk/client-sesv2';
import {
  createFeedbackQueue,
  type FeedbackQueue,
  missingFromShape,
  type SesHarness,
  startSesHarness,
  verifiedDomain,
} from './ses-emulator-harness';

type EventRecord = Record<string, unknown> & {
  eventType: string;
  mail: {
    messageId: string;
    destination: string[];
    tags: Record<string, string[]>;
    commonHeaders: Record<string, unknown>;
  };
};

const fixture = (name: string): unknown =>
  (
    JSON.parse(readFileSync(join(__dirname, '../../fixtures/ses-events', `${name}.json`), 'utf8')) as {
      event: unknown;
    }
  ).event;

describe('SES emulator configuration-set events', () => {
  let harness: SesHarness;
  let feedback: FeedbackQueue;
  const set = 'events-set';

  beforeAll(async () => {
    harness = await startSesHarness({ maxSendRate: 1000 });
    feedback = await createFeedbackQueue('ses-emulator-events');
    await verifiedDomain(harness, 'tenant.example');
    await harness.ses.send(new CreateConfigurationSetCommand({ ConfigurationSetName: set }));
    await harness.ses.send(
      new CreateConfigurationSetEventDestinationCommand({
        ConfigurationSetName: set,
        EventDestinationName: 'to-sns',
        EventDestination: {
          Enabled: true,
          MatchingEventTypes: ['SEND', 'DELIVERY', 'BOUNCE', 'COMPLAINT', 'REJECT', 'DELIVERY_DELAY'],
          SnsDestination: { TopicArn: feedback.topicArn },
        },
      }),
    );
  });

  afterAll(async () => {
    feedback.destroy();
    await harness.stop();
  });

  /** Sends one message through the configuration set and collects the `expected` records it produces. */
  async function eventsFor(to: string, expected: number): Promise<EventRecord[]> {
    const { MessageId } = await harness.ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'Acme <noreply@tenant.example>',
        Destination: { ToAddresses: [to] },
        ConfigurationSetName: set,
        EmailTags: [
          { Name: 'tenant', Value: 'acme' },
          { Name: 'event-id', Value: 'evt-1' },
        ],
        Content: { Simple: { Subject: { Data: 'Statement' }, Body: { Text: { Data: 'Hello' } } } },
      }),
    );
    await harness.emulator.settled();
    const records = (await feedback.receive(expected)) as EventRecord[];
    expect(records.every((record) => record.mail.messageId === MessageId)).toBe(true);
    return records;
  }

  it('lists the SNS event destination of the configuration set', async () => {
    const { EventDestinations } = await harness.ses.send(
      new GetConfigurationSetEventDestinationsCommand({ ConfigurationSetName: set }),
    );
    expect(EventDestinations?.[0]).toMatchObject({
      Name: 'to-sns',
      Enabled: true,
      SnsDestination: { TopicArn: feedback.topicArn },
    });
  });

  it('publishes Send then Delivery for success@ with the documented record structure and tags', async () => {
    const records = await eventsFor('success@simulator.amazonses.com', 2);
    expect(records.map((record) => record.eventType)).toEqual(['Send', 'Delivery']);
    const [send, delivery] = records;
    expect(missingFromShape(send, fixture('send'))).toEqual([]);
    expect(missingFromShape(delivery, fixture('delivery'))).toEqual([]);
    expect(delivery?.mail.tags).toMatchObject({
      'ses:configuration-set': [set],
      'ses:from-domain': ['tenant.example'],
      'ses:outgoing-ip': [expect.any(String)],
      tenant: ['acme'],
      'event-id': ['evt-1'],
    });
    expect(delivery?.mail.commonHeaders).toMatchObject({
      from: ['Acme <noreply@tenant.example>'],
      to: ['success@simulator.amazonses.com'],
      subject: 'Statement',
    });
    expect(delivery).toMatchObject({ delivery: { recipients: ['success@simulator.amazonses.com'] } });
  });

  it('publishes a Permanent General bounce with status 5.1.1 for bounce@', async () => {
    const records = await eventsFor('bounce+invoice@simulator.amazonses.com', 2);
    const bounce = records.find((record) => record.eventType === 'Bounce');
    expect(missingFromShape(bounce, fixture('bounce'))).toEqual([]);
    expect(bounce).toMatchObject({
      bounce: {
        bounceType: 'Permanent',
        bounceSubType: 'General',
        bouncedRecipients: [
          { emailAddress: 'bounce+invoice@simulator.amazonses.com', action: 'failed', status: '5.1.1' },
        ],
      },
    });
  });

  it('publishes Delivery then an abuse Complaint for complaint@', async () => {
    const records = await eventsFor('complaint@simulator.amazonses.com', 3);
    expect(records.map((record) => record.eventType)).toEqual(['Send', 'Delivery', 'Complaint']);
    expect(missingFromShape(records[2], fixture('complaint'))).toEqual([]);
    expect(records[2]).toMatchObject({
      complaint: {
        complaintFeedbackType: 'abuse',
        complainedRecipients: [{ emailAddress: 'complaint@simulator.amazonses.com' }],
      },
    });
  });

  it('publishes a Delivery for ooto@', async () => {
    const records = await eventsFor('ooto@simulator.amazonses.com', 2);
    expect(records.map((record) => record.eventType)).toEqual(['Send', 'Delivery']);
  });

  it('publishes an OnAccountSuppressionList bounce for suppressionlist@', async () => {
    const records = await eventsFor('suppressionlist@simulator.amazonses.com', 2);
    const bounce = records.find((record) => record.eventType === 'Bounce');
    expect(missingFromShape(bounce, fixture('bounce-on-account-suppression-list'))).toEqual([]);
    expect(bounce).toMatchObject({
      bounce: { bounceType: 'Permanent', bounceSubType: 'OnAccountSuppressionList' },
    });
  });

  it('does not deliver to an address on the account suppression list and bounces it instead', async () => {
    await harness.ses.send(
      new PutSuppressedDestinationCommand({ EmailAddress: 'gone@example.org', Reason: 'BOUNCE' }),
    );
    const records = await eventsFor('gone@example.org', 2);
    expect(records.map((record) => record.eventType)).toEqual(['Send', 'Bounce']);
    expect(records[1]).toMatchObject({
      bounce: {
        bounceSubType: 'OnAccountSuppressionList',
        bouncedRecipients: [{ emailAddress: 'gone@example.org' }],
      },
    });
    const stored = harness.emulator.store.messages.at(-1);
    expect(stored?.outcomes).toEqual([{ recipient: 'gone@example.org', outcome: 'suppressed' }]);
  });

  it('delivers to any other address', async () => {
    const records = await eventsFor('customer@example.org', 2);
    expect(records.map((record) => record.eventType)).toEqual(['Send', 'Delivery']);
    expect(harness.emulator.store.events.every((event) => event.status === 'published')).toBe(true);
  });
});
