import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EXIT } from '../../../cli/exit-codes';
import { DynamoMessageLedger } from '../../../lambdas/adapters/message-ledger/dynamo-message-ledger';
import { DynamoSuppressionStore } from '../../../lambdas/adapters/suppression-store';
import { toFeedbackEvent } from '../../../lambdas/domain/feedback/feedback-event';
import { parseSesEvent } from '../../../lambdas/domain/feedback/ses-event-schema';
import { laneMessage, sendRequestSchema } from '../../../lambdas/domain/sending/send-request';
import { type CliHarness, createCliHarness } from '../../support/cli-harness';
import { testAws, testStack } from '../../support/env';
import {
  createDispatchQueues,
  type DispatchQueues,
  deleteDispatchQueues,
  drainQueue,
  sqs,
} from '../dispatch/dispatch-harness';

/**
 * The README's support question, end to end through the CLI: "did my customer get invoice INV-1042?" — find the
 * email, see why it bounced, remove the suppression, resend. The bounced record is made by the real ledger
 * (dispatch, claim, SENT, then AWS's published bounce event sample), the suppression as feedback makes it.
 */
const run = `${Date.now().toString(36)}-${process.pid}`;
const tenantId = `support-${run}`;
const customer = 'recipient@example.com';
const documents = DynamoDBDocumentClient.from(new DynamoDBClient(testAws.dynamodb), {
  marshallOptions: { removeUndefinedValues: true },
});
const ledger = new DynamoMessageLedger(documents, { tableName: testStack.table('messages') });
let queues: DispatchQueues;
let cli: CliHarness;
let messageId: string;

beforeAll(async () => {
  queues = await createDispatchQueues(`support-${run}`);
  cli = await createCliHarness({
    queues: { 'tenant-mail-dev-send': queues.send, 'tenant-mail-dev-send-bulk': queues.sendBulk },
  });
  const request = sendRequestSchema.parse({
    tenantId,
    environment: 'developer-sandbox',
    to: [customer],
    subject: 'Invoice INV-1042: 1250.00 EUR',
    text: 'Your invoice INV-1042 is attached.',
    eventId: `evt-${run}`,
    definitionId: 'invoice-posted-email',
  });
  const lane = laneMessage(request, `evt-${run}:invoice-posted-email:${customer}`);
  messageId = lane.messageId;
  await ledger.createJobRecords([
    {
      messageId,
      jobId: 'job-1',
      tenantId,
      environment: 'developer-sandbox',
      category: 'transactional',
      eventId: `evt-${run}`,
      eventType: 'InvoicePosted',
      definitionId: 'invoice-posted-email',
      itemKey: 'INV-1042',
      status: 'QUEUED',
      recipients: [customer],
      subject: request.subject,
      request: lane.body,
    },
  ]);
  const claim = await ledger.claim({
    messageId,
    tenantId,
    environment: 'developer-sandbox',
    category: 'transactional',
    recipients: [customer],
    subject: request.subject,
  });
  if (!claim.claimed) throw new Error('not claimed');
  const raw = JSON.parse(
    readFileSync(join(__dirname, '..', '..', 'fixtures', 'ses-feedback', 'bounce-permanent.json'), 'utf8'),
  );
  await ledger.recordSent(messageId, claim.lease, {
    method: 'default',
    from: 'notifications@example.net',
    providerMessageId: raw.mail.messageId,
  });
  raw.mail.tags = {
    ...raw.mail.tags,
    'message-id': [messageId],
    'tenant-id': [tenantId],
    environment: ['developer-sandbox'],
  };
  const event = toFeedbackEvent(parseSesEvent(raw));
  await ledger.applyFeedback(event.correlation, event);
  // As processFeedback does for the event that decided a bounce (its unit test covers that choice).
  await ledger.keepFeedbackEvent(messageId, JSON.stringify(raw));
  await new DynamoSuppressionStore(documents, testStack.table('suppressions')).put({
    tenantId,
    address: customer,
    reason: 'PERMANENT_BOUNCE',
    sourceMessageId: messageId,
    createdAt: new Date().toISOString(),
  });
});

afterAll(async () => {
  await deleteDispatchQueues(queues);
  await cli.stop();
  sqs.destroy();
  documents.destroy();
});

