import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSEvent } from 'aws-lambda';
import { recordRelayRejection } from '../../../lambdas/domain/feedback/process-feedback';
import { reputationConfig } from '../../../lambdas/domain/feedback/reputation-guard';
import { MessageStatus } from '../../../lambdas/domain/message';
import {
  createProcessFeedbackHandler,
  type FeedbackDeadLetters,
  type ReputationAlerts,
} from '../../../lambdas/handlers/process-feedback';
import { sqsEvent as twinSqsEvent } from '../../../local/twin/sqs-poller';
import { fixture, type Json, snsEnvelope } from '../feedback/load-fixture';
import { type MemoryDeps, memoryDeps, transientFailure } from './in-memory-ports';

const TAGS = { messageId: 'msg-1', tenantId: 'acme', environment: 'developer-sandbox' };
const RECIPIENT = 'recipient@example.com';

function sqsEvent(bodies: readonly string[]): SQSEvent {
  return twinSqsEvent(
    ...bodies.map((body, index) => ({
      body,
      messageId: `sqs-${index}`,
      queueArn: 'arn:aws:sqs:us-east-1:000000000000:tenant-mail-dev-feedback',
    })),
  );
}

const context = { getRemainingTimeInMillis: () => 30_000 } as Context;
const raw = (name: string, tags: Partial<typeof TAGS> = TAGS) => JSON.stringify(fixture(name, tags));
const viaSns = (name: string, tags: Partial<typeof TAGS> = TAGS) => snsEnvelope(fixture(name, tags));

interface Harness {
  readonly deps: MemoryDeps;
  readonly deadLettered: { body: string; code: string; reason: string }[];
  readonly alerts: { tenantId: string; level: string }[];
  run(bodies: readonly string[]): Promise<string[]>;
}

function harness(deps: MemoryDeps = memoryDeps()): Harness {
  const deadLettered: Harness['deadLettered'] = [];
  const alerts: Harness['alerts'] = [];
  const deadLetters: FeedbackDeadLetters = {
    put: async (body, failure) => {
      deadLettered.push({ body, ...failure });
    },
  };
  const recorder: ReputationAlerts = { emit: (tenantId, level) => alerts.push({ tenantId, level }) };
  const handler = createProcessFeedbackHandler(
    { ...deps, deadLetters, alerts: recorder },
    new Logger({ serviceName: 'tenant-mail', logLevel: 'ERROR' }),
  );
  return {
    deps,
    deadLettered,
    alerts,
    async run(bodies) {
      const response = await handler(sqsEvent(bodies), context);
      return response.batchItemFailures.map((failure) => failure.itemIdentifier);
    },
  };
}

/** A message SES sent to RECIPIENT, recorded SENT by the sender. */
function sentMessage(deps: MemoryDeps, messageId = TAGS.messageId): void {
  deps.messages.add(messageId, TAGS.tenantId, MessageStatus.SENT);
  deps.pauses.addTenant(TAGS.tenantId, ['developer-sandbox', 'central-sandbox']);
}

