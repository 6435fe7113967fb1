import { TooManyRequestsException } from '@aws-sdk/client-sesv2';
import { SendFeedbackRecorder } from '../../../lambdas/adapters/send-feedback-recorder';
import { classifySesError } from '../../../lambdas/adapters/ses-email-sender';
import { PermanentError, TransientError } from '../../../lambdas/domain/errors';
import { LeaseLostError, LedgerUnavailableError, MessageStatus as S } from '../../../lambdas/domain/message';
import { RateLimitedError } from '../../../lambdas/domain/rate-limit/rate-limits';
import {
  EnvironmentNotServedError,
  MessageInFlightError,
  MethodNotAvailableError,
  type SendRecord,
  sendEmail,
} from '../../../lambdas/domain/sending/send-email';
import {
  idempotencyKeyOf,
  messageIdFor,
  sendRequestSchema,
} from '../../../lambdas/domain/sending/send-request';
import { senderHarness, TENANTS } from './memory-sender-ports';

const KEY = 'inv-42';
const NOW = '2026-12-01T12:00:00.000Z';
const PLATFORM_FROM = 'notifications@mail.platform.example';

/** A composed email for the send lane, as the platform or the dispatcher writes it. */
const request = (overrides: Record<string, unknown> = {}) => ({
  tenantId: 'acme',
  environment: 'developer-sandbox',
  to: ['ap@customer.example'],
  subject: 'Invoice INV-42 posted',
  text: 'Your invoice is ready.',
  idempotencyKey: KEY,
  ...overrides,
});
const delivery = (body: unknown, receiveCount = 1): SendRecord => ({
  body: typeof body === 'string' ? body : JSON.stringify(body),
  sqsMessageId: `sqs-${receiveCount}`,
  receiveCount,
});
const idOf = (tenantId: string, key = KEY) => messageIdFor(tenantId, key);
/** The lane body of a request: the validated request with its idempotency key written in. */
const laneBodyOf = (input: Record<string, unknown>, key = KEY) =>
  JSON.stringify({ ...sendRequestSchema.parse(input), idempotencyKey: key });
const relayWith = (limits: Record<string, number>) => {
  const smtp = TENANTS.relayco.environments['developer-sandbox'].smtp;
  return {
    ...TENANTS.relayco,
    environments: { 'developer-sandbox': { method: 'external-smtp', smtp: { ...smtp, limits } } },
  };
};

describe('sendEmail: bodies that are not a request', () => {
  it('records a body that is not JSON as REJECTED under the id of its body hash, and claims nothing', async () => {
    const h = senderHarness();
    const body = '{"tenantId": "acme", "to": [';
    let syntax = '';
    try {
      JSON.parse(body);
    } catch (error) {
      syntax = (error as Error).message;
    }
    expect(await sendEmail(delivery(body), h.deps)).toBe('rejected');
    const id = messageIdFor('_invalid', idempotencyKeyOf({}, body));
    expect(h.ledger.calls).toStrictEqual([
      [
        'recordInvalid',
        id,
        { code: 'INVALID_JSON', reason: `the message body is not JSON: ${syntax}`, body },
      ],
    ]);
    expect(h.ledger.mustGet(id).status).toBe(S.REJECTED);
    expect(h.senders.default.calls).toEqual([]);
  });

  it('records a schema-invalid body with the tenant it names and the reason field by field', async () => {
    const h = senderHarness();
    const body = JSON.stringify(request({ to: ['not-an-address'] }));
    expect(await sendEmail(delivery(body), h.deps)).toBe('rejected');
    expect(h.ledger.calls).toStrictEqual([
      [
        'recordInvalid',
        messageIdFor('_invalid', idempotencyKeyOf({}, body)),
        {
          code: 'INVALID_MESSAGE',
          reason: 'to.0: email address "not-an-address" is not of the form local@domain',
          body,
          tenantId: 'acme',
        },
      ],
    ]);
    // A copy of the same body is the same record (already REJECTED), not a second one.
    await sendEmail(delivery(body, 2), h.deps);
    expect(h.ledger.records.size).toBe(1);
  });

  it.each([
    ['a tenantId that is not a string', JSON.stringify({ ...request({ tenantId: 42 }) })],
    ['null', 'null'],
    ['an array', '[1, 2]'],
  ])('records a schema-invalid body with %s without a tenant', async (_, body) => {
    const h = senderHarness();
    expect(await sendEmail(delivery(body), h.deps)).toBe('rejected');
    const [call] = h.ledger.calls;
    expect(call?.[0]).toBe('recordInvalid');
    expect(call?.[1]).toBe(messageIdFor('_invalid', idempotencyKeyOf({}, body)));
    expect(Object.keys(call?.[2] as object)).toEqual(['code', 'reason', 'body']);
    expect(call?.[2]).toMatchObject({ code: 'INVALID_MESSAGE', body });
    expect(h.ledger.calls).toHaveLength(1);
  });
});

