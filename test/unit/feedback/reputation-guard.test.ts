import { relayRejectionFeedback, toFeedbackEvent } from '../../../lambdas/domain/feedback/feedback-event';
import {
  countedSends,
  DEFAULT_REPUTATION_CONFIG,
  evaluate,
  InvalidReputationConfigError,
  reputationConfig,
  reputationDeltas,
} from '../../../lambdas/domain/feedback/reputation-guard';
import { parseSesEvent } from '../../../lambdas/domain/feedback/ses-event-schema';
import { fixture, type Json } from './load-fixture';

describe('evaluate', () => {
  it('defaults to warn at 2.5 % / 0.05 % and pause at 4 % / 0.08 % over 7 days with 2,000 sends minimum', () => {
    expect(DEFAULT_REPUTATION_CONFIG).toEqual({
      warnBounceRate: 0.025,
      pauseBounceRate: 0.04,
      warnComplaintRate: 0.0005,
      pauseComplaintRate: 0.0008,
      minimumSends: 2_000,
      windowHours: 168,
    });
  });

  it('is ok below the warn levels', () => {
    const result = evaluate({ sends: 10_000, bounces: 249, complaints: 4 });
    expect(result.level).toBe('ok');
    expect(result.sampleSufficient).toBe(true);
    expect(result.bounceRate).toBeCloseTo(0.0249);
    expect(result.reason).toMatch(/below the warn levels/);
  });

  it('warns at the bounce warn level', () => {
    const result = evaluate({ sends: 10_000, bounces: 250, complaints: 0 });
    expect(result.level).toBe('warn');
    expect(result.reason).toBe('bounce rate 2.5 % (250 of 10000 sends) reached warn level 2.5 %');
  });

  it('pauses at the bounce pause level', () => {
    expect(evaluate({ sends: 10_000, bounces: 400, complaints: 0 }).level).toBe('pause');
  });

  it('warns at the complaint warn level and pauses at the complaint pause level', () => {
    expect(evaluate({ sends: 10_000, bounces: 0, complaints: 5 }).level).toBe('warn');
    const paused = evaluate({ sends: 10_000, bounces: 0, complaints: 8 });
    expect(paused.level).toBe('pause');
    expect(paused.reason).toMatch(/^complaint rate 0.08 % \(8 of 10000 sends\) reached pause level 0.08 %$/);
  });

  it('reports the more severe of the two rates, naming both', () => {
    const result = evaluate({ sends: 10_000, bounces: 260, complaints: 9 });
    expect(result.level).toBe('pause');
    expect(result.reason).toMatch(/bounce rate .* warn .*; complaint rate .* pause/);
  });

  it('does not pause a small tenant whose few bounces are a high share of a small sample', () => {
    const result = evaluate({ sends: 20, bounces: 2, complaints: 0 });
    expect(result.bounceRate).toBe(0.1);
    expect(result.sampleSufficient).toBe(false);
    expect(result.level).toBe('ok');
    expect(result.assessedBounceRate).toBe(2 / 2_000);
    expect(result.reason).toMatch(/minimum sample of 2000 \(20 sends so far\)/);
  });

  it('pauses below the minimum sample when the bounces alone exceed the pause level at full sample', () => {
    expect(evaluate({ sends: 300, bounces: 80, complaints: 0 }).level).toBe('pause');
  });

  it('treats one complaint in a minimum sample as a warning, not a pause', () => {
    expect(evaluate({ sends: 50, bounces: 0, complaints: 1 }).level).toBe('warn');
  });

  it('is ok with no sends at all', () => {
    const result = evaluate({ sends: 0, bounces: 0, complaints: 0 });
    expect(result).toMatchObject({ level: 'ok', bounceRate: 0, complaintRate: 0 });
  });

  it('uses a configured minimum sample', () => {
    const config = reputationConfig({ minimumSends: 100 });
    expect(evaluate({ sends: 100, bounces: 4, complaints: 0 }, config).level).toBe('pause');
  });
});

describe('reputationConfig', () => {
  it('refuses a warn level that is not below the pause level', () => {
    expect(() => reputationConfig({ warnBounceRate: 0.04 })).toThrow(
      'warnBounceRate (0.04) must be below pauseBounceRate (0.04)',
    );
  });

  it('refuses a pause level at or above the SES review levels', () => {
    expect(() => reputationConfig({ pauseBounceRate: 0.05 })).toThrow(InvalidReputationConfigError);
    expect(() => reputationConfig({ pauseComplaintRate: 0.001 })).toThrow(/SES's review level of 0.001/);
  });

  it('refuses non-positive rates, sample sizes and windows', () => {
    expect(() => reputationConfig({ warnComplaintRate: 0 })).toThrow(/warnComplaintRate/);
    expect(() => reputationConfig({ minimumSends: 0 })).toThrow(/minimumSends/);
    expect(() => reputationConfig({ windowHours: 1.5 })).toThrow(/windowHours/);
  });

  it('accepts stricter levels', () => {
    expect(reputationConfig({ warnBounceRate: 0.01, pauseBounceRate: 0.02 }).pauseBounceRate).toBe(0.02);
  });
});

describe('reputationDeltas', () => {
  const TAGS = { messageId: 'msg-1', tenantId: 'tenant-a' };
  const deltasOf = (record: Json) => reputationDeltas(toFeedbackEvent(parseSesEvent(record)));

  it('counts no send from a Send event: the sender counts sends when the provider accepts', () => {
    const record = fixture('send.json', TAGS);
    (record.mail as Json).destination = ['a@example.com', 'b@example.com'];
    expect(deltasOf(record)).toEqual([]);
  });

  it('counts permanent bounces and complaints once per recipient, keyed by the event', () => {
    const [bounce] = deltasOf(fixture('bounce-permanent.json', TAGS));
    expect(bounce).toMatchObject({ bounces: 1, sends: 0, complaints: 0, at: '2017-08-05T00:41:02.669Z' });
    expect(bounce?.eventKey).toContain('#Bounce#');
    expect(deltasOf(fixture('complaint.json', TAGS))).toEqual([expect.objectContaining({ complaints: 1 })]);
  });

  it('does not count transient bounces, account-suppression bounces, deliveries or not-spam reports', () => {
    const transient = fixture('bounce-permanent.json', TAGS);
    (transient.bounce as Json).bounceType = 'Transient';
    expect(deltasOf(transient)).toEqual([]);
    expect(deltasOf(fixture('bounce-on-account-suppression-list.json', TAGS))).toEqual([]);
    expect(deltasOf(fixture('delivery.json', TAGS))).toEqual([]);
    const notSpam = fixture('complaint.json', TAGS);
    (notSpam.complaint as Json).complaintFeedbackType = 'not-spam';
    expect(deltasOf(notSpam)).toEqual([]);
  });

  it('counts a relay 5xx as a bounce', () => {
    const event = relayRejectionFeedback({
      messageId: 'msg-3',
      recipient: 'a@example.com',
      responseCode: 550,
      response: 'no such user',
      occurredAt: '2024-03-01T10:00:00Z',
    });
    if (!event) throw new Error('expected a bounce');
    expect(reputationDeltas(event)).toEqual([expect.objectContaining({ bounces: 1 })]);
  });

  it('counts the sends of an accepted email once per distinct recipient, the mailbox simulator only when told to', () => {
    const recipients = ['A@example.com', 'a@example.com', 'b@example.com', 'success@simulator.amazonses.com'];
    expect(countedSends(recipients, false)).toBe(2);
    expect(countedSends(recipients, true)).toBe(3);
    expect(countedSends([], true)).toBe(0);
  });
});
