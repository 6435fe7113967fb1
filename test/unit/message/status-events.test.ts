import fc from 'fast-check';
import {
  ALL_STATUSES,
  NOTABLE_STATUSES,
  type RecordImage,
  MessageStatus as S,
  STATUS_EVENT_DETAIL_TYPE,
  STATUS_EVENT_SOURCE,
  statusEventDetailSchema,
  statusEventOf,
} from '../../../lambdas/domain/message';

/** A messages-table item as the ledger writes it (unmarshalled stream image), with the fields a body leaks through. */
function image(status: string, timeline: number, extra: Record<string, unknown> = {}): RecordImage {
  return {
    messageId: 'b1946ac92492d2347c6235b4d2611184',
    tenantId: 'acme',
    environment: 'developer-sandbox',
    category: 'transactional',
    status,
    recipients: ['ap@customer.example'],
    subject: 'Invoice INV-1042 from Acme',
    eventId: 'evt-1042',
    eventType: 'InvoicePosted',
    definitionId: 'invoice-email',
    itemKey: 'INV-1042',
    createdAt: '2026-11-19T08:12:03.114Z',
    updatedAt: '2026-11-19T08:12:04.000Z',
    expiresAt: 1_790_000_000,
    bodyExcerpt: '<p>secret body</p>',
    feedback: { recipients: {}, timeline: [{ detail: 'smtp; 550 5.1.1 user unknown' }] },
    timeline: Array.from({ length: timeline }, (_, i) => ({ at: `t${i}`, status })),
    ...extra,
  };
}