describe('sendEmail: the claim', () => {
  it('claims with the tenant, environment, category, every recipient and subject; event and definition only when given', async () => {
    const h = senderHarness();
    await sendEmail(
      delivery(request({ cc: ['cc@customer.example'], bcc: ['audit@acme.example'], category: 'bulk' })),
      h.deps,
    );
    expect(h.ledger.mustGet(idOf('acme')).claim).toStrictEqual({
      messageId: idOf('acme'),
      tenantId: 'acme',
      environment: 'developer-sandbox',
      category: 'bulk',
      recipients: ['ap@customer.example', 'cc@customer.example', 'audit@acme.example'],
      subject: 'Invoice INV-42 posted',
    });
    await sendEmail(
      delivery(request({ idempotencyKey: 'job-1', eventId: 'evt-1', definitionId: 'invoice-posted' })),
      h.deps,
    );
    expect(h.ledger.mustGet(idOf('acme', 'job-1')).claim).toMatchObject({
      eventId: 'evt-1',
      definitionId: 'invoice-posted',
    });
  });

  it('sends a body without a key once however often it is delivered (its key is the body hash)', async () => {
    const h = senderHarness();
    const body = JSON.stringify(request({ idempotencyKey: undefined }));
    expect(await sendEmail(delivery(body), h.deps)).toBe('sent');
    expect(await sendEmail(delivery(body, 2), h.deps)).toBe('duplicate');
    expect(h.senders.default.calls).toHaveLength(1);
    expect(h.ledger.mustGet(idOf('acme', idempotencyKeyOf({}, body))).status).toBe(S.SENT);
  });

  it.each([S.SENT, S.DELIVERED, S.BOUNCED, S.COMPLAINED, S.SUPPRESSED, S.REJECTED])(
    'acknowledges a redelivery of a %s record as a duplicate, writes nothing and sends nothing',
    async (status) => {
      const h = senderHarness();
      h.ledger.seed(idOf('acme'), { status });
      expect(await sendEmail(delivery(request(), 2), h.deps)).toBe('duplicate');
      expect(h.ledger.calls).toEqual([['claim', idOf('acme')]]);
      expect(h.ledger.mustGet(idOf('acme')).status).toBe(status);
      expect(h.senders.default.calls).toEqual([]);
    },
  );

  it('sends a redriven DEAD_LETTERED record (the redrive claims it again)', async () => {
    const h = senderHarness();
    h.ledger.seed(idOf('acme'), { status: S.DEAD_LETTERED, attempts: 5 });
    expect(await sendEmail(delivery(request()), h.deps)).toBe('sent');
    expect(h.ledger.mustGet(idOf('acme'))).toMatchObject({ status: S.SENT, attempts: 6 });
  });

  it('names its errors for logs and outcome mapping (name, code, kind)', () => {
    expect(new MessageInFlightError('m1')).toMatchObject({
      name: 'MessageInFlightError',
      code: 'IN_FLIGHT',
      kind: 'transient',
    });
    expect(new EnvironmentNotServedError('production', ['developer-sandbox'])).toMatchObject({
      name: 'EnvironmentNotServedError',
      code: 'ENVIRONMENT_NOT_SERVED',
      kind: 'permanent',
    });
    expect(new MethodNotAvailableError('advanced')).toMatchObject({
      name: 'MethodNotAvailableError',
      code: 'METHOD_NOT_AVAILABLE',
      kind: 'permanent',
    });
  });

  it('throws MessageInFlightError and writes nothing while another invocation holds the lease', async () => {
    const h = senderHarness();
    const until = h.clock.now().getTime() + 60_000;
    h.ledger.seed(idOf('acme'), { status: S.SENDING, leaseToken: 'other', leaseUntil: until });
    const sending = sendEmail(delivery(request(), 2), h.deps);
    await expect(sending).rejects.toThrow(MessageInFlightError);
    await expect(sending).rejects.toThrow(
      `message ${idOf('acme')} is being sent by another invocation; retrying later`,
    );
    expect(h.ledger.calls).toEqual([['claim', idOf('acme')]]);
    expect(h.ledger.mustGet(idOf('acme'))).toMatchObject({ status: S.SENDING, leaseToken: 'other' });
    expect(h.senders.default.calls).toEqual([]);
  });

  it('claims a SENDING record whose lease expired (the earlier attempt crashed) and sends it', async () => {
    const h = senderHarness();
    const until = h.clock.now().getTime() - 1;
    h.ledger.seed(idOf('acme'), { status: S.SENDING, leaseToken: 'crashed', leaseUntil: until, attempts: 1 });
    expect(await sendEmail(delivery(request(), 2), h.deps)).toBe('sent');
    expect(h.ledger.mustGet(idOf('acme'))).toMatchObject({ status: S.SENT, attempts: 2 });
  });
});

describe('sendEmail: refusals before the provider call end REJECTED with the reason', () => {
  it.each([
    [
      'an environment this scope does not serve',
      request({ environment: 'production' }),
      {},
      'ENVIRONMENT_NOT_SERVED',
      `environment "production" is not served by this scope (it serves developer-sandbox, central-sandbox): publish to the other scope's queue`,
    ],
    [
      'an unknown tenant',
      request({ tenantId: 'nobody' }),
      {},
      'UNKNOWN_TENANT',
      'tenant "nobody" does not exist in this scope',
    ],
    [
      'a method with no transport in this deployment',
      request({ tenantId: 'relayco' }),
      { methods: ['default', 'advanced'] as const },
      'METHOD_NOT_AVAILABLE',
      'sending method "external-smtp" is not configured in this deployment',
    ],
    [
      'a field the method does not allow',
      request({ from: 'ceo@acme.example' }),
      {},
      'FIELD_NOT_ALLOWED',
      `"from" is not allowed with the default method: it sends from the platform's address (use advanced)`,
    ],
    [
      'more recipients than the relay takes at all',
      request({
        tenantId: 'relayco',
        to: ['a@customer.example', 'b@customer.example'],
        cc: ['c@customer.example'],
      }),
      { tenants: [relayWith({ recipientsPerMinute: 2 })] },
      'RATE_LIMIT_UNSATISFIABLE',
      '3 recipients can never fit a limit of 2 a minute',
    ],
  ])('refuses %s', async (_, input, options, code, reason) => {
    const h = senderHarness(options);
    expect(await sendEmail(delivery(input), h.deps)).toBe('rejected');
    const id = idOf(input.tenantId as string);
    expect(h.ledger.calls).toStrictEqual([
      ['claim', id],
      ['settle', id, S.REJECTED, { code, reason }],
    ]);
    expect(h.ledger.mustGet(id)).toMatchObject({ status: S.REJECTED, outcome: { code, reason } });
    expect(h.ledger.mustGet(id).leaseToken).toBeUndefined();
    expect(h.governor.requests).toEqual([]);
    for (const sender of Object.values(h.senders)) expect(sender.calls).toEqual([]);
  });

  it('does not refuse more recipients than the SES rate: SES counts recipients, the governor paces them', async () => {
    const h = senderHarness({ sesLimits: { recipientsPerSecond: 1 } });
    const input = request({ to: ['a@customer.example', 'b@customer.example', 'c@customer.example'] });
    expect(await sendEmail(delivery(input), h.deps)).toBe('sent');
    expect(h.governor.requests).toEqual([
      {
        key: 'ses',
        limits: { recipientsPerSecond: 1 },
        messages: 1,
        recipients: 3,
        priority: 'transactional',
      },
    ]);
  });
});

