import { correlate, MESSAGE_TAG, toFeedbackEvent } from '../../../lambdas/domain/feedback/feedback-event';
import {
  MalformedFeedbackError,
  parseFeedbackMessage,
  parseSesEvent,
} from '../../../lambdas/domain/feedback/ses-event-schema';
import { fixture, fixtureNames, fixtureText, snsEnvelope } from './load-fixture';

const EXPECTED_TYPES: Record<string, string> = {
  'bounce-permanent.json': 'Bounce',
  'bounce-on-account-suppression-list.json': 'Bounce',
  'complaint.json': 'Complaint',
  'delivery.json': 'Delivery',
  'send.json': 'Send',
  'reject.json': 'Reject',
  'open.json': 'Open',
  'click.json': 'Click',
  'rendering-failure.json': 'RenderingFailure',
  'delivery-delay.json': 'DeliveryDelay',
  'subscription.json': 'Subscription',
  'sns-envelope-bounce.json': 'Bounce',
};

function reasonOf(body: string): string {
  try {
    parseFeedbackMessage(body);
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedFeedbackError);
    return (error as MalformedFeedbackError).message;
  }
  throw new Error('expected the body to be refused');
}

describe('parseFeedbackMessage', () => {
  it('has a fixture for every documented event type and names each fixture source', () => {
    expect(fixtureNames().sort()).toEqual(Object.keys(EXPECTED_TYPES).sort());
    for (const name of fixtureNames()) {
      expect(JSON.parse(fixtureText(name))._source).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
    }
  });

  it.each(Object.entries(EXPECTED_TYPES))('parses %s delivered raw as a %s event', (name, type) => {
    const event = parseFeedbackMessage(fixtureText(name));
    expect(event.eventType).toBe(type);
    expect(event.mail.messageId).toMatch(/^EXAMPLE/);
  });

  it.each(Object.entries(EXPECTED_TYPES).filter(([name]) => !name.startsWith('sns-')))(
    'parses %s wrapped in the SNS notification envelope',
    (name, type) => {
      expect(parseFeedbackMessage(snsEnvelope(fixture(name))).eventType).toBe(type);
    },
  );

  it('reads bounce type, subtype and the bounced recipients of the documented bounce', () => {
    const event = parseFeedbackMessage(fixtureText('bounce-permanent.json'));
    if (event.eventType !== 'Bounce') throw new Error('not a bounce');
    expect(event.bounce.bounceType).toBe('Permanent');
    expect(event.bounce.bounceSubType).toBe('General');
    expect(event.bounce.bouncedRecipients[0]?.diagnosticCode).toBe('smtp; 550 5.1.1 user unknown');
    expect(event.mail.tags?.['ses:configuration-set']).toEqual(['ConfigSet']);
  });

  it('accepts transient and undetermined bounces', () => {
    for (const bounceType of ['Transient', 'Undetermined']) {
      const record = fixture('bounce-permanent.json');
      (record.bounce as Record<string, unknown>).bounceType = bounceType;
      const event = parseSesEvent(record);
      expect(event.eventType === 'Bounce' && event.bounce.bounceType).toBe(bounceType);
    }
  });

  it('accepts notificationType as the event type of identity notifications', () => {
    const { eventType: _dropped, ...record } = fixture('delivery.json');
    expect(parseSesEvent({ ...record, notificationType: 'Delivery' }).eventType).toBe('Delivery');
  });

  it('refuses a body that is not JSON', () => {
    expect(reasonOf('not json {')).toBe('feedback message body is not JSON');
  });

  it('refuses an SNS subscription confirmation', () => {
    const body = JSON.stringify({
      Type: 'SubscriptionConfirmation',
      Message: 'You have chosen to subscribe',
    });
    expect(reasonOf(body)).toContain('Type "SubscriptionConfirmation"');
  });

  it('refuses an SNS notification whose Message is not JSON', () => {
    const body = JSON.stringify({ Type: 'Notification', Message: 'hello' });
    expect(reasonOf(body)).toBe('SNS Message is not JSON');
  });

  it('refuses an unknown event type, naming it', () => {
    const record = { ...fixture('delivery.json'), eventType: 'Teleport' };
    expect(reasonOf(JSON.stringify(record))).toBe('unknown SES eventType "Teleport"');
  });

  it('refuses a bounce without recipients, naming the missing field', () => {
    const record = fixture('bounce-permanent.json');
    delete (record.bounce as Record<string, unknown>).bouncedRecipients;
    expect(reasonOf(JSON.stringify(record))).toMatch(/invalid SES Bounce event: .*bouncedRecipients/);
  });

  it('refuses an event whose mail has no message id', () => {
    const record = fixture('send.json');
    delete (record.mail as Record<string, unknown>).messageId;
    expect(reasonOf(snsEnvelope(record))).toMatch(/invalid SES Send event: .*messageId/);
  });

  it('refuses a bounce type SES does not document', () => {
    const record = fixture('bounce-permanent.json');
    (record.bounce as Record<string, unknown>).bounceType = 'Soft';
    expect(reasonOf(JSON.stringify(record))).toMatch(/bounceType/);
  });
});