describe('statusEventOf (messages-table stream images → Email Status Changed events)', () => {
  it('publishes each change into a notable status once, with tenant, environment, event, definition, recipient, ids and reason', () => {
    const event = statusEventOf(
      'dev',
      image(S.SENT, 3, { sesMessageId: 'ses-1', method: 'advanced' }),
      image(S.BOUNCED, 4, {
        sesMessageId: 'ses-1',
        method: 'advanced',
        reason: 'Maximum sending rate exceeded.',
        reasonCode: 'RATE_LIMITED',
        timeline: [
          { at: 't0' },
          { at: 't1' },
          { at: 't2' },
          {
            at: 't3',
            status: S.BOUNCED,
            event: 'Bounce',
            recipient: 'ap@customer.example',
            detail: 'smtp; 550 5.1.1 user unknown',
          },
        ],
      }),
    );
    expect(event).toEqual({
      source: STATUS_EVENT_SOURCE,
      detailType: STATUS_EVENT_DETAIL_TYPE,
      detail: {
        version: '1',
        id: 'b1946ac92492d2347c6235b4d2611184:BOUNCED:4',
        scope: 'dev',
        status: 'BOUNCED',
        previousStatus: 'SENT',
        sequence: 4,
        at: '2026-11-19T08:12:04.000Z',
        messageId: 'b1946ac92492d2347c6235b4d2611184',
        tenantId: 'acme',
        environment: 'developer-sandbox',
        eventId: 'evt-1042',
        eventType: 'InvoicePosted',
        definitionId: 'invoice-email',
        itemKey: 'INV-1042',
        category: 'transactional',
        recipients: ['ap@customer.example'],
        recipient: 'ap@customer.example',
        feedbackEvent: 'Bounce',
        reason: 'smtp; 550 5.1.1 user unknown',
        method: 'advanced',
        providerMessageId: 'ses-1',
      },
    });
  });

  it('takes the reason of a sender-made change from the record, with its code', () => {
    const event = statusEventOf(
      'dev',
      image(S.SENDING, 2),
      image(S.REJECTED, 3, { reason: 'From is not authorised', reasonCode: 'UNVERIFIED_FROM' }),
    );
    expect(event?.detail).toMatchObject({ reason: 'From is not authorised', reasonCode: 'UNVERIFIED_FROM' });
    expect(event?.detail.feedbackEvent).toBeUndefined();
  });

  it('never carries the subject, body excerpt or feedback payload', () => {
    const event = statusEventOf('dev', image(S.SENDING, 2), image(S.REJECTED, 3, { reason: 'bad From' }));
    const text = JSON.stringify(event);
    expect(text).not.toContain('Invoice INV-1042 from Acme');
    expect(text).not.toContain('secret body');
    expect(text).not.toContain('550 5.1.1');
    expect(Object.keys(event?.detail ?? {})).not.toEqual(
      expect.arrayContaining(['subject', 'bodyExcerpt', 'feedback', 'timeline']),
    );
  });

  it('gives DEFERRED its eligibleAt, and one event per deferral of a DEFERRED → SENDING → DEFERRED cycle', () => {
    const first = statusEventOf(
      'dev',
      image(S.SENDING, 2),
      image(S.DEFERRED, 3, { eligibleAt: '2026-11-19T08:13:00.000Z' }),
    );
    const claim = statusEventOf('dev', image(S.DEFERRED, 3), image(S.SENDING, 4));
    const second = statusEventOf(
      'dev',
      image(S.SENDING, 4),
      image(S.DEFERRED, 5, { eligibleAt: '2026-11-19T08:14:00.000Z' }),
    );
    expect(claim).toBeNull();
    expect(first?.detail.eligibleAt).toBe('2026-11-19T08:13:00.000Z');
    expect(second?.detail.eligibleAt).toBe('2026-11-19T08:14:00.000Z');
    expect(first?.detail.id).not.toBe(second?.detail.id);
  });

  it('gives no event for QUEUED and SENDING, for a rewrite that keeps the status, or for a deleted item', () => {
    expect(statusEventOf('dev', undefined, image(S.QUEUED, 1))).toBeNull();
    expect(statusEventOf('dev', image(S.QUEUED, 1), image(S.SENDING, 2))).toBeNull();
    expect(statusEventOf('dev', image(S.SENT, 3), image(S.SENT, 4))).toBeNull();
    expect(statusEventOf('dev', image(S.BOUNCED, 4), image(S.BOUNCED, 5))).toBeNull();
    expect(statusEventOf('dev', image(S.SENT, 3), undefined)).toBeNull();
  });

  it('ignores the send-lane request items kept beside the records (no status)', () => {
    expect(
      statusEventOf('dev', undefined, { messageId: 'abc#request', body: '{"html":"<p>hi</p>"}' }),
    ).toBeNull();
  });

  it('names a record created in a notable status with previousStatus null', () => {
    const event = statusEventOf('prod', undefined, {
      messageId: 'c0ffee',
      tenantId: '(unknown)',
      status: S.REJECTED,
      reason: 'not JSON',
      reasonCode: 'INVALID_MESSAGE',
      createdAt: '2026-11-19T08:00:00.000Z',
      updatedAt: '2026-11-19T08:00:00.000Z',
      timeline: [{ status: S.REJECTED, at: '2026-11-19T08:00:00.000Z' }],
    });
    expect(event?.detail).toMatchObject({
      previousStatus: null,
      sequence: 1,
      recipients: [],
      scope: 'prod',
      id: 'c0ffee:REJECTED:1',
    });
  });

  it('is deterministic: the same stream record gives the same event id (consumers de-duplicate on it)', () => {
    const old = image(S.SENDING, 2);
    const next = image(S.SENT, 3, { sesMessageId: 'ses-9' });
    expect(statusEventOf('dev', old, next)).toEqual(statusEventOf('dev', old, next));
  });

  it('emits exactly one valid event per change into a notable status along any sequence of writes', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ALL_STATUSES), { minLength: 1, maxLength: 30 }), (statuses) => {
        const images = statuses.map((status, i) => image(status, i + 1));
        const events = images
          .map((next, i) => statusEventOf('dev', images[i - 1], next))
          .filter((event) => event !== null);
        const expected = statuses.filter(
          (status, i) =>
            (NOTABLE_STATUSES as readonly string[]).includes(status) && status !== statuses[i - 1],
        );
        expect(events.map((event) => event.detail.status)).toEqual(expected);
        expect(new Set(events.map((event) => event.detail.id)).size).toBe(events.length);
        for (const event of events)
          expect(statusEventDetailSchema.safeParse(event.detail).success).toBe(true);
      }),
    );
  });
});

