import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateConfigurationSetCommand,
  CreateEmailIdentityCommand,
  GetEmailIdentityCommand,
  SESv2Client,
} from '@aws-sdk/client-sesv2';
import { CreateQueueCommand, DeleteQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { SqsSendLanes } from '../../lambdas/adapters/sqs-send-lanes';
import { DynamoTenantStore } from '../../lambdas/adapters/tenant-store';
import type { MessageRecord } from '../../lambdas/domain/message';
import { laneMessage, sendRequestSchema } from '../../lambdas/domain/sending/send-request';
import { createSendEmailHandler } from '../../lambdas/handlers/send-email';
import { SENDER_SES_CLIENT_CONFIG } from '../../lambdas/handlers/send-email.deps';
import { startLocalDnsServer } from '../../local/dns/dns-server';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/emulators/local-aws';
import { startSesEmulator } from '../../local/ses';
import { createSqsPoller } from '../../local/twin/sqs-poller';
import { testAws, testStack } from '../support/env';
import { TEST_CONFIGURATION_SET, TEST_PLATFORM_DOMAIN, testSenderDeps } from '../support/sender-deps';

/**
 * `npm run test:crash` (long): 1,000 emails through the real sender at an SES max send rate of 2/s. Throttled
 * sends are deferred on their own record (same key), so the run ends with exactly 1,000 records, all SENT, one
 * email each, and the deferrals counted on those records. Results: test-artifacts/deferral-drain.json.
 */
const EMAILS = 1_000;

/** The most sends whose times fall within any 1-second span. */
function maxInAnySecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let first = 0, last = 0; last < sorted.length; last++) {
    while ((sorted[first] ?? 0) <= (sorted[last] ?? 0) - 1_000) first += 1;
    best = Math.max(best, last - first + 1);
  }
  return best;
}
const RATE = 2;