describe('sendEmail: a paused tenant', () => {
  it('holds the email as PAUSED and keeps its lane body with its key, so the release sends this same record', async () => {
    const h = senderHarness({ dispatched: false });
    const { idempotencyKey: _, ...input } = request({ tenantId: 'held' });
    const body = JSON.stringify(input);
    const key = idempotencyKeyOf({}, body);
    const id = idOf('held', key);
    expect(await sendEmail(delivery(body), h.deps)).toBe('paused');
    expect(h.ledger.calls).toStrictEqual([
      ['claim', id],
      ['keepRequest', id, laneBodyOf(input, key)],
      [
        'settle',
        id,
        S.PAUSED,
        {
          code: 'TENANT_PAUSED',
          reason: 'held: bounce rate 6.0 % over 24 h',
          requestKept: true,
          tenantId: 'held',
        },
      ],
    ]);
    expect(h.ledger.mustGet(id).status).toBe(S.PAUSED);
    expect(h.senders.default.calls).toEqual([]);

    // Resumed: the released (kept) body is the same email, so it completes the same record.
    const resumed = senderHarness({
      tenants: [{ ...TENANTS.held, environments: { 'developer-sandbox': { method: 'default' } } }],
    });
    resumed.ledger.seed(id, { status: S.PAUSED, attempts: 1 });
    expect(await sendEmail(delivery(h.ledger.requests.get(id)), resumed.deps)).toBe('sent');
    expect(resumed.ledger.mustGet(id)).toMatchObject({ status: S.SENT, attempts: 2 });
  });

  it('does not keep the request again when the dispatcher already kept it', async () => {
    const h = senderHarness();
    const id = idOf('held');
    h.ledger.seed(id, { status: S.QUEUED, requestKept: true });
    expect(await sendEmail(delivery(request({ tenantId: 'held' })), h.deps)).toBe('paused');
    expect(h.ledger.calls.map(([op]) => op)).toEqual(['claim', 'settle']);
    expect(h.ledger.mustGet(id).status).toBe(S.PAUSED);
  });
});

describe('sendEmail: suppression', () => {
  it('ends SUPPRESSED without sending when every recipient is suppressed (addresses compared normalised)', async () => {
    const h = senderHarness({ suppressed: ['ap@customer.example', 'cc@customer.example'] });
    const input = request({ to: ['AP@Customer.example'], cc: ['cc@customer.example'] });
    expect(await sendEmail(delivery(input), h.deps)).toBe('suppressed');
    expect(h.suppressionChecks).toEqual([['acme', ['AP@Customer.example', 'cc@customer.example']]]);
    expect(h.ledger.calls).toStrictEqual([
      ['claim', idOf('acme')],
      [
        'settle',
        idOf('acme'),
        S.SUPPRESSED,
        {
          code: 'SUPPRESSED',
          reason:
            "every recipient is on the tenant's suppression list: AP@Customer.example, cc@customer.example",
        },
      ],
    ]);
    expect(h.senders.default.calls).toEqual([]);
    expect(h.governor.requests).toEqual([]);
  });

  it('sends to the others only, and records which recipients were suppressed', async () => {
    const h = senderHarness({
      suppressed: ['b@customer.example', 'c@customer.example', 'e@customer.example'],
    });
    const input = request({
      to: ['a@customer.example', 'B@customer.example'],
      cc: ['c@customer.example'],
      bcc: ['d@customer.example', 'e@customer.example'],
    });
    expect(await sendEmail(delivery(input), h.deps)).toBe('sent');
    const [call] = h.senders.default.calls;
    expect(call?.email).toMatchObject({ to: ['a@customer.example'], cc: [], bcc: ['d@customer.example'] });
    expect(h.governor.requests[0]?.recipients).toBe(2);
    expect(h.ledger.mustGet(idOf('acme')).sent).toStrictEqual({
      method: 'default',
      from: PLATFORM_FROM,
      providerMessageId: 'provider-1',
      suppressedRecipients: ['B@customer.example', 'c@customer.example', 'e@customer.example'],
    });
  });
});

