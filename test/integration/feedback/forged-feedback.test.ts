import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { DynamoMessageLedger } from '../../../lambdas/adapters/message-ledger/dynamo-message-ledger';
import { DynamoReputationStore } from '../../../lambdas/adapters/reputation-store';
import { SnsSignatureVerifier } from '../../../lambdas/adapters/sns-signature-verifier';
import { DynamoSuppressionStore } from '../../../lambdas/adapters/suppression-store';
import { DynamoTenantPauseStore } from '../../../lambdas/adapters/tenant-pause-store';
import { DEFAULT_REPUTATION_CONFIG } from '../../../lambdas/domain/feedback/reputation-guard';
import { DEFAULT_SUPPRESSION_EXPIRY } from '../../../lambdas/domain/feedback/suppression-rules';
import {
  createProcessFeedbackHandler,
  type ProcessFeedbackHandlerDeps,
} from '../../../lambdas/handlers/process-feedback';
import { selfSignedRelayCertificate } from '../../../local/smtp/smtp-relay';
import { sqsEvent } from '../../../local/twin/sqs-poller';
import { testAws, testStack } from '../../support/env';
import { fixture, type Json, snsEnvelope } from '../../unit/feedback/load-fixture';
import { SAMPLE_TRUST } from '../../unit/feedback-flow/in-memory-ports';

/**
 * Forged feedback on the feedback queue, as an attacker with `sqs:SendMessage` on it would write it, against
 * the real ledger and stores on DynamoDB Local: none of it changes the record, the suppression list or the
 * reputation counters, and each lands in the dead-letter queue with the check that refused it.
 */
const documents = DynamoDBDocumentClient.from(new DynamoDBClient(testAws.dynamodb), {
  marshallOptions: { removeUndefinedValues: true },
});
const run = Date.now().toString(36);
const tenantId = `northwind-${run}`;
const messageId = `forged-target-${run}`;
const recipient = 'recipient@example.com';
const ledger = new DynamoMessageLedger(documents, { tableName: testStack.table('messages') });
const suppressions = new DynamoSuppressionStore(documents, testStack.table('suppressions'));
const reputation = new DynamoReputationStore(documents, testStack.table('counters'));
const deadLettered: { code: string; reason: string }[] = [];
const rejectedMetrics: string[] = [];
const deps: ProcessFeedbackHandlerDeps = {
  messages: ledger,
  suppressions,
  reputation,
  pauses: new DynamoTenantPauseStore(documents, testStack.table('tenants')),
  deadLetters: { put: async (_body, failure) => void deadLettered.push(failure) },
  alerts: { emit: () => undefined, rejected: (code) => void rejectedMetrics.push(code) },
  clock: { now: () => new Date() },
  settings: {
    trust: SAMPLE_TRUST,
    reputation: DEFAULT_REPUTATION_CONFIG,
    suppressionExpiry: DEFAULT_SUPPRESSION_EXPIRY,
    simulatorCountsTowardReputation: false,
  },
};
const handler = createProcessFeedbackHandler(
  deps,
  new Logger({ serviceName: 'tenant-mail', logLevel: 'ERROR' }),
);
const deliver = async (...bodies: string[]) => {
  const response = await handler(sqsEvent(...bodies.map((body) => ({ body }))), {} as Context);
  return response.batchItemFailures;
};

/** An AWS sample event addressed to our record, changed by `forge`. */
function event(
  name: string,
  forge: (event: Json) => void = () => undefined,
  tags = { messageId, tenantId },
): Json {
  const value = fixture(name, tags);
  // Happening now, so that counters and suppressions it would cause are inside their windows.
  const now = new Date().toISOString();
  const stamp = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    for (const [key, child] of Object.entries(node as Json)) {
      if (key === 'timestamp') (node as Json)[key] = now;
      else stamp(child);
    }
  };
  stamp(value);
  forge(value);
  return value;
}

/** Every suppression item of the tenant, expired or not. */
async function suppressionItems() {
  const { Items = [] } = await documents.send(
    new QueryCommand({
      TableName: testStack.table('suppressions'),
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `TENANT#${tenantId}` },
    }),
  );
  return Items;
}

afterAll(() => documents.destroy());

