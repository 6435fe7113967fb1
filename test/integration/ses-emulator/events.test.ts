import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateConfigurationSetCommand,
  CreateConfigurationSetEventDestinationCommand,
  GetConfigurationSetEventDestinationsCommand,
  PutSuppressedDestinationCommand,
  SendEmailCommand,
} from '@aws-sdk/client-sesv2';
import { EICAR, EVENTS_CHAOS } from '../../../local/ses';
import {
  configurationSetToSns,
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

/** A documented SES record from test/fixtures/ses-feedback/, without its `_source`/`_note` annotations. */
const documented = (name: string): unknown =>
  Object.fromEntries(
    Object.entries(
      JSON.parse(
        readFileSync(join(__dirname, '../../fixtures/ses-feedback', `${name}.json`), 'utf8'),
      ) as Record<string, unknown>,
    ).filter(([key]) => !key.startsWith('_')),
  );

describe('SES emulator configuration-set events', () => {
  let harness: SesHarness;
  let feedback: FeedbackQueue;
  const set = 'events-set';

  beforeAll(async () => {
    harness = await startSesHarness({ maxSendRate: 1000 });
    feedback = await createFeedbackQueue('ses-emulator-events');
    await verifiedDomain(harness, 'tenant.example');
    await configurationSetToSns(harness, set, feedback.topicArn, [
      'SEND',
      'DELIVERY',
      'BOUNCE',
      'COMPLAINT',
      'REJECT',
      'DELIVERY_DELAY',
    ]);
  });

  afterAll(async () => {
    feedback.destroy();
    await harness.stop();
  });

  /** Sends one message through the configuration set and collects the `expected` records it produces. */
  async function eventsFor(to: string, expected: number, body = 'Hello'): Promise<EventRecord[]> {
    const { MessageId } = await harness.ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'Acme <noreply@tenant.example>',
        Destination: { ToAddresses: [to] },
        ConfigurationSetName: set,
        EmailTags: [
          { Name: 'tenant', Value: 'acme' },
          { Name: 'event-id', Value: 'evt-1' },
        ],
        Content: { Simple: { Subject: { Data: 'Statement' }, Body: { Text: { Data: body } } } },
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

  it('publishes DeliveryDelay, then Delivery, for the emulator-only deliverydelay@ address', async () => {
    const records = await eventsFor('deliverydelay@simulator.amazonses.com', 3);
    expect(records.map((record) => record.eventType)).toEqual(['Send', 'DeliveryDelay', 'Delivery']);
    expect(missingFromShape(records[1], documented('delivery-delay'))).toEqual([]);
    expect(records[1]).toMatchObject({
      deliveryDelay: {
        delayType: 'TransientCommunicationFailure',
        delayedRecipients: [{ emailAddress: 'deliverydelay@simulator.amazonses.com', status: '4.4.1' }],
      },
    });
  });

  it('accepts a message carrying a virus (the EICAR test string) and publishes Reject, not Delivery', async () => {
    const records = await eventsFor('customer@example.org', 2, `Attached: ${EICAR}`);
    expect(records.map((record) => record.eventType)).toEqual(['Send', 'Reject']);
    expect(missingFromShape(records[1], documented('reject'))).toEqual([]);
    expect(records[1]).toMatchObject({ reject: { reason: 'Bad content' } });
    expect(harness.emulator.store.messages.at(-1)?.outcomes).toEqual([
      { recipient: 'customer@example.org', outcome: 'rejected' },
    ]);
  });
});

describe('SES emulator events under EVENTS_CHAOS', () => {
  it('publishes every record at least once, some twice, not in emission order', async () => {
    const harness = await startSesHarness({
      maxSendRate: 1000,
      events: { ...EVENTS_CHAOS, delayMs: { min: 0, max: 300 }, duplicateRate: 0.2, seed: 7 },
    });
    const feedback = await createFeedbackQueue('ses-emulator-chaos');
    try {
      await verifiedDomain(harness, 'tenant.example');
      await harness.ses.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'chaos' }));
      await harness.ses.send(
        new CreateConfigurationSetEventDestinationCommand({
          ConfigurationSetName: 'chaos',
          EventDestinationName: 'to-sns',
          EventDestination: {
            Enabled: true,
            MatchingEventTypes: ['SEND', 'DELIVERY'],
            SnsDestination: { TopicArn: feedback.topicArn },
          },
        }),
      );
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const { MessageId = '' } = await harness.ses.send(
          new SendEmailCommand({
            FromEmailAddress: 'noreply@tenant.example',
            Destination: { ToAddresses: [`success+${i}@simulator.amazonses.com`] },
            ConfigurationSetName: 'chaos',
            Content: { Simple: { Subject: { Data: `n${i}` }, Body: { Text: { Data: 'Hi' } } } },
          }),
        );
        ids.push(MessageId);
      }
      // The answers came back before the events: SES publishes after it accepted.
      expect(harness.emulator.store.events.some((event) => event.status === 'pending')).toBe(true);
      await harness.emulator.settled();
      const emitted = harness.emulator.store.events;
      const duplicates = emitted.filter((event) => event.duplicate).length;
      expect(duplicates).toBeGreaterThan(0);
      expect(emitted.every((event) => event.status === 'published')).toBe(true);

      const records = (await feedback.receive(emitted.length)) as EventRecord[];
      expect(records).toHaveLength(emitted.length);
      const keys = records.map((record) => `${record.mail.messageId} ${record.eventType}`);
      expect(new Set(keys)).toEqual(new Set(ids.flatMap((id) => [`${id} Send`, `${id} Delivery`])));
      const emissionOrder = ids.flatMap((id) => [`${id} Send`, `${id} Delivery`]);
      expect([...new Set(keys)]).not.toEqual(emissionOrder);
    } finally {
      feedback.destroy();
      await harness.stop();
    }
  });
});