describe('sendEmail: sending and recording SENT', () => {
  it('sends a default-method email paced on the SES account and records SENT under its lease', async () => {
    const h = senderHarness();
    expect(await sendEmail(delivery(request()), h.deps)).toBe('sent');
    const id = idOf('acme');
    expect(h.ledger.calls).toStrictEqual([
      ['claim', id],
      ['recordSent', id, { method: 'default', from: PLATFORM_FROM, providerMessageId: 'provider-1' }],
    ]);
    expect(h.ledger.mustGet(id).status).toBe(S.SENT);
    const [call] = h.senders.default.calls;
    expect(call?.email).toMatchObject({
      messageId: id,
      tenantId: 'acme',
      from: { name: 'Acme Billing', address: PLATFORM_FROM },
      replyTo: { address: 'billing@acme.example' },
      to: ['ap@customer.example'],
      subject: 'Invoice INV-42 posted',
    });
    // SES gets no relay settings; the transport books its slot through `pace` and waits for what it returns.
    expect(Object.keys(call?.options ?? {})).toEqual(['pace']);
    expect(h.governor.requests).toEqual([
      {
        key: 'ses',
        limits: { recipientsPerSecond: 14 },
        messages: 1,
        recipients: 1,
        priority: 'transactional',
      },
    ]);
    expect(call?.paced).toBe(Date.parse('2026-12-01T12:00:00.250Z'));
    expect(h.sendFeedback.accepted).toEqual([['acme', ['ap@customer.example']]]);
    expect(h.warnings).toEqual([]);
  });

  it('keeps the body of an email that reached its lane without the dispatcher before the provider call', async () => {
    const h = senderHarness({ dispatched: false });
    expect(await sendEmail(delivery(request()), h.deps)).toBe('sent');
    const id = idOf('acme');
    expect(h.ledger.calls.map(([op]) => op)).toEqual(['claim', 'keepRequest', 'recordSent']);
    // The kept body is the lane body with its key, so a sweep, a release or a resend is this same email.
    expect(h.ledger.requests.get(id)).toBe(laneBodyOf(request()));
    // A redelivered copy finds the record final and keeps nothing again.
    expect(await sendEmail(delivery(request(), 2), h.deps)).toBe('duplicate');
    expect(h.ledger.calls.filter(([op]) => op === 'keepRequest')).toHaveLength(1);
  });

  it('keeps nothing for an email the dispatcher queued with its request', async () => {
    const h = senderHarness();
    await sendEmail(delivery(request()), h.deps);
    expect(h.ledger.calls.map(([op]) => op)).toEqual(['claim', 'recordSent']);
  });

  it('marks the record as keeping its request when the attempt that kept it ends refused or retried', async () => {
    const refused = senderHarness({ dispatched: false });
    const unknown = request({ tenantId: 'nobody' });
    expect(await sendEmail(delivery(unknown), refused.deps)).toBe('rejected');
    expect(refused.ledger.calls.at(-1)).toStrictEqual([
      'settle',
      idOf('nobody'),
      S.REJECTED,
      { code: 'UNKNOWN_TENANT', reason: expect.any(String), requestKept: true },
    ]);
    expect(refused.ledger.mustGet(idOf('nobody')).requestKept).toBe(true);

    const retried = senderHarness({ dispatched: false });
    let failures = 1;
    retried.senders.default.provider = async () => {
      if (failures-- > 0) throw new TransientError('SMTP_DOWN', 'relay unreachable');
      return { providerMessageId: 'provider-2' };
    };
    await expect(sendEmail(delivery(request()), retried.deps)).rejects.toThrow('relay unreachable');
    expect(retried.ledger.mustGet(idOf('acme'))).toMatchObject({ status: S.QUEUED, requestKept: true });
    // The next receive claims a record that has its request: nothing is kept twice.
    expect(await sendEmail(delivery(request(), 2), retried.deps)).toBe('sent');
    expect(retried.ledger.calls.filter(([op]) => op === 'keepRequest')).toHaveLength(1);
  });

  it('retries via SQS, sending nothing, when the body cannot be kept', async () => {
    const h = senderHarness({ dispatched: false });
    h.ledger.faults.keepRequest = [new LedgerUnavailableError('keep request', new Error('throttled'))];
    await expect(sendEmail(delivery(request()), h.deps)).rejects.toBeInstanceOf(LedgerUnavailableError);
    expect(h.senders.default.calls).toEqual([]);
    const record = h.ledger.mustGet(idOf('acme'));
    expect(record).toMatchObject({ status: S.QUEUED, requestKept: false });
    expect(record.outcome).not.toHaveProperty('requestKept');
    // The redelivery keeps it this time, then sends.
    expect(await sendEmail(delivery(request(), 2), h.deps)).toBe('sent');
    expect(h.ledger.requests.get(idOf('acme'))).toBe(laneBodyOf(request()));
  });

  it('books bulk mail at bulk priority', async () => {
    const h = senderHarness();
    await sendEmail(delivery(request({ category: 'bulk' })), h.deps);
    expect(h.governor.requests.map((r) => r.priority)).toEqual(['bulk']);
  });

  it('asks the governor nothing when no limit applies, and the transport goes at once', async () => {
    const h = senderHarness({ sesLimits: {} });
    expect(await sendEmail(delivery(request()), h.deps)).toBe('sent');
    expect(h.governor.requests).toEqual([]);
    expect(h.senders.default.calls[0]?.paced).toBeUndefined();
  });

  it('books nothing until the transport asks (the slot is taken once the message is composed)', async () => {
    const h = senderHarness();
    h.senders.default.send = async () => ({ providerMessageId: 'unpaced' });
    expect(await sendEmail(delivery(request()), h.deps)).toBe('sent');
    expect(h.governor.requests).toEqual([]);
  });

  it('sends an advanced-method email from the verified identity and records its DKIM facts', async () => {
    const h = senderHarness({
      identities: [{ identity: 'advco.example', type: 'domain', status: 'SUCCESS' }],
    });
    expect(await sendEmail(delivery(request({ tenantId: 'advco' })), h.deps)).toBe('sent');
    expect(h.identityReads).toEqual([['advco', undefined]]);
    expect(h.senders.advanced.calls[0]?.email).toMatchObject({
      from: { name: 'Adv Co', address: 'billing@advco.example' },
      sesTenantName: 'advco-dev',
    });
    expect(h.governor.requests[0]?.key).toBe('ses');
    expect(h.ledger.mustGet(idOf('advco')).sent).toStrictEqual({
      method: 'advanced',
      from: 'billing@advco.example',
      providerMessageId: 'provider-1',
      dkim: { signingDomains: ['advco.example', 'amazonses.com'], alignment: 'strict', aligned: true },
    });
  });

  it("sends an external-smtp email with the tenant's relay settings, paced on that relay's limits", async () => {
    const h = senderHarness();
    h.deps = {
      ...h.deps,
      sesQuota: { limits: () => Promise.reject(new Error('SES quota must not be read')) },
    };
    expect(await sendEmail(delivery(request({ tenantId: 'relayco' })), h.deps)).toBe('sent');
    const [call] = h.senders['external-smtp'].calls;
    expect(call?.options?.settings).toMatchObject({
      host: 'smtp.office365.com',
      port: 587,
      security: 'starttls',
      from: 'billing@relayco.example',
      provider: 'microsoft-365',
    });
    const limits = {
      messagesPerMinute: 30,
      recipientsPerDay: 10_000,
      maxRecipientsPerMessage: 500,
      maxConnections: 2,
    };
    expect(call?.options?.settings?.limits).toEqual(limits);
    expect(h.governor.requests).toEqual([
      {
        key: 'smtp#relayco#developer-sandbox',
        limits,
        messages: 1,
        recipients: 1,
        priority: 'transactional',
      },
    ]);
    expect(h.ledger.mustGet(idOf('relayco')).sent).toStrictEqual({
      method: 'external-smtp',
      from: 'billing@relayco.example',
      providerMessageId: 'provider-1',
    });
    // The relay's own feedback: one send, no refusal (the transport reported none).
    expect(h.sendFeedback.accepted).toEqual([['relayco', ['ap@customer.example']]]);
    expect(h.sendFeedback.rejected).toEqual([]);
  });
});