describe('statusEventOf: what a malformed or partial image gives', () => {
  it('gives no event for an image without a message id or without a tenant', () => {
    expect(statusEventOf('dev', image(S.QUEUED, 1), image(S.SENT, 2, { messageId: '' }))).toBeNull();
    expect(statusEventOf('dev', image(S.QUEUED, 1), image(S.SENT, 2, { tenantId: undefined }))).toBeNull();
  });

  it('leaves out empty and absent fields rather than sending them empty, and keeps only string recipients', () => {
    const event = statusEventOf(
      'dev',
      undefined,
      image(S.REJECTED, 0, {
        environment: '',
        eventId: undefined,
        eventType: 7,
        timeline: 'not a list',
        recipients: ['ap@customer.example', 42, null],
        reason: 'tenant "x" does not exist',
        reasonCode: 'UNKNOWN_TENANT',
        eligibleAt: '2026-11-19T09:00:00.000Z',
      }),
    );
    expect(event?.detail).toStrictEqual({
      version: '1',
      id: 'b1946ac92492d2347c6235b4d2611184:REJECTED:1',
      scope: 'dev',
      status: S.REJECTED,
      previousStatus: null,
      sequence: 1,
      at: '2026-11-19T08:12:04.000Z',
      messageId: 'b1946ac92492d2347c6235b4d2611184',
      tenantId: 'acme',
      definitionId: 'invoice-email',
      itemKey: 'INV-1042',
      category: 'transactional',
      recipients: ['ap@customer.example'],
      reason: 'tenant "x" does not exist',
      reasonCode: 'UNKNOWN_TENANT',
    });
    expect(
      statusEventOf('dev', undefined, image(S.SENT, 1, { recipients: 'ap@customer.example' }))?.detail,
    ).toMatchObject({ recipients: [] });
  });

  it('takes the cause among the lines this write added: the one with the new status, else the last event line', () => {
    const before = image(S.SENT, 0, {
      timeline: [
        { at: 't0', status: S.SENT, event: 'Bounce', recipient: 'old@customer.example', detail: 'old' },
      ],
    });
    const added = [
      {
        at: 't1',
        status: S.DELIVERED,
        event: 'Delivery',
        recipient: 'ap@customer.example',
        detail: 'delivered',
      },
      { at: 't2', status: S.BOUNCED, event: 'Bounce', recipient: 'cc@customer.example', detail: 'smtp; 550' },
      { at: 't3', event: 'DeliveryDelay', recipient: 'ap@customer.example', detail: 'delayed' },
    ];
    const bounced = statusEventOf(
      'dev',
      before,
      image(S.BOUNCED, 0, { timeline: [...(before.timeline as unknown[]), ...added] }),
    );
    expect(bounced?.detail).toMatchObject({
      recipient: 'cc@customer.example',
      feedbackEvent: 'Bounce',
      reason: 'smtp; 550',
    });
    expect(bounced?.detail).not.toHaveProperty('reasonCode');
    // No added line with the new status: the last added line with an event is the cause.
    const delivered = statusEventOf(
      'dev',
      before,
      image(S.DELIVERED, 0, { timeline: [...(before.timeline as unknown[]), added[2], added[0]] }),
    );
    expect(delivered?.detail).toMatchObject({ recipient: 'ap@customer.example', feedbackEvent: 'Delivery' });
    // Lines that were already there are never the cause.
    const noneAdded = statusEventOf('dev', image(S.SENT, 0, { timeline: before.timeline }), {
      ...before,
      status: S.COMPLAINED,
      reason: 'record reason',
    });
    expect(noneAdded?.detail).toMatchObject({ reason: 'record reason' });
    expect(noneAdded?.detail).not.toHaveProperty('recipient');
  });
});