describe('a support question through the CLI', () => {
  it('finds the email, shows why it bounced, refuses to resend while suppressed, and resends after removal', async () => {
    const found = await cli.run([
      'message',
      'list',
      '--tenant',
      tenantId,
      '--object-id',
      'INV-1042',
      '--failed',
      '--json',
    ]);
    expect(found.code).toBe(EXIT.OK);
    const page = JSON.parse(found.stdout) as {
      items: { messageId: string; status: string; recipients: string[] }[];
    };
    expect(page.items).toEqual([
      expect.objectContaining({ messageId, status: 'BOUNCED', recipients: [customer] }),
    ]);

    const shown = await cli.run(['message', 'show', messageId]);
    expect(shown.code).toBe(EXIT.OK);
    expect(shown.stdout).toMatch(/^status: +BOUNCED$/m);
    expect(shown.stdout).toMatch(/^sesMessageId: +EXAMPLE7c191be45/m);
    expect(shown.stdout).toContain(`caused by the Bounce event for ${customer}`);
    expect(shown.stdout).toContain('smtp; 550 5.1.1 user unknown');
    // The whole SES event behind it, as AWS published it (the feedback function keeps it beside the record).
    expect(shown.stdout).toContain('provider event (as published):');
    const shownJson = JSON.parse((await cli.run(['message', 'show', messageId, '--json'])).stdout);
    expect(shownJson.event).toMatchObject({
      eventType: 'Bounce',
      bounce: { bounceType: 'Permanent', reportingMTA: expect.any(String) },
      mail: { messageId: expect.stringMatching(/^EXAMPLE7c191be45/) },
    });

    const refused = await cli.run(['message', 'resend', messageId]);
    expect(refused.code).toBe(EXIT.USAGE);
    expect(refused.stderr).toContain(`${customer} is on the suppression list of ${tenantId}`);
    expect(await drainQueue(queues.send)).toEqual([]);

    expect((await cli.run(['suppression', 'remove', '--tenant', tenantId, '--address', customer])).code).toBe(
      EXIT.OK,
    );
    const resent = await cli.run(['message', 'resend', messageId, '--json']);
    expect(resent.code).toBe(EXIT.OK);
    const result = JSON.parse(resent.stdout) as { messageId: string; idempotencyKey: string };
    expect(result.messageId).not.toBe(messageId);
    expect(result.idempotencyKey).toMatch(new RegExp(`^resend:${messageId}:`));
    const [copy, ...more] = await drainQueue(queues.send);
    expect(more).toEqual([]);
    const body = JSON.parse(copy?.Body ?? '{}');
    expect(body).toMatchObject({
      tenantId,
      to: [customer],
      subject: 'Invoice INV-1042: 1250.00 EUR',
      idempotencyKey: result.idempotencyKey,
    });
    // The copy is queued the way every email is: a QUEUED record under the original's event and invoice, with its
    // request kept (the sweeper can send it if the lane message is lost; once final, it can be resent in turn).
    expect(await ledger.get(result.messageId)).toMatchObject({
      status: 'QUEUED',
      tenantId,
      eventId: `evt-${run}`,
      eventType: 'InvoicePosted',
      definitionId: 'invoice-posted-email',
      itemKey: 'INV-1042',
      requestKept: true,
    });
    expect(await ledger.request(result.messageId)).toBe(copy?.Body);
    const copyShown = await cli.run(['message', 'show', result.messageId, '--json']);
    expect(JSON.parse(copyShown.stdout)).toMatchObject({ resendOf: messageId });
    // Still on its way: a second resend is refused until it is final.
    expect((await cli.run(['message', 'resend', result.messageId])).stderr).toContain('still on its way');
  });

  it('resends with --force --reason while suppressed, lifting the suppression; --force alone is refused', async () => {
    await new DynamoSuppressionStore(documents, testStack.table('suppressions')).put({
      tenantId,
      address: customer,
      reason: 'PERMANENT_BOUNCE',
      createdAt: new Date().toISOString(),
    });
    expect((await cli.run(['message', 'resend', messageId, '--force'])).stderr).toContain(
      'force needs a reason',
    );
    const forced = await cli.run([
      'message',
      'resend',
      messageId,
      '--force',
      '--reason',
      'customer fixed the mailbox',
    ]);
    expect(forced.code).toBe(EXIT.OK);
    expect(forced.stdout).toContain(`lifted the suppression of ${customer}`);
    expect(await drainQueue(queues.send)).toHaveLength(1);
    expect((await cli.run(['message', 'show', 'no-such-id'])).code).toBe(EXIT.NOT_FOUND);
  });
});