describe('correlate', () => {
  it('takes our message id, tenant and environment from the message tags', () => {
    const event = parseSesEvent(
      fixture('delivery.json', { messageId: 'msg-1', tenantId: 'tenant-a', environment: 'production' }),
    );
    expect(correlate(event.mail)).toEqual({
      messageId: 'msg-1',
      via: 'tag',
      sesMessageId: 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
      tenantId: 'tenant-a',
      environment: 'production',
    });
  });

  it('falls back to the SES message id when the message-id tag is missing', () => {
    const event = parseSesEvent(fixture('delivery.json'));
    expect(correlate(event.mail)).toEqual({
      messageId: 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
      via: 'ses-message-id',
      sesMessageId: 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
    });
  });

  it('uses the documented tag names', () => {
    expect(MESSAGE_TAG).toEqual({
      messageId: 'message-id',
      tenantId: 'tenant-id',
      environment: 'environment',
    });
  });
});

describe('toFeedbackEvent', () => {
  it('gives the same event keys to the same SES event delivered twice', () => {
    const first = toFeedbackEvent(parseFeedbackMessage(fixtureText('sns-envelope-bounce.json')));
    const second = toFeedbackEvent(parseFeedbackMessage(fixtureText('bounce-permanent.json')));
    expect(first.recipients.map((r) => r.eventKey)).toEqual(second.recipients.map((r) => r.eventKey));
  });

  it('keys an event by SES message id, event type, event time and recipient', () => {
    const event = toFeedbackEvent(parseFeedbackMessage(fixtureText('delivery.json')));
    expect(event.recipients).toHaveLength(1);
    expect(event.recipients[0]?.eventKey).toBe(
      'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000#Delivery#2016-10-19T23:21:04.133Z#recipient@example.com',
    );
  });

  it('uses the mail time for events without their own timestamp', () => {
    const event = toFeedbackEvent(parseFeedbackMessage(fixtureText('reject.json')));
    expect(event.occurredAt).toBe('2016-10-14T17:38:15.211Z');
    expect(event.recipients[0]?.detail).toBe('Bad content');
  });

  it('applies events that name no recipient to every destination, lower-cased and once each', () => {
    const record = fixture('send.json');
    (record.mail as Record<string, unknown>).destination = [
      'A@Example.com',
      'Bob <b@example.com>',
      'a@example.com',
    ];
    const event = toFeedbackEvent(parseSesEvent(record));
    expect(event.recipients.map((r) => r.recipient)).toEqual(['a@example.com', 'b@example.com']);
  });

  it('keeps the diagnostic code of a delayed recipient as detail', () => {
    const event = toFeedbackEvent(parseFeedbackMessage(fixtureText('delivery-delay.json')));
    expect(event.recipients[0]?.detail).toBe('smtp; 421 4.4.1 Unable to connect to remote host');
  });
});
