import {
  CreateConfigurationSetCommand,
  CreateEmailIdentityCommand,
  GetEmailIdentityCommand,
  SESv2Client,
} from '@aws-sdk/client-sesv2';
import { DynamoTenantStore } from '../../../lambdas/adapters/tenant-store';
import type { JobRecord, JobRecordResult } from '../../../lambdas/domain/message';
import { type DispatchLedger, dispatchEvents } from '../../../lambdas/domain/notifications/dispatch-events';
import { createSendEmailHandler } from '../../../lambdas/handlers/send-email';
import { type LocalDnsServer, startLocalDnsServer } from '../../../local/dns/dns-server';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import { type SesEmulator, startSesEmulator } from '../../../local/ses';
import { createSqsPoller } from '../../../local/twin/sqs-poller';
import { testStack } from '../../support/env';
import { TEST_CONFIGURATION_SET, TEST_PLATFORM_DOMAIN, testSenderDeps } from '../../support/sender-deps';
import {
  billRun,
  createDispatchQueues,
  type DispatchQueues,
  definitionStore,
  deleteDispatchQueues,
  dispatchDeps,
  documents,
  fixture,
  queueDepth,
  seedBillRunDefinition,
  sqs,
} from './dispatch-harness';

/**
 * The dispatcher's job records for tenant A's 10,000 emails, kept in memory: DynamoDB Local writes about 100
 * items a second, so 20,000 record writes would dominate the run. The conditional-create semantics are the
 * DynamoDB ledger's, tested on DynamoDB Local in dispatch-events.test.ts; the sender here uses the real ledger.
 */
class MemoryDispatchLedger implements DispatchLedger {
  private readonly ids = new Set<string>();
  async createJobRecords(records: readonly JobRecord[]): Promise<JobRecordResult[]> {
    return records.map((record) => {
      if (this.ids.has(record.messageId)) return { created: false, status: 'QUEUED' } as const;
      this.ids.add(record.messageId);
      return { created: true } as const;
    });
  }
  async recordInvalid(): Promise<void> {}
  async wasPublished(): Promise<boolean> {
    return false;
  }
  async markPublished(): Promise<void> {}
}

const run = `${Date.now().toString(36)}-${process.pid}`;
const tenantA = `fair-a-${run}`;
const tenantB = `fair-b-${run}`;
const BILL_RUN_SIZE = 10_000;

let dns: LocalDnsServer;
let ses: SesEmulator;
let sesClient: SESv2Client;
let queues: DispatchQueues;

beforeAll(async () => {
  dns = await startLocalDnsServer();
  ses = await startSesEmulator({ dns, dkimKeyBits: 1024, verificationRecheckMs: 100 });
  sesClient = new SESv2Client({ endpoint: ses.url, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  await sesClient.send(new CreateConfigurationSetCommand({ ConfigurationSetName: TEST_CONFIGURATION_SET }));
  const identity = await sesClient.send(
    new CreateEmailIdentityCommand({ EmailIdentity: TEST_PLATFORM_DOMAIN }),
  );
  for (const token of identity.DkimAttributes?.Tokens ?? []) {
    dns.setRecords(`${token}._domainkey.${TEST_PLATFORM_DOMAIN}`, 'CNAME', [`${token}.dkim.amazonses.com`]);
  }
  const verified = await sesClient.send(new GetEmailIdentityCommand({ EmailIdentity: TEST_PLATFORM_DOMAIN }));
  expect(verified.VerifiedForSendingStatus).toBe(true);

  const tenants = new DynamoTenantStore(documents, {
    tableName: testStack.table('tenants'),
    cacheTtlSeconds: 0,
  });
  for (const tenantId of [tenantA, tenantB]) {
    await tenants.put({
      tenantId,
      displayName: `Tenant ${tenantId}`,
      profileEmail: 'billing@tenant.example',
      environments: { 'developer-sandbox': { method: 'default' } },
    });
  }
  queues = await createDispatchQueues(`fair-${run}`);
});

afterAll(async () => {
  await deleteDispatchQueues(queues);
  sesClient.destroy();
  await ses.stop();
  await dns.stop();
  sqs.destroy();
});

const tenantOf = (message: { emailTags?: { Name?: string; Value?: string }[] }) =>
  message.emailTags?.find((tag) => tag.Name === 'tenant-id')?.Value;

describe('fair lanes', () => {
  it("sends tenant B's payment receipt before tenant A's 10,000-email bill run queued ahead of it is drained", async () => {
    // Tenant A's bill run, dispatched first, in chunks, onto the bulk lane.
    await seedBillRunDefinition(tenantA);
    const deps = dispatchDeps(queues, { ledger: new MemoryDispatchLedger(), maxItemsPerInvocation: 2_000 });
    const pending = [JSON.stringify(billRun(tenantA, `bill-run-${run}`, BILL_RUN_SIZE))];
    const continuations: string[] = [];
    const chunked = {
      ...deps,
      eventsQueue: {
        ...deps.eventsQueue,
        // A 10,000-invoice event is larger than an SQS message (1 MiB): the continuations are looped back here.
        continueLater: async (body: string) => {
          continuations.push(body);
        },
      },
    };
    let invocations = 0;
    for (let body = pending.shift(); body !== undefined; body = pending.shift() ?? continuations.shift()) {
      await dispatchEvents({ body, sqsMessageId: `a-${invocations++}` }, chunked);
    }
    expect(invocations).toBe(5);
    expect(await queueDepth(queues.sendBulk)).toBe(BILL_RUN_SIZE);

    // Then tenant B's transactional receipt.
    await definitionStore.putTemplate(fixture('payment-receipt.template.json', tenantB));
    await definitionStore.putDefinition(fixture('payment-processed.definition.json', tenantB));
    const receipt = await dispatchEvents(
      { body: JSON.stringify(fixture('payment-processed.event.json', tenantB)), sqsMessageId: `b-${run}` },
      dispatchDeps(queues),
    );
    expect(receipt).toMatchObject({ queued: 1 });
    expect(await queueDepth(queues.send)).toBe(1);

    // The sender with one event source mapping per lane, as the stack deploys it.
    const handler = createSendEmailHandler(
      testSenderDeps({ ses: sesClient, lanes: { transactional: queues.send, bulk: queues.sendBulk } }),
    );
    const lanes = [
      createSqsPoller(sqs, handler, { queueUrl: queues.sendBulk, queueArn: 'arn:aws:sqs:local:send-bulk' }),
      createSqsPoller(sqs, handler, { queueUrl: queues.send, queueArn: 'arn:aws:sqs:local:send' }),
    ];
    for (const lane of lanes) lane.start();
    const receiptSent = () => ses.store.messages.findIndex((message) => tenantOf(message) === tenantB);
    // Bounded: stop polling once B's receipt is in the SES store (or after a generous number of rounds).
    for (let round = 0; round < 1200 && receiptSent() < 0; round++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await Promise.all(lanes.map((lane) => lane.stop()));

    const position = receiptSent();
    expect(position).toBeGreaterThanOrEqual(0);
    const aSentBefore = ses.store.messages.slice(0, position).filter((m) => tenantOf(m) === tenantA).length;
    expect(aSentBefore).toBeLessThan(1_000);
    expect(await queueDepth(queues.sendBulk)).toBeGreaterThan(BILL_RUN_SIZE - 1_000);
  });
});