describe('sendEmail: rate limits defer the email, never drop it', () => {
  const refused = (retryAfterSeconds: number) => ({
    granted: false as const,
    eligibleAtMs: Date.parse(NOW) + retryAfterSeconds * 1_000,
    retryAfterSeconds,
    eligibleAt: '2026-12-01T12:00:03.000Z',
  });

  it('defers an email the SES account has no slot for: request kept, back on its lane with the delay, DEFERRED', async () => {
    const h = senderHarness({ dispatched: false });
    h.governor.answer = refused(2.5);
    let reachedProvider = false;
    h.senders.default.provider = async () => {
      reachedProvider = true;
      return { providerMessageId: 'never' };
    };
    const input = request();
    expect(await sendEmail(delivery(input), h.deps)).toBe('deferred');
    const id = idOf('acme');
    const lane = { messageId: id, tenantId: 'acme', category: 'transactional', body: laneBodyOf(input) };
    expect(h.published).toEqual([{ messages: [lane], delaySeconds: 3 }]);
    expect(h.ledger.calls).toStrictEqual([
      ['claim', id],
      ['keepRequest', id, lane.body],
      [
        'settle',
        id,
        S.DEFERRED,
        {
          code: 'RATE_LIMITED',
          reason: 'Rate limit reached for the SES account; eligible again at 2026-12-01T12:00:03.000Z',
          eligibleAt: '2026-12-01T12:00:03.000Z',
          requestKept: true,
        },
      ],
    ]);
    expect(reachedProvider).toBe(false);
    expect(h.ledger.mustGet(id).status).toBe(S.DEFERRED);

    // The deferred copy comes back on the lane: the same record, sent once.
    h.governor.answer = { granted: true, sendAtMs: Date.parse(NOW) + 3_000 };
    h.clock.advance(3_000);
    expect(await sendEmail(delivery(lane.body), h.deps)).toBe('sent');
    expect(h.ledger.mustGet(id)).toMatchObject({ status: S.SENT, attempts: 2 });
    expect(h.ledger.records.size).toBe(1);
  });

  it("names the tenant's relay when the relay has no slot, on the tenant's fair-queue group", async () => {
    const h = senderHarness();
    h.governor.answer = refused(30);
    expect(await sendEmail(delivery(request({ tenantId: 'relayco', category: 'bulk' })), h.deps)).toBe(
      'deferred',
    );
    expect(h.ledger.mustGet(idOf('relayco')).outcome).toEqual({
      code: 'RATE_LIMITED',
      reason: 'Rate limit reached for the relay of relayco; eligible again at 2026-12-01T12:00:03.000Z',
      eligibleAt: '2026-12-01T12:00:30.000Z',
      requestKept: true,
    });
    expect(h.published[0]?.messages[0]).toMatchObject({ tenantId: 'relayco', category: 'bulk' });
  });

  it.each([
    [0.2, 1],
    [0, 1],
    [-4, 1],
    [1, 1],
    [59.01, 60],
    [900, 900],
    [900.5, 900],
    [86_400, 900],
  ])('clamps a wait of %s s to a lane delay of %s s (SQS allows 0-900 s)', async (wait, delaySeconds) => {
    const h = senderHarness();
    h.governor.answer = refused(wait);
    expect(await sendEmail(delivery(request()), h.deps)).toBe('deferred');
    expect(h.published.map((p) => p.delaySeconds)).toEqual([delaySeconds]);
    expect(h.ledger.mustGet(idOf('acme')).outcome?.eligibleAt).toBe(
      new Date(Date.parse(NOW) + delaySeconds * 1000).toISOString(),
    );
  });

  it('lets a bulk email whose place is under two seconds away wait for it and ask again holding its place, not defer', async () => {
    const h = senderHarness();
    h.governor.answers.push({ ...refused(1), eligibleAtMs: Date.parse(NOW) + 300 });
    expect(await sendEmail(delivery(request({ category: 'bulk' })), h.deps)).toBe('sent');
    expect(h.governor.requests.map((r) => [r.priority, r.queued])).toEqual([
      ['bulk', undefined],
      ['bulk', true],
    ]);
    expect(h.published).toEqual([]);
  });

  it('defers a bulk email whose place is further than two seconds away, and transactional mail refused at all', async () => {
    const bulk = senderHarness();
    bulk.governor.answer = { ...refused(3), eligibleAtMs: Date.parse(NOW) + 2_001 };
    expect(await sendEmail(delivery(request({ category: 'bulk' })), bulk.deps)).toBe('deferred');
    expect(bulk.governor.requests).toHaveLength(1);
    const receipt = senderHarness();
    receipt.governor.answer = { ...refused(1), eligibleAtMs: Date.parse(NOW) + 300 };
    expect(await sendEmail(delivery(request()), receipt.deps)).toBe('deferred');
    expect(receipt.governor.requests.map((r) => r.priority)).toEqual(['transactional']);
  });

  it('does not keep the request again when it is already kept', async () => {
    const h = senderHarness();
    h.ledger.seed(idOf('acme'), { status: S.QUEUED, requestKept: true });
    h.governor.answer = refused(5);
    expect(await sendEmail(delivery(request()), h.deps)).toBe('deferred');
    expect(h.ledger.calls.map(([op]) => op)).toEqual(['claim', 'settle']);
  });

  it('defers on SES throttling (HTTP 429 TooManyRequestsException) with the wait the adapter gives', async () => {
    const h = senderHarness();
    h.senders.default.provider = async () => {
      throw classifySesError(
        new TooManyRequestsException({
          message: 'Maximum sending rate exceeded.',
          $metadata: { httpStatusCode: 429 },
        }),
      );
    };
    expect(await sendEmail(delivery(request()), h.deps)).toBe('deferred');
    expect(h.ledger.mustGet(idOf('acme')).outcome).toEqual({
      code: 'SES_THROTTLED',
      reason: 'SES TooManyRequestsException: Maximum sending rate exceeded.',
      eligibleAt: '2026-12-01T12:00:02.000Z',
      requestKept: true,
    });
    expect(h.published.map((p) => p.delaySeconds)).toEqual([2]);
  });

  it('returns the email to SQS (QUEUED, thrown) when the lane refuses the deferred copy', async () => {
    const h = senderHarness();
    h.governor.answer = refused(5);
    h.lanes.accept = false;
    const sending = sendEmail(delivery(request(), 2), h.deps);
    await expect(sending).rejects.toBeInstanceOf(RateLimitedError);
    expect(h.ledger.calls.at(-1)).toStrictEqual([
      'settle',
      idOf('acme'),
      S.QUEUED,
      {
        code: 'RATE_LIMITED',
        reason:
          'attempt 2 failed, will retry: Rate limit reached for the SES account; eligible again at 2026-12-01T12:00:03.000Z',
      },
    ]);
    expect(h.ledger.mustGet(idOf('acme')).status).toBe(S.QUEUED);
  });
});