describe('feedback handler (AWS sample events)', () => {
  it('records a permanent bounce delivered in the SNS envelope: timeline BOUNCED, suppression, one bounce counted', async () => {
    const h = harness();
    sentMessage(h.deps);
    expect(await h.run([viaSns('bounce-permanent.json')])).toEqual([]);

    const item = h.deps.messages.items.get('msg-1');
    expect(item?.state.status).toBe('BOUNCED');
    expect(item?.state.recipients[RECIPIENT]).toMatchObject({
      status: 'BOUNCED',
      at: '2017-08-05T00:41:02.669Z',
    });
    expect(h.deps.suppressions.entries.get(`acme#${RECIPIENT}`)).toMatchObject({
      reason: 'PERMANENT_BOUNCE',
      sourceMessageId: 'msg-1',
      createdAt: '2017-08-05T00:41:02.669Z',
    });
    expect(await h.deps.reputation.readWindow('acme')).toEqual({ sends: 0, bounces: 1, complaints: 0 });
    // The bounce is kept whole beside the record for `message show`: AWS's sample, every field as published.
    expect(JSON.parse(h.deps.messages.events.get('msg-1') ?? '{}')).toEqual(
      fixture('bounce-permanent.json', TAGS),
    );
  });

  it('keeps the raw event only of a Bounce, Complaint or Reject it applied, never of Send or Delivery', async () => {
    const h = harness();
    sentMessage(h.deps);
    await h.run([viaSns('send.json'), viaSns('delivery.json')]);
    expect(h.deps.messages.events.size).toBe(0);
    await h.run([viaSns('complaint.json')]);
    expect(JSON.parse(h.deps.messages.events.get('msg-1') ?? '{}')).toMatchObject({
      eventType: 'Complaint',
    });
    // A redelivered complaint changes nothing and keeps nothing again.
    h.deps.messages.events.clear();
    await h.run([viaSns('complaint.json')]);
    expect(h.deps.messages.events.size).toBe(0);
  });

  it('refuses an SES record without the SNS envelope: only the feedback topic delivers feedback', async () => {
    const h = harness();
    sentMessage(h.deps);
    expect(await h.run([raw('complaint.json')])).toEqual([]);
    expect(h.deadLettered.map(({ code }) => code)).toEqual(['FEEDBACK_NOT_FROM_TOPIC']);
    expect(h.deps.messages.items.get('msg-1')?.state.status).toBe('SENT');
    expect(h.deps.suppressions.entries.size).toBe(0);
  });

  it('ends in the same state whatever the arrival order, and counts a redelivered event once', async () => {
    const bodies = ['send.json', 'delivery.json', 'bounce-permanent.json', 'delivery-delay.json'].map(
      (name) => viaSns(name),
    );
    const inOrder = harness();
    sentMessage(inOrder.deps);
    await inOrder.run(bodies);
    const reversed = harness();
    sentMessage(reversed.deps);
    for (const body of [...bodies].reverse()) await reversed.run([body]);
    // Duplicates, as SNS and SQS may deliver them, in one batch and again later.
    await reversed.run([bodies[2] ?? '', bodies[2] ?? '', bodies[0] ?? '']);

    expect(reversed.deps.messages.items.get('msg-1')?.state).toEqual(
      inOrder.deps.messages.items.get('msg-1')?.state,
    );
    const state = inOrder.deps.messages.items.get('msg-1')?.state;
    expect(state?.status).toBe('BOUNCED');
    // The sender recorded SENT: SES's Send event adds nothing to the record (it still counts the send).
    expect(state?.timeline.map((entry) => entry.eventType)).toEqual(['Delivery', 'Bounce', 'DeliveryDelay']);
    // The bounce counted once; sends are the sender's to count (when the provider accepts), not the Send event's.
    expect(await reversed.deps.reputation.readWindow('acme')).toEqual({
      sends: 0,
      bounces: 1,
      complaints: 0,
    });
    expect(await inOrder.deps.reputation.readWindow('acme')).toEqual({ sends: 0, bounces: 1, complaints: 0 });
  });

  it('keeps a final state when a DeliveryDelay arrives late', async () => {
    const h = harness();
    sentMessage(h.deps);
    await h.run([viaSns('delivery.json')]);
    await h.run([viaSns('delivery-delay.json')]);
    const state = h.deps.messages.items.get('msg-1')?.state;
    expect(state?.status).toBe('DELIVERED');
    expect(state?.timeline.at(-1)).toMatchObject({ eventType: 'DeliveryDelay' });
  });

  it('dead-letters feedback without our tags: SES puts our tags in every event of an email of ours', async () => {
    const h = harness();
    sentMessage(h.deps);
    expect(await h.run([viaSns('bounce-permanent.json', {})])).toEqual([]);
    expect(h.deadLettered.map(({ code }) => code)).toEqual(['UNCORRELATED_FEEDBACK']);
    expect(h.deps.messages.items.get('msg-1')?.state.status).toBe('SENT');
    expect(h.deps.suppressions.entries.size).toBe(0);
  });

  it('believes nothing about an email it has no record of: dead-lettered, no suppression, nothing counted', async () => {
    const h = harness();
    expect(await h.run([viaSns('bounce-permanent.json')])).toEqual([]);
    expect(h.deadLettered.map(({ code }) => code)).toEqual(['UNCORRELATED_FEEDBACK']);
    expect(h.deps.suppressions.entries.size).toBe(0);
    expect(await h.deps.reputation.readWindow('acme')).toEqual({ sends: 0, bounces: 0, complaints: 0 });
  });

  it('dead-letters malformed and unattributable feedback with the reason, and acknowledges it', async () => {
    const h = harness();
    const bodies = [
      'not json',
      JSON.stringify({
        Type: 'SubscriptionConfirmation',
        Message: 'confirm',
        SubscribeURL: 'https://example.com',
      }),
      JSON.stringify({ eventType: 'Bounce', mail: {} }),
      viaSns('bounce-permanent.json', {}),
    ];
    expect(await h.run(bodies)).toEqual([]);
    expect(h.deadLettered.map(({ code }) => code)).toEqual([
      'MALFORMED_FEEDBACK',
      'MALFORMED_FEEDBACK',
      'MALFORMED_FEEDBACK',
      'UNCORRELATED_FEEDBACK',
    ]);
    expect(h.deadLettered[0]).toEqual({
      body: 'not json',
      code: 'MALFORMED_FEEDBACK',
      reason: 'feedback message body is not JSON',
    });
    expect(h.deadLettered[1]?.reason).toContain('only Notification is accepted');
    expect(h.deadLettered[3]?.reason).toContain('no message record for SES message id');
  });

  it('returns a transient failure as a batch item failure and processes the rest of the batch', async () => {
    const h = harness();
    sentMessage(h.deps);
    sentMessage(h.deps, 'msg-2');
    h.deps.messages.failNext = transientFailure();
    const failures = await h.run([
      viaSns('delivery.json'),
      viaSns('delivery.json', { ...TAGS, messageId: 'msg-2' }),
    ]);
    expect(failures).toEqual(['sqs-0']);
    expect(h.deps.messages.items.get('msg-2')?.state.status).toBe('DELIVERED');
    expect(h.deadLettered).toEqual([]);
  });
});

