import { type FeedbackEvent, toFeedbackEvent } from '../../../lambdas/domain/feedback/feedback-event';
import {
  applyFeedback,
  initialFeedbackState,
  type MessageFeedbackState,
  recipientStates,
} from '../../../lambdas/domain/feedback/message-timeline';
import { parseSesEvent } from '../../../lambdas/domain/feedback/ses-event-schema';
import { MessageStatus } from '../../../lambdas/domain/message';
import { fixture, type Json } from './load-fixture';

const TAGS = { messageId: 'msg-1', tenantId: 'tenant-a', environment: 'production' };
const RECIPIENTS = ['a@example.com', 'b@example.com', 'c@example.com'];

function withMail(record: Json): Json {
  const mail = record.mail as Json;
  mail.destination = RECIPIENTS;
  mail.timestamp = '2024-03-01T10:00:00.000Z';
  return record;
}

function send(): FeedbackEvent {
  return toFeedbackEvent(parseSesEvent(withMail(fixture('send.json', TAGS))));
}

function delivery(recipients: string[], at: string): FeedbackEvent {
  const record = withMail(fixture('delivery.json', TAGS));
  Object.assign(record.delivery as Json, { recipients, timestamp: at });
  return toFeedbackEvent(parseSesEvent(record));
}

function bounce(
  recipient: string,
  at: string,
  bounceType = 'Permanent',
  bounceSubType = 'General',
): FeedbackEvent {
  const record = withMail(fixture('bounce-permanent.json', TAGS));
  Object.assign(record.bounce as Json, {
    bounceType,
    bounceSubType,
    timestamp: at,
    bouncedRecipients: [{ emailAddress: recipient, status: '5.1.1' }],
  });
  return toFeedbackEvent(parseSesEvent(record));
}

function complaint(recipient: string, at: string, complaintFeedbackType = 'abuse'): FeedbackEvent {
  const record = withMail(fixture('complaint.json', TAGS));
  Object.assign(record.complaint as Json, {
    complaintFeedbackType,
    timestamp: at,
    complainedRecipients: [{ emailAddress: recipient }],
  });
  return toFeedbackEvent(parseSesEvent(record));
}

function delay(recipient: string, at: string): FeedbackEvent {
  const record = withMail(fixture('delivery-delay.json', TAGS));
  Object.assign(record.deliveryDelay as Json, {
    timestamp: at,
    delayedRecipients: [{ emailAddress: recipient, status: '4.4.1' }],
  });
  return toFeedbackEvent(parseSesEvent(record));
}