describe(`${EMAILS} emails at SES ${RATE}/s`, () => {
  it(
    'ends with one SENT record per email, no orphan record, no duplicate',
    async () => {
      const run = Date.now().toString(36);
      const tenantId = `drain-${run}`;
      const dns = await startLocalDnsServer();
      const ses = await startSesEmulator({
        dns,
        dkimKeyBits: 1024,
        maxSendRate: RATE,
        max24HourSend: 1_000_000,
      });
      const sesClient = new SESv2Client({
        ...SENDER_SES_CLIENT_CONFIG,
        endpoint: ses.url,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      });
      const sqs = new SQSClient(testAws.sqs);
      const documents = DynamoDBDocumentClient.from(new DynamoDBClient(testAws.dynamodb), {
        marshallOptions: { removeUndefinedValues: true },
      });
      await sesClient.send(
        new CreateConfigurationSetCommand({ ConfigurationSetName: TEST_CONFIGURATION_SET }),
      );
      const identity = await sesClient.send(
        new CreateEmailIdentityCommand({ EmailIdentity: TEST_PLATFORM_DOMAIN }),
      );
      for (const token of identity.DkimAttributes?.Tokens ?? []) {
        dns.setRecords(`${token}._domainkey.${TEST_PLATFORM_DOMAIN}`, 'CNAME', [
          `${token}.dkim.amazonses.com`,
        ]);
      }
      await sesClient.send(new GetEmailIdentityCommand({ EmailIdentity: TEST_PLATFORM_DOMAIN }));
      let sendRequests = 0;
      sesClient.middlewareStack.add(
        (next, context) => (args) => {
          if (context.commandName === 'SendEmailCommand') sendRequests += 1;
          return next(args);
        },
        { step: 'deserialize', name: 'countSendAttempts' },
      );
      await new DynamoTenantStore(documents, { tableName: testStack.table('tenants') }).put({
        tenantId,
        displayName: 'Drain Co',
        profileEmail: 'ops@drain.example',
        environments: { 'developer-sandbox': { method: 'default' } },
      });
      const urls = { transactional: '', bulk: '' };
      for (const lane of ['transactional', 'bulk'] as const) {
        const { QueueUrl = '' } = await sqs.send(
          new CreateQueueCommand({ QueueName: `drain-${lane}-${run}` }),
        );
        urls[lane] = QueueUrl;
      }
      const lanes = new SqsSendLanes(sqs, { queueUrls: urls });
      const messages = Array.from({ length: EMAILS }, (_, i) =>
        laneMessage(
          sendRequestSchema.parse({
            tenantId,
            idempotencyKey: `drain-${i}`,
            environment: 'developer-sandbox',
            to: [`success+drain-${i}@simulator.amazonses.com`],
            subject: `Invoice ${i}`,
            text: 'ready',
            category: 'bulk',
          }),
        ),
      );
      expect((await lanes.publish(messages)).sent).toHaveLength(EMAILS);

      const handler = createSendEmailHandler({ ...testSenderDeps({ ses: sesClient }), lanes });
      const started = Date.now();
      const poller = createSqsPoller(sqs, handler, {
        queueUrl: urls.bulk,
        queueArn: 'arn:aws:sqs:local:drain',
        batchSize: 10,
        maxConcurrency: 2,
      });
      poller.start();
      const records = async () => {
        const items: MessageRecord[] = [];
        let start: Record<string, unknown> | undefined;
        do {
          const page = await documents.send(
            new ScanCommand({
              // Whole records (timelines included), which the byTenant index does not carry.
              TableName: testStack.table('messages'),
              FilterExpression: 'tenantId = :t',
              ExpressionAttributeValues: { ':t': tenantId },
              ...(start ? { ExclusiveStartKey: start } : {}),
            }),
          );
          items.push(...((page.Items ?? []) as MessageRecord[]));
          start = page.LastEvaluatedKey;
        } while (start);
        return items;
      };
      let all: MessageRecord[] = [];
      // Paced at 97 % of 2/s, 1,000 emails take about 8.6 minutes; the deadline leaves room for a loaded machine.
      const deadline = Date.now() + 45 * 60_000;
      while (Date.now() < deadline) {
        all = await records();
        if (all.length >= EMAILS && all.every((r) => r.status === 'SENT')) break;
        await new Promise((resolve) => setTimeout(resolve, 5_000));
      }
      const seconds = (Date.now() - started) / 1000;
      await poller.stop();
      const ids = new Set(messages.map((m) => m.messageId));
      const sentPerRecipient = new Map<string, number>();
      for (const m of ses.store.messages) {
        if (m.kind !== 'email') continue;
        for (const to of m.destination) sentPerRecipient.set(to, (sentPerRecipient.get(to) ?? 0) + 1);
      }
      const result = {
        emails: EMAILS,
        rate: RATE,
        seconds,
        achievedRate: EMAILS / seconds,
        records: all.length,
        orphans: all.filter((r) => !ids.has(r.messageId)).length,
        sent: all.filter((r) => r.status === 'SENT').length,
        deferrals: all.reduce(
          (n, r) => n + r.timeline.filter((line) => line.status === 'DEFERRED').length,
          0,
        ),
        recordsDeferredAtLeastOnce: all.filter((r) => r.timeline.some((line) => line.status === 'DEFERRED'))
          .length,
        accepted: [...sentPerRecipient.values()].reduce((a, b) => a + b, 0),
        duplicates: [...sentPerRecipient.values()].filter((n) => n > 1).length,
        sesRequests: sendRequests,
        throttledBySes: sendRequests - ses.store.messages.filter((m) => m.kind === 'email').length,
        maxInAnySecond: maxInAnySecond(
          ses.store.messages.filter((m) => m.kind === 'email').map((m) => Date.parse(m.timestamp)),
        ),
      };
      mkdirSync(join(__dirname, '..', '..', 'test-artifacts'), { recursive: true });
      writeFileSync(
        join(__dirname, '..', '..', 'test-artifacts', 'deferral-drain.json'),
        `${JSON.stringify(result, null, 2)}\n`,
      );
      console.log(JSON.stringify(result, null, 2));
      for (const QueueUrl of Object.values(urls)) await sqs.send(new DeleteQueueCommand({ QueueUrl }));
      await ses.stop();
      await dns.stop();
      sqs.destroy();
      documents.destroy();
      sesClient.destroy();

      expect(result.records).toBe(EMAILS);
      expect(result.orphans).toBe(0);
      expect(result.sent).toBe(EMAILS);
      expect(result.accepted).toBe(EMAILS);
      expect(result.duplicates).toBe(0);
      expect(result.maxInAnySecond).toBeLessThanOrEqual(RATE);
    },
    50 * 60_000,
  );
});