describe('reputation guard in the feedback flow', () => {
  const smallSample = reputationConfig({ minimumSends: 20 });

  /** The message records the sender wrote for these test emails (feedback is believed only for them). */
  const sent = (h: Harness, count: number, address = (i: number) => `user${i}@example.com`) => {
    for (let i = 0; i < count; i++) h.deps.messages.add(`m${i}`, 'acme', MessageStatus.SENT, [address(i)]);
  };
  const sendTo = (address: string, messageId: string): Json => {
    const event = fixture('send.json', { ...TAGS, messageId });
    (event.mail as Json).destination = [address];
    return event;
  };
  const bounceOf = (address: string, messageId: string): Json => {
    const event = fixture('bounce-permanent.json', { ...TAGS, messageId });
    (event.mail as Json).destination = [address];
    ((event.bounce as Json).bouncedRecipients as Json[])[0] = {
      emailAddress: address,
      action: 'failed',
      status: '5.1.1',
    };
    return event;
  };

  it('pauses every environment once the bounce rate reaches the pause level, and emits the metrics', async () => {
    const h = harness(memoryDeps({ reputation: smallSample }));
    h.deps.pauses.addTenant('acme', ['developer-sandbox', 'central-sandbox']);
    sent(h, 20);
    // The sender counted 20 sends as SES accepted them; the Send events that follow add none.
    await h.deps.reputation.addSends('acme', '2024-03-01T10:00:00.000Z', 20);
    const sends = Array.from({ length: 20 }, (_, i) => snsEnvelope(sendTo(`user${i}@example.com`, `m${i}`)));
    await h.run(sends.slice(0, 10));
    await h.run(sends.slice(10));
    expect(await h.deps.reputation.readWindow('acme')).toEqual({ sends: 20, bounces: 0, complaints: 0 });
    expect(h.alerts).toEqual([]);
    await h.run([snsEnvelope(bounceOf('user0@example.com', 'm0'))]);
    expect(h.alerts).toEqual([{ tenantId: 'acme', level: 'pause' }]);
    const environments = h.deps.pauses.tenants.get('acme');
    expect(environments?.get('developer-sandbox')?.reason).toMatch(
      /^reputation guard: bounce rate 5 % \(1 of 20 sends\) reached pause level 4 %/,
    );
    expect(environments?.get('central-sandbox')).toEqual(environments?.get('developer-sandbox'));

    // A redelivery neither counts again nor alerts again; the first pause reason stands.
    await h.run([snsEnvelope(bounceOf('user0@example.com', 'm0'))]);
    expect(h.alerts).toHaveLength(1);
    expect(await h.deps.reputation.readWindow('acme')).toEqual({ sends: 20, bounces: 1, complaints: 0 });
  });

  it('emits a warning without pausing between the warn and pause levels', async () => {
    const h = harness(memoryDeps({ reputation: reputationConfig({ minimumSends: 30 }) }));
    h.deps.pauses.addTenant('acme', ['developer-sandbox']);
    sent(h, 1);
    // 1 bounce assessed over the minimum sample of 30: 3.3 %, between 2.5 % and 4 %.
    await h.run([snsEnvelope(bounceOf('user0@example.com', 'm0'))]);
    expect(h.alerts).toEqual([{ tenantId: 'acme', level: 'warn' }]);
    expect(h.deps.pauses.tenants.get('acme')?.get('developer-sandbox')).toBeUndefined();
  });

  it('does not count mail to the SES mailbox simulator toward reputation unless told to', async () => {
    const address = 'bounce+selftest@simulator.amazonses.com';
    const h = harness(memoryDeps({ reputation: smallSample }));
    sent(h, 2, () => address);
    await h.run([snsEnvelope(sendTo(address, 'm1')), snsEnvelope(bounceOf(address, 'm1'))]);
    expect(await h.deps.reputation.readWindow('acme')).toEqual({ sends: 0, bounces: 0, complaints: 0 });
    // It is still suppressed: the self-test shows the tenant its bounce handling.
    expect(h.deps.suppressions.entries.get(`acme#${address}`)?.reason).toBe('PERMANENT_BOUNCE');

    const counting = harness(memoryDeps({ reputation: smallSample, simulatorCountsTowardReputation: true }));
    sent(counting, 2, () => address);
    await counting.run([snsEnvelope(sendTo(address, 'm1')), snsEnvelope(bounceOf(address, 'm1'))]);
    expect(await counting.deps.reputation.readWindow('acme')).toEqual({
      sends: 0,
      bounces: 1,
      complaints: 0,
    });
  });

  it('counts a relay 5xx as a permanent bounce and pauses on it; a 4xx is not a bounce', async () => {
    const deps = memoryDeps(
      { reputation: reputationConfig({ minimumSends: 10 }) },
      '2024-05-01T12:00:00.000Z',
    );
    deps.pauses.addTenant('acme', ['developer-sandbox']);
    const rejection = {
      messageId: 'relay-msg',
      recipient: 'Gone <Gone@Example.com>',
      responseCode: 550,
      response: '5.1.1 user unknown',
      occurredAt: '2024-05-01T11:59:00.000Z',
      tenantId: 'acme',
      environment: 'developer-sandbox',
    };
    const outcome = await recordRelayRejection(rejection, deps);
    expect(outcome).toMatchObject({
      suppressed: ['gone@example.com'],
      counted: 1,
      pausedEnvironments: ['developer-sandbox'],
    });
    expect(deps.suppressions.entries.get('acme#gone@example.com')).toMatchObject({
      reason: 'RELAY_REJECTION',
      detail: '550 5.1.1 user unknown',
    });
    expect(await recordRelayRejection({ ...rejection, responseCode: 450 }, deps)).toBeUndefined();
  });
});