describe('sendEmail: transport errors before the provider accepted', () => {
  it('rejects on a permanent error and does not retry', async () => {
    const h = senderHarness();
    h.senders.default.provider = async () => {
      throw new PermanentError('SES_REJECTED', 'SES MessageRejected: Email address is not verified.');
    };
    expect(await sendEmail(delivery(request()), h.deps)).toBe('rejected');
    expect(h.ledger.calls.at(-1)).toStrictEqual([
      'settle',
      idOf('acme'),
      S.REJECTED,
      { code: 'SES_REJECTED', reason: 'SES MessageRejected: Email address is not verified.' },
    ]);
  });

  it.each([
    [1, S.QUEUED, 'attempt 1 failed, will retry: connection reset'],
    [4, S.QUEUED, 'attempt 4 failed, will retry: connection reset'],
    [5, S.DEAD_LETTERED, 'dead-lettered after 5 attempts: connection reset'],
    [6, S.DEAD_LETTERED, 'dead-lettered after 6 attempts: connection reset'],
  ])(
    'on receive %s of 5 a transient error records %s and is thrown for SQS',
    async (receive, status, reason) => {
      const h = senderHarness();
      const error = new TransientError('SMTP_CONNECTION', 'connection reset');
      h.senders.default.provider = async () => {
        throw error;
      };
      await expect(sendEmail(delivery(request(), receive), h.deps)).rejects.toBe(error);
      expect(h.ledger.calls).toStrictEqual([
        ['claim', idOf('acme')],
        ['settle', idOf('acme'), status, { code: 'SMTP_CONNECTION', reason }],
      ]);
      expect(h.ledger.mustGet(idOf('acme')).status).toBe(status);
    },
  );

  it.each([
    ['an Error', new TypeError('fetch failed'), 'fetch failed'],
    ['a thrown string', 'boom', 'boom'],
  ])('wraps %s from a port as a transient UNEXPECTED error with its cause', async (_, thrown, message) => {
    const h = senderHarness();
    h.deps = {
      ...h.deps,
      tenants: {
        get: () => {
          throw thrown;
        },
      },
    };
    const sending = sendEmail(delivery(request()), h.deps);
    await expect(sending).rejects.toBeInstanceOf(TransientError);
    await expect(sending).rejects.toMatchObject({ code: 'UNEXPECTED', message, cause: thrown });
    expect(h.ledger.calls.at(-1)).toStrictEqual([
      'settle',
      idOf('acme'),
      S.QUEUED,
      { code: 'UNEXPECTED', reason: `attempt 1 failed, will retry: ${message}` },
    ]);
  });
});

