import { relayRejectionFeedback, toFeedbackEvent } from '../../../lambdas/domain/feedback/feedback-event';
import { parseSesEvent } from '../../../lambdas/domain/feedback/ses-event-schema';
import {
  DEFAULT_SUPPRESSION_EXPIRY,
  decideSuppressions,
  InvalidSuppressionPolicyError,
  isActiveSuppression,
  suppressionExpiryPolicy,
} from '../../../lambdas/domain/feedback/suppression-rules';
import { fixture, type Json } from './load-fixture';

const TAGS = { messageId: 'msg-1', tenantId: 'tenant-a' };
const BOUNCE_AT = '2017-08-05T00:41:02.669Z';
const BOUNCE_AT_SECONDS = Math.floor(Date.parse(BOUNCE_AT) / 1000);

function bounceEvent(bounceType: string, bounceSubType: string) {
  const record = fixture('bounce-permanent.json', TAGS);
  Object.assign(record.bounce as Json, { bounceType, bounceSubType });
  return toFeedbackEvent(parseSesEvent(record));
}

describe('decideSuppressions', () => {
  it('suppresses a permanently bounced recipient for 365 days with reason, source message and time', () => {
    expect(decideSuppressions('tenant-a', bounceEvent('Permanent', 'General'))).toEqual([
      {
        tenantId: 'tenant-a',
        address: 'recipient@example.com',
        reason: 'PERMANENT_BOUNCE',
        sourceMessageId: 'msg-1',
        createdAt: BOUNCE_AT,
        expiresAt: BOUNCE_AT_SECONDS + 365 * 86_400,
        detail: 'smtp; 550 5.1.1 user unknown',
      },
    ]);
  });

  it('suppresses a complaining recipient without expiry', () => {
    const event = toFeedbackEvent(parseSesEvent(fixture('complaint.json', TAGS)));
    const [entry] = decideSuppressions('tenant-a', event);
    expect(entry).toMatchObject({
      reason: 'COMPLAINT',
      address: 'recipient@example.com',
      sourceMessageId: 'msg-1',
    });
    expect(entry?.expiresAt).toBeUndefined();
  });

  it.each([
    ['Transient', 'MailboxFull'],
    ['Transient', 'General'],
    ['Undetermined', 'Undetermined'],
  ])('does not suppress a %s/%s bounce', (type, subType) => {
    expect(decideSuppressions('tenant-a', bounceEvent(type, subType))).toEqual([]);
  });

  it('records an OnAccountSuppressionList bounce as suppressed', () => {
    const event = toFeedbackEvent(parseSesEvent(fixture('bounce-on-account-suppression-list.json', TAGS)));
    expect(decideSuppressions('tenant-a', event)).toEqual([
      expect.objectContaining({ reason: 'SES_ACCOUNT_SUPPRESSION', address: 'recipient@example.com' }),
    ]);
  });

  it('does not suppress on deliveries, delays, opens, or not-spam reports', () => {
    for (const name of ['delivery.json', 'delivery-delay.json', 'open.json', 'send.json', 'reject.json']) {
      expect(decideSuppressions('tenant-a', toFeedbackEvent(parseSesEvent(fixture(name, TAGS))))).toEqual([]);
    }
    const notSpam = fixture('complaint.json', TAGS);
    (notSpam.complaint as Json).complaintFeedbackType = 'not-spam';
    expect(decideSuppressions('tenant-a', toFeedbackEvent(parseSesEvent(notSpam)))).toEqual([]);
  });

  it('counts a 5xx from an external relay as a permanent bounce of that recipient', () => {
    const event = relayRejectionFeedback({
      messageId: 'msg-2',
      tenantId: 'tenant-a',
      recipient: 'Nobody@Example.com',
      responseCode: 550,
      response: '5.1.1 <nobody@example.com>: Recipient address rejected',
      occurredAt: '2024-03-01T10:00:00Z',
    });
    if (!event) throw new Error('expected a bounce');
    expect(event.recipients[0]).toMatchObject({ eventType: 'Bounce', bounceType: 'Permanent' });
    expect(decideSuppressions('tenant-a', event)).toEqual([
      expect.objectContaining({
        address: 'nobody@example.com',
        reason: 'RELAY_REJECTION',
        sourceMessageId: 'msg-2',
        expiresAt: Date.parse('2024-03-01T10:00:00Z') / 1000 + 90 * 86_400,
        detail: '550 5.1.1 <nobody@example.com>: Recipient address rejected',
      }),
    ]);
  });

  it('does not turn a 4xx relay reply into a bounce', () => {
    expect(
      relayRejectionFeedback({
        messageId: 'msg-2',
        recipient: 'a@example.com',
        responseCode: 451,
        response: 'try later',
        occurredAt: '2024-03-01T10:00:00Z',
      }),
    ).toBeUndefined();
  });

  it('uses the configured expiry per reason', () => {
    const policy = suppressionExpiryPolicy({ PERMANENT_BOUNCE: 30, COMPLAINT: 730 });
    const [bounce] = decideSuppressions('tenant-a', bounceEvent('Permanent', 'NoEmail'), policy);
    expect(bounce?.expiresAt).toBe(BOUNCE_AT_SECONDS + 30 * 86_400);
    const [complaint] = decideSuppressions(
      'tenant-a',
      toFeedbackEvent(parseSesEvent(fixture('complaint.json', TAGS))),
      policy,
    );
    expect(complaint?.expiresAt).toBe(Math.floor(Date.parse(BOUNCE_AT) / 1000) + 730 * 86_400);
  });
});

describe('suppressionExpiryPolicy', () => {
  it('defaults to never for complaints and manual entries, a year for hard bounces, 90 days for relay 5xx', () => {
    expect(suppressionExpiryPolicy()).toEqual(DEFAULT_SUPPRESSION_EXPIRY);
    expect(DEFAULT_SUPPRESSION_EXPIRY).toEqual({
      COMPLAINT: null,
      MANUAL: null,
      PERMANENT_BOUNCE: 365,
      SES_ACCOUNT_SUPPRESSION: 365,
      RELAY_REJECTION: 90,
    });
  });

  it('refuses an expiry that is not a positive whole number of days', () => {
    expect(() => suppressionExpiryPolicy({ PERMANENT_BOUNCE: 0 })).toThrow(InvalidSuppressionPolicyError);
    expect(() => suppressionExpiryPolicy({ RELAY_REJECTION: 1.5 })).toThrow(/RELAY_REJECTION/);
  });
});

describe('isActiveSuppression', () => {
  it('treats an entry past its expiry as no longer suppressing', () => {
    const now = new Date('2024-03-01T00:00:00Z');
    expect(isActiveSuppression({ expiresAt: now.getTime() / 1000 - 1 }, now)).toBe(false);
    expect(isActiveSuppression({ expiresAt: now.getTime() / 1000 + 1 }, now)).toBe(true);
    expect(isActiveSuppression({}, now)).toBe(true);
  });
});
