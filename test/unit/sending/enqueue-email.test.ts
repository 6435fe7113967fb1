import {
  type JobRecord,
  type JobRecordResult,
  type LaneMessage,
  MessageStatus as S,
} from '../../../lambdas/domain/message';
import {
  type EnqueueDeps,
  enqueueEmail,
  SendQueuePublishError,
} from '../../../lambdas/domain/sending/enqueue-email';
import { laneMessage, sendRequestSchema } from '../../../lambdas/domain/sending/send-request';

const request = sendRequestSchema.parse({
  tenantId: 'acme',
  environment: 'developer-sandbox',
  to: ['ap@customer.example'],
  cc: ['cc@customer.example'],
  bcc: ['audit@acme.example'],
  subject: 'Invoice INV-7',
  text: 'ready',
  category: 'bulk',
});

/** The ledger and lanes in memory: what each call received, in order. */
function harness(existing?: JobRecordResult, accept = true) {
  const calls: string[] = [];
  const records: JobRecord[] = [];
  const published: LaneMessage[] = [];
  const deps: EnqueueDeps = {
    ledger: {
      createJobRecords: async (batch) => {
        calls.push('create');
        records.push(...batch);
        return batch.map(() => existing ?? { created: true });
      },
    },
    lanes: {
      publish: async (messages) => {
        calls.push('publish');
        published.push(...messages);
        return { sent: accept ? messages.map((m) => m.messageId) : [] };
      },
    },
  };
  return { deps, calls, records, published };
}

describe('enqueueEmail: the one way an email gets on its lane', () => {
  it('writes the QUEUED record with its kept request, then the lane message, and nothing after', async () => {
    const h = harness();
    const lane = laneMessage(request, 'resend:abc:1');
    expect(
      await enqueueEmail(request, 'resend:abc:1', h.deps, { jobId: 'resend:abc:1', itemKey: 'INV-7' }),
    ).toEqual({ messageId: lane.messageId, outcome: 'queued' });
    expect(h.calls).toEqual(['create', 'publish']);
    expect(h.records).toEqual([
      {
        jobId: 'resend:abc:1',
        itemKey: 'INV-7',
        messageId: lane.messageId,
        tenantId: 'acme',
        environment: 'developer-sandbox',
        category: 'bulk',
        status: S.QUEUED,
        recipients: ['ap@customer.example', 'cc@customer.example', 'audit@acme.example'],
        subject: 'Invoice INV-7',
        request: lane.body,
      },
    ]);
    expect(h.published).toEqual([lane]);
  });

  it('puts a record still QUEUED on its lane again (requeued: its first lane message may be lost)', async () => {
    const h = harness({ created: false, status: S.QUEUED });
    expect((await enqueueEmail(request, 'k', h.deps, { jobId: 'k' })).outcome).toBe('requeued');
    expect(h.calls).toEqual(['create', 'publish']);
  });

  it.each([
    ['already sent', { created: false, status: S.SENT }],
    ['being sent', { created: false, status: S.SENDING }],
    ['deferred by the pacing (on its lane, delayed)', { created: false, status: S.DEFERRED }],
  ] as const)('publishes nothing for a key whose record is %s', async (_, existing) => {
    const h = harness(existing);
    expect(await enqueueEmail(request, 'k', h.deps, { jobId: 'k' })).toEqual({
      messageId: laneMessage(request, 'k').messageId,
      outcome: 'duplicate',
      status: existing.status,
    });
    expect(h.calls).toEqual(['create']);
  });

  it('throws a transient error, marking nothing, when the lane does not accept the message', async () => {
    const h = harness(undefined, false);
    const error = await enqueueEmail(request, 'k', h.deps, { jobId: 'k' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SendQueuePublishError);
    expect(error).toMatchObject({
      kind: 'transient',
      code: 'SEND_QUEUE_UNAVAILABLE',
      name: 'SendQueuePublishError',
      message: '1 send-queue messages were not accepted; the event will be retried',
    });
    expect(h.calls).toEqual(['create', 'publish']);
  });
});