describe('sendEmail: after the provider accepted, nothing sends it again', () => {
  const unavailable = () =>
    new LedgerUnavailableError('record SENT', new Error('ProvisionedThroughputExceeded'));

  it.each([1, 3])('retries recording SENT in place after %s failures and records it', async (failures) => {
    const h = senderHarness();
    h.ledger.faults.recordSent = Array.from({ length: failures }, unavailable);
    expect(await sendEmail(delivery(request()), h.deps)).toBe('sent');
    expect(h.ledger.calls.map(([op]) => op)).toEqual(['claim', ...Array(failures + 1).fill('recordSent')]);
    expect(h.ledger.mustGet(idOf('acme')).status).toBe(S.SENT);
    expect(h.warnings).toEqual([]);
  });

  it('waits between retries by default and still records SENT', async () => {
    const h = senderHarness({ settings: { recordRetryDelaysMs: undefined } });
    h.ledger.faults.recordSent = [unavailable()];
    expect(await sendEmail(delivery(request()), h.deps)).toBe('sent');
    expect(h.ledger.mustGet(idOf('acme')).status).toBe(S.SENT);
  });

  it('notes the provider id when SENT cannot be recorded, and neither throws nor sends again', async () => {
    const h = senderHarness();
    h.ledger.faults.recordSent = Array.from({ length: 4 }, unavailable);
    h.ledger.faults.recordAccepted = [unavailable()];
    expect(await sendEmail(delivery(request()), h.deps)).toBe('accepted-unrecorded');
    const id = idOf('acme');
    expect(h.ledger.calls.map(([op]) => op)).toEqual([
      'claim',
      'recordSent',
      'recordSent',
      'recordSent',
      'recordSent',
      'recordAccepted',
      'recordAccepted',
    ]);
    expect(h.ledger.calls.at(-1)).toEqual(['recordAccepted', id, 'provider-1']);
    expect(h.ledger.mustGet(id)).toMatchObject({ status: S.SENDING, acceptedAs: 'provider-1' });
    expect(h.warnings).toEqual([
      [
        'provider accepted but SENT was not recorded',
        {
          messageId: id,
          providerMessageId: 'provider-1',
          error: 'LedgerUnavailableError: messages table: record SENT failed',
        },
      ],
    ]);
    expect(h.senders.default.calls).toHaveLength(1);
  });

  it('records nothing more once the lease is lost to another attempt (that attempt owns the record)', async () => {
    const h = senderHarness();
    const id = idOf('acme');
    h.senders.default.provider = async () => {
      // The provider took longer than the lease; a redelivery claimed the record meanwhile.
      h.clock.advance(121_000);
      const claim = h.ledger.mustGet(id).claim;
      if (claim) await h.ledger.claim(claim);
      return { providerMessageId: 'slow-1' };
    };
    expect(await sendEmail(delivery(request()), h.deps)).toBe('accepted-unrecorded');
    expect(h.ledger.calls.map(([op]) => op)).toEqual(['claim', 'claim', 'recordSent']);
    expect(h.warnings).toEqual([
      [
        'provider accepted but SENT was not recorded',
        {
          messageId: id,
          providerMessageId: 'slow-1',
          error: `LeaseLostError: message ${id}: the claim's lease was lost (record is SENDING)`,
        },
      ],
    ]);
    expect(h.ledger.mustGet(id).leaseToken).toBe('lease-2');
  });

  it('adds its details when feedback completed the record first', async () => {
    const h = senderHarness();
    const id = idOf('acme');
    h.senders.default.provider = async () => {
      h.ledger.applyFeedback(id, S.DELIVERED);
      return { providerMessageId: 'ses-1' };
    };
    expect(await sendEmail(delivery(request()), h.deps)).toBe('sent');
    expect(h.ledger.mustGet(id)).toMatchObject({ status: S.DELIVERED, sent: { providerMessageId: 'ses-1' } });
  });

  it('still returns accepted-unrecorded without a warn hook, whatever the ledger threw', async () => {
    const h = senderHarness();
    const { warn: _, ...deps } = h.deps;
    h.ledger.faults.recordSent = ['socket closed', 'socket closed', 'socket closed', 'socket closed'];
    expect(await sendEmail(delivery(request()), deps)).toBe('accepted-unrecorded');
    expect(h.ledger.mustGet(idOf('acme')).acceptedAs).toBe('provider-1');
    // With the hook, a thrown non-Error is described as it is.
    const hooked = senderHarness();
    hooked.ledger.faults.recordSent = ['socket closed', 'socket closed', 'socket closed', 'socket closed'];
    await sendEmail(delivery(request()), hooked.deps);
    expect(hooked.warnings[0]?.[1]).toMatchObject({ error: 'socket closed' });
  });

  it('does not retry a LeaseLostError from recording SENT', async () => {
    const h = senderHarness();
    h.ledger.faults.recordSent = [new LeaseLostError(idOf('acme'), 'QUEUED')];
    expect(await sendEmail(delivery(request()), h.deps)).toBe('accepted-unrecorded');
    expect(h.ledger.calls.map(([op]) => op)).toEqual(['claim', 'recordSent']);
  });
});