describe('forged feedback (real ledger and stores)', () => {
  beforeAll(async () => {
    const claim = await ledger.claim({
      messageId,
      tenantId,
      environment: 'developer-sandbox',
      category: 'transactional',
      recipients: [recipient],
      subject: 'Invoice',
    });
    if (!claim.claimed) throw new Error('not claimed');
    await ledger.recordSent(messageId, claim.lease, {
      method: 'default',
      from: 'n@example.com',
      providerMessageId: 'ses-1',
    });
    expect(await deliver(snsEnvelope(event('delivery.json')))).toEqual([]);
    expect((await ledger.get(messageId))?.status).toBe('DELIVERED');
  });

  it.each([
    [
      'another topic',
      'FEEDBACK_NOT_FROM_TOPIC',
      () =>
        JSON.stringify({
          ...JSON.parse(snsEnvelope(event('bounce-permanent.json'))),
          TopicArn: 'arn:aws:sns:us-east-1:123456789012:attacker',
        }),
    ],
    ['no SNS envelope', 'FEEDBACK_NOT_FROM_TOPIC', () => JSON.stringify(event('bounce-permanent.json'))],
    [
      'account 999999999999',
      'FEEDBACK_WRONG_ACCOUNT',
      () =>
        snsEnvelope(
          event('bounce-permanent.json', (e) => {
            (e.mail as Json).sendingAccountId = '999999999999';
          }),
        ),
    ],
    [
      'a source in another account',
      'FEEDBACK_WRONG_ACCOUNT',
      () =>
        snsEnvelope(
          event('bounce-permanent.json', (e) => {
            (e.mail as Json).sourceArn = 'arn:aws:ses:us-east-1:999999999999:identity/x.example';
          }),
        ),
    ],
    [
      'another configuration set',
      'FEEDBACK_WRONG_CONFIGURATION_SET',
      () =>
        snsEnvelope(
          event('bounce-permanent.json', (e) => {
            ((e.mail as Json).tags as Json)['ses:configuration-set'] = ['other'];
          }),
        ),
    ],
    [
      'another tenant’s tag on our message id',
      'FEEDBACK_TENANT_MISMATCH',
      () => snsEnvelope(event('bounce-permanent.json', () => undefined, { messageId, tenantId: 'evil' })),
    ],
    [
      'an address the email was not sent to',
      'FEEDBACK_NOT_A_RECIPIENT',
      () =>
        snsEnvelope(
          event('complaint.json', (e) => {
            ((e.complaint as Json).complainedRecipients as Json[])[0] = { emailAddress: 'ceo@rival.example' };
          }),
        ),
    ],
    [
      'a message id we never sent',
      'UNCORRELATED_FEEDBACK',
      () => snsEnvelope(event('complaint.json', () => undefined, { messageId: `nope-${run}`, tenantId })),
    ],
  ])('refuses %s (%s) and changes nothing', async (_name, code, body) => {
    deadLettered.length = 0;
    rejectedMetrics.length = 0;
    expect(await deliver(body())).toEqual([]);
    expect(deadLettered.map((failure) => failure.code)).toEqual([code]);
    expect(rejectedMetrics).toEqual([code]);
    const record = await ledger.get(messageId);
    expect(record?.status).toBe('DELIVERED');
    expect(await suppressionItems()).toEqual([]);
    expect((await reputation.readWindow(tenantId, new Date(), 24 * 7)).bounces).toBe(0);
    expect((await reputation.readWindow(tenantId, new Date(), 24 * 7)).complaints).toBe(0);
  });

  it('refuses, with signatures verified, an envelope that copies everything but cannot be signed (FEEDBACK_BAD_SIGNATURE)', async () => {
    const { cert } = await selfSignedRelayCertificate();
    const verifying = createProcessFeedbackHandler(
      {
        ...deps,
        signatures: new SnsSignatureVerifier('us-east-1', async () => cert),
      },
      new Logger({ serviceName: 'tenant-mail', logLevel: 'ERROR' }),
    );
    deadLettered.length = 0;
    const body = snsEnvelope(event('bounce-permanent.json'));
    await verifying(sqsEvent({ body }), {} as Context);
    expect(deadLettered.map((failure) => failure.code)).toEqual(['FEEDBACK_BAD_SIGNATURE']);
    expect((await ledger.get(messageId))?.status).toBe('DELIVERED');
    expect(await suppressionItems()).toEqual([]);
  });

  it('still believes the genuine bounce of the same message, in any order after the delivery', async () => {
    deadLettered.length = 0;
    expect(await deliver(snsEnvelope(event('bounce-permanent.json')))).toEqual([]);
    expect(deadLettered).toEqual([]);
    expect((await ledger.get(messageId))?.status).toBe('BOUNCED');
    expect((await suppressions.list(tenantId)).items.map((entry) => entry.address)).toEqual([recipient]);
    expect((await reputation.readWindow(tenantId, new Date(), 24 * 7)).bounces).toBe(1);
  });
});