function applyAll(
  events: FeedbackEvent[],
  start = initialFeedbackState(MessageStatus.SENT),
): MessageFeedbackState {
  return events.reduce((state, event) => applyFeedback(state, event).state, start);
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe('applyFeedback', () => {
  it('moves a sent message to DELIVERED and records the event on the timeline', () => {
    const result = applyFeedback(
      initialFeedbackState(MessageStatus.SENT),
      delivery(['a@example.com'], '2024-03-01T10:00:05.000Z'),
    );
    expect(result.changed).toBe(true);
    expect(result.state.status).toBe(MessageStatus.DELIVERED);
    expect(result.added).toEqual([
      expect.objectContaining({ eventType: 'Delivery', recipient: 'a@example.com', status: 'DELIVERED' }),
    ]);
  });

  it('changes nothing when the same SES event arrives twice', () => {
    const event = bounce('a@example.com', '2024-03-01T10:01:00.000Z');
    const once = applyFeedback(initialFeedbackState(MessageStatus.SENT), event);
    const twice = applyFeedback(once.state, event);
    expect(twice.changed).toBe(false);
    expect(twice.added).toEqual([]);
    expect(twice.state).toBe(once.state);
    expect(twice.state.timeline).toHaveLength(1);
  });

  it('keeps BOUNCED when a Delivery for the same recipient arrives after the Bounce', () => {
    const state = applyAll([
      bounce('a@example.com', '2024-03-01T10:01:00.000Z'),
      delivery(['a@example.com'], '2024-03-01T10:00:05.000Z'),
    ]);
    expect(state.recipients['a@example.com']?.status).toBe(MessageStatus.BOUNCED);
    expect(state.status).toBe(MessageStatus.BOUNCED);
  });

  it('keeps BOUNCED when the Bounce arrives after the Delivery', () => {
    const state = applyAll([
      delivery(['a@example.com'], '2024-03-01T10:00:05.000Z'),
      bounce('a@example.com', '2024-03-01T10:01:00.000Z'),
    ]);
    expect(state.status).toBe(MessageStatus.BOUNCED);
  });

  it('lets a Complaint win over a Delivery', () => {
    const state = applyAll([
      complaint('a@example.com', '2024-03-02T08:00:00.000Z'),
      delivery(['a@example.com'], '2024-03-01T10:00:05.000Z'),
    ]);
    expect(state.status).toBe(MessageStatus.COMPLAINED);
  });

  it('never lets a late DeliveryDelay or Send overwrite a final state', () => {
    const delivered = applyAll([delivery(RECIPIENTS, '2024-03-01T10:00:05.000Z')]);
    const after = applyAll([delay('a@example.com', '2024-03-01T10:30:00.000Z'), send()], delivered);
    expect(after.status).toBe(MessageStatus.DELIVERED);
    expect(after.recipients['a@example.com']?.status).toBe(MessageStatus.DELIVERED);
    expect(after.timeline.map((entry) => entry.eventType)).toEqual([
      'Delivery',
      'Delivery',
      'Delivery',
      'DeliveryDelay',
    ]);
  });

  it('records a Send only while the record does not show the acceptance yet', () => {
    const sent = applyFeedback(initialFeedbackState(MessageStatus.SENT), send());
    expect(sent.changed).toBe(false);
    expect(sent.added).toEqual([]);

    // The sender crashed after SES accepted (SENDING): the Send event completes the record.
    const sending = applyFeedback(initialFeedbackState(MessageStatus.SENDING), send());
    expect(sending.changed).toBe(true);
    expect(sending.state.status).toBe(MessageStatus.SENT);
    expect(sending.state.accepted).toBe(true);
    expect(sending.added.map((entry) => [entry.eventType, entry.recipient])).toEqual(
      RECIPIENTS.map((recipient) => ['Send', recipient]),
    );
    // Once accepted, a second Send event of another time adds nothing either.
    expect(applyFeedback(sending.state, send()).changed).toBe(false);

    // Any other event proves the acceptance too: a Delivery before the sender recorded SENT.
    const delivered = applyFeedback(
      initialFeedbackState(MessageStatus.QUEUED),
      delivery(['a@example.com'], '2024-03-01T10:00:05.000Z'),
    );
    expect(delivered.state.status).toBe(MessageStatus.DELIVERED);
  });

  it('keeps the sender status when only informational events have arrived', () => {
    const state = applyAll([delay('a@example.com', '2024-03-01T10:30:00.000Z')]);
    expect(state.status).toBe(MessageStatus.SENT);
    expect(state.timeline).toHaveLength(1);
    expect(state.timeline[0]?.status).toBeUndefined();
  });

  it('reaches the same state whatever order the events of a multi-recipient message arrive in', () => {
    const events = [
      send(),
      delivery(['a@example.com', 'b@example.com'], '2024-03-01T10:00:05.000Z'),
      bounce('c@example.com', '2024-03-01T10:00:09.000Z'),
      complaint('b@example.com', '2024-03-02T08:00:00.000Z'),
      delay('c@example.com', '2024-03-01T10:00:07.000Z'),
    ];
    const orders = permutations(events);
    expect(orders).toHaveLength(120);
    const expected = applyAll(events);
    for (const order of orders) {
      expect(applyAll(order)).toEqual(expected);
      expect(applyAll([...order, ...order])).toEqual(expected);
    }
    expect(expected.status).toBe(MessageStatus.COMPLAINED);
    // The recipients' map follows from the applied events alone (the ledger stores only those).
    expect(recipientStates(expected.timeline)).toEqual(expected.recipients);
    for (const order of orders.slice(0, 10)) {
      expect(recipientStates(applyAll(order).timeline)).toEqual(expected.recipients);
    }
    expect(expected.recipients).toEqual({
      'a@example.com': expect.objectContaining({ status: 'DELIVERED' }),
      'b@example.com': expect.objectContaining({ status: 'COMPLAINED' }),
      'c@example.com': expect.objectContaining({ status: 'BOUNCED' }),
    });
  });

  it('aggregates a message to its most severe recipient outcome', () => {
    const state = applyAll([
      delivery(['a@example.com', 'b@example.com'], '2024-03-01T10:00:05.000Z'),
      bounce('c@example.com', '2024-03-01T10:00:09.000Z', 'Transient', 'MailboxFull'),
    ]);
    expect(state.status).toBe(MessageStatus.BOUNCED);
    expect(state.recipients['a@example.com']?.status).toBe(MessageStatus.DELIVERED);
  });

  it('marks a recipient SUPPRESSED when SES skipped it for the account suppression list', () => {
    const state = applyAll([
      bounce('a@example.com', '2024-03-01T10:00:01.000Z', 'Permanent', 'OnAccountSuppressionList'),
    ]);
    expect(state.status).toBe(MessageStatus.SUPPRESSED);
  });

  it('marks a rejected or unrenderable message REJECTED with the reason', () => {
    const reject = toFeedbackEvent(parseSesEvent(fixture('reject.json', TAGS)));
    const state = applyAll([reject]);
    expect(state.status).toBe(MessageStatus.REJECTED);
    expect(state.timeline[0]?.detail).toBe('Bad content');
    const failure = toFeedbackEvent(parseSesEvent(fixture('rendering-failure.json', TAGS)));
    expect(applyAll([failure]).status).toBe(MessageStatus.REJECTED);
  });

  it('does not treat a not-spam report as a complaint', () => {
    const state = applyAll([
      delivery(['a@example.com'], '2024-03-01T10:00:05.000Z'),
      complaint('a@example.com', '2024-03-02T08:00:00.000Z', 'not-spam'),
    ]);
    expect(state.status).toBe(MessageStatus.DELIVERED);
    expect(state.timeline).toHaveLength(2);
  });

  it('records opens and clicks without changing the status', () => {
    const open = toFeedbackEvent(parseSesEvent(fixture('open.json', TAGS)));
    const click = toFeedbackEvent(parseSesEvent(fixture('click.json', TAGS)));
    const state = applyAll([open, click], initialFeedbackState(MessageStatus.DELIVERED));
    expect(state.status).toBe(MessageStatus.DELIVERED);
    expect(state.timeline.map((entry) => entry.eventType)).toEqual(['Open', 'Click']);
  });
});