describe("sendEmail: the relay's synchronous feedback", () => {
  const rejection = { recipient: 'b@customer.example', code: 550, reply: '550 5.1.1 User unknown' };

  it('counts accepted recipients as sends and refused ones as bounces, and records the refusals', async () => {
    const h = senderHarness({ suppressed: ['d@customer.example'] });
    h.senders['external-smtp'].provider = async () => ({
      providerMessageId: '250 2.0.0 OK queued as 7F3A',
      rejectedRecipients: [rejection],
    });
    const input = request({
      tenantId: 'relayco',
      to: ['a@customer.example', 'b@customer.example'],
      bcc: ['c@customer.example', 'd@customer.example'],
    });
    expect(await sendEmail(delivery(input), h.deps)).toBe('sent');
    const id = idOf('relayco');
    expect(h.sendFeedback.accepted).toEqual([['relayco', ['a@customer.example', 'c@customer.example']]]);
    expect(h.sendFeedback.rejected).toEqual([[id, 'relayco', 'developer-sandbox', [rejection]]]);
    expect(h.ledger.mustGet(id).sent).toStrictEqual({
      method: 'external-smtp',
      from: 'billing@relayco.example',
      providerMessageId: '250 2.0.0 OK queued as 7F3A',
      suppressedRecipients: ['d@customer.example'],
      rejectedRecipients: [rejection],
    });
  });

  it('reports no refusals when the relay refused nobody', async () => {
    const h = senderHarness();
    h.senders['external-smtp'].provider = async () => ({ providerMessageId: 'ok', rejectedRecipients: [] });
    expect(await sendEmail(delivery(request({ tenantId: 'relayco' })), h.deps)).toBe('sent');
    expect(h.sendFeedback.accepted).toEqual([['relayco', ['ap@customer.example']]]);
    expect(h.sendFeedback.rejected).toEqual([]);
    expect(h.ledger.mustGet(idOf('relayco')).sent).not.toHaveProperty('rejectedRecipients');
  });

  it('counts the sends once, without retrying: a failure only warns and the email stays SENT', async () => {
    const h = senderHarness();
    h.sendFeedback.faults.push(new Error('reputation table down'));
    expect(await sendEmail(delivery(request({ tenantId: 'relayco' })), h.deps)).toBe('sent');
    // Adding sends is not idempotent: a retry whose first write landed would count them twice.
    expect(h.sendFeedback.accepted).toHaveLength(1);
    expect(h.warnings).toEqual([
      [
        'send not counted toward reputation',
        { messageId: idOf('relayco'), error: 'Error: reputation table down' },
      ],
    ]);
    expect(h.ledger.mustGet(idOf('relayco')).status).toBe(S.SENT);
  });

  it('stays SENT without a warn hook when the counting fails', async () => {
    const h = senderHarness();
    const { warn: _, ...deps } = h.deps;
    h.sendFeedback.faults.push(new Error('reputation table down'));
    expect(await sendEmail(delivery(request({ tenantId: 'relayco' })), deps)).toBe('sent');
    expect(h.ledger.mustGet(idOf('relayco')).status).toBe(S.SENT);
  });

  it('counts the sends of SES mail too (there is no count per SES Send event), and a redelivery counts nothing', async () => {
    const h = senderHarness();
    const input = request({ to: ['a@customer.example', 'b@customer.example'], cc: ['c@customer.example'] });
    expect(await sendEmail(delivery(input), h.deps)).toBe('sent');
    expect(h.sendFeedback.accepted).toEqual([
      ['acme', ['a@customer.example', 'b@customer.example', 'c@customer.example']],
    ]);
    expect(await sendEmail(delivery(input), h.deps)).toBe('duplicate');
    expect(h.sendFeedback.accepted).toHaveLength(1);
  });

  it('counts nothing when SENT could not be recorded (the sweeper completes it; a lost count errs high)', async () => {
    const h = senderHarness();
    h.ledger.faults.recordSent = Array.from(
      { length: 4 },
      () => new LedgerUnavailableError('record SENT', undefined),
    );
    expect(await sendEmail(delivery(request()), h.deps)).toBe('accepted-unrecorded');
    expect(h.sendFeedback.accepted).toEqual([]);
  });
});

describe('sendEmail: relay reputation counting', () => {
  // Was a bug: the counting retried `accepted` and `rejected` as one unit, so when `rejected` failed after
  // `accepted` succeeded, the retry counted the accepted recipients again: the bounce rate was understated.
  it('counts a relay send once when recording the refusals fails once', async () => {
    const counted = new Map<string, { sends: number; bounces: number }>();
    let sends = 0;
    let bounceWrites = 0;
    const recorder = new SendFeedbackRecorder(
      {
        record: async (_tenantId, deltas) => {
          bounceWrites += 1;
          if (bounceWrites === 1) throw new Error('ProvisionedThroughputExceededException');
          const fresh = deltas.filter((d) => !counted.has(d.eventKey));
          for (const d of fresh) counted.set(d.eventKey, d);
          return { counted: fresh.length };
        },
        addSends: async (_tenantId, _at, count) => {
          sends += count;
        },
      },
      { put: async () => ({ stored: true }) },
      { now: () => new Date(NOW) },
    );
    const h = senderHarness();
    h.senders['external-smtp'].provider = async () => ({
      providerMessageId: '250 2.0.0 OK',
      rejectedRecipients: [{ recipient: 'b@customer.example', code: 550, reply: '550 5.1.1 User unknown' }],
    });
    const deps = { ...h.deps, sendFeedback: recorder };
    const input = request({ tenantId: 'relayco', to: ['a@customer.example', 'b@customer.example'] });
    expect(await sendEmail(delivery(input), deps)).toBe('sent');
    await recorder.flush();
    expect(sends).toBe(1);
    expect([...counted.values()].map((d) => d.bounces)).toEqual([1]);
  });
});
