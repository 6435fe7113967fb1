import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetEmailIdentityCommand } from '@aws-sdk/client-sesv2';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createPublisher } from '../client/publisher';
import { billRunCompleted, paymentProcessed } from '../client/publisher-events';
import { DynamoDefinitionStore } from '../lambdas/adapters/definition-store';
import { DynamoTenantStore } from '../lambdas/adapters/tenant-store';
import { MessageStatus } from '../lambdas/domain/message/message-status';
import { loadSenderConfig } from '../lambdas/shared/config';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/emulators/local-aws';
import { runFunctions } from '../local/twin/run-functions';
import type { BenchStack } from './bench-stack';
import { type CapacityTotals, startDynamoDbMeter } from './dynamodb-meter';
import { startMeteringProxy } from './metering-proxy';
import { type ReceiptRecord, type ReceiptStages, receiptStages } from './receipt-stages';

const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
const ENVIRONMENT = 'developer-sandbox';
const FIXTURES = join(__dirname, '..', 'test', 'fixtures', 'events');
/**
 * No send for this long ends a run: longer than the events queue's visibility timeout (6 × the dispatcher's
 * 30 s), so a dispatch invocation that timed out is retried before the bench gives up on the rest.
 */
const STALL_MS = 240_000;

export interface PipelineOptions {
  /** Invoices in tenant A's bill run (one email each, bulk lane). */
  readonly invoices: number;
  /** The SES emulator's max send rate. */
  readonly maxSendRate: number;
  /** Tenant B's payment receipts per second while the bill run drains (0: none). */
  readonly receiptsPerSecond: number;
  /** Charge DynamoDB capacity units through the metering proxy (it adds two reads per write, so latency grows). */
  readonly meterDynamoDb: boolean;
  /** Sample CPU and bytes every this many emails SES accepted. */
  readonly sampleEvery: number;
  readonly timeoutMs: number;
}

/** The process's counters when SES had accepted `emails` of the bill run. */
export interface PipelineSample {
  readonly emails: number;
  readonly atMs: number;
  /** Main thread: the emulators (SES, fauxqs, DNS), the event source pollers, the metering proxies. */
  readonly mainCpuMs: number;
  /** The whole process: the functions' worker threads on top of the main thread. */
  readonly processCpuMs: number;
  readonly journalBytes: number;
  /** `wchar` of /proc/self/io: every byte the process wrote (files and sockets). */
  readonly bytesWritten: number;
  readonly writeUnits: number;
}

export interface PipelineResult extends PipelineOptions {
  readonly samples: readonly PipelineSample[];
  readonly emails: number;
  readonly timedOut: boolean;
  /** Final status of tenant A's message records (a REJECTED one never reaches SES). */
  readonly statuses: Readonly<Record<string, number>>;
  /** Why records were rejected, with how many. */
  readonly rejections: Readonly<Record<string, number>>;
  readonly capacity: CapacityTotals | undefined;
  /** SQS requests in 64 KB chunks, as billed: by the functions, the publisher and SES's SNS publishes. */
  readonly requests: Readonly<Record<string, number>>;
  /** CPU of the functions' worker threads over the whole run (process minus main thread), ms. */
  readonly functionsCpuMs: number;
  /** SQS requests of the event source mappings' polling (the twin's poller, not Lambda's own pattern). */
  readonly pollingRequests: number;
  /** Status events put on the scope's bus, in 64 KB chunks per entry as EventBridge bills PutEvents. */
  readonly statusEvents: number;
  readonly invocations: number;
  readonly gbSeconds: number;
  /** Billed seconds of all invocations. */
  readonly invocationSeconds: number;
  /** Publish-to-SES-acceptance of each receipt, in ms. */
  readonly receiptLatencyMs: readonly number[];
  /** SES's timestamps (epoch ms) of the bill run's first and last accepted email: when it was draining. */
  readonly billRunDrained: { readonly from: number; readonly to: number };
  /** DEFERRED lines on the bill run's records' timelines: each a re-enqueue through its lane. */
  readonly billRunDeferrals: number;
  /** Where each receipt's latency went (see `receiptStages`). */
  readonly receiptStages: readonly ReceiptStages[];
  /** The machine's load average (1, 5, 15 min) when the run started: the twin shares the CPUs with it. */
  readonly loadAtStart: readonly number[];
  readonly functionErrors: number;
}

/** A fixture of test/fixtures/events for `tenantId` (and, for a definition, the dev scope's environment). */
const fixture = (name: string, tenantId: string) => {
  const content = JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as Record<string, unknown>;
  return { ...content, tenantId, ...('environment' in content ? { environment: ENVIRONMENT } : {}) };
};

const ms = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;
const wchar = () => Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? Number.NaN);

/**
 * The whole pipeline as the twin runs it: the dev scope's bundled functions (dispatcher, sender on both lanes,
 * feedback) in worker threads with their template's environment, batch sizes and concurrency, the SES emulator
 * persisting to a journal and publishing events to SNS, the publisher client splitting tenant A's bill run.
 * Every DynamoDB and SQS request of the functions goes through a metering proxy.
 */
export async function benchPipeline(stack: BenchStack, options: PipelineOptions): Promise<PipelineResult> {
  const direct = new DynamoDBClient({ ...aws, endpoint: stack.dynamodbEndpoint });
  const documents = DynamoDBDocumentClient.from(direct);
  const directSqs = new SQSClient({ ...aws, endpoint: stack.sqsEndpoint });
  const requests: Record<string, number> = {};
  let pollingRequests = 0;
  const chunks = (exchange: { body: Buffer; response: Buffer }) =>
    Math.max(1, Math.ceil(Math.max(exchange.body.length, exchange.response.length) / 65_536));
  const sqsMeter = await startMeteringProxy(stack.sqsEndpoint, {
    after: (exchange) => {
      const name = exchange.target.replace(/^AmazonSQS\./, 'sqs:').replace(/^Publish$/, 'sns:Publish');
      requests[name] = (requests[name] ?? 0) + chunks(exchange);
    },
  });
  const pollMeter = await startMeteringProxy(stack.sqsEndpoint, {
    after: (exchange) => {
      pollingRequests += chunks(exchange);
    },
  });
  let statusEvents = 0;
  // Only this run's tenants: other sections of the same bench process leave records in the same table, and the
  // status-event stream publishes theirs too.
  const runTenants = new Set<string>();
  const eventsMeter = await startMeteringProxy(stack.eventBridgeEndpoint, {
    after: (exchange) => {
      if (exchange.target !== 'AWSEvents.PutEvents' || exchange.status !== 200) return;
      const { Entries = [] } = JSON.parse(exchange.body.toString()) as { Entries?: { Detail?: string }[] };
      for (const entry of Entries) {
        const { tenantId } = JSON.parse(entry.Detail ?? '{}') as { tenantId?: string };
        if (tenantId === undefined || !runTenants.has(tenantId)) continue;
        statusEvents += Math.max(1, Math.ceil(JSON.stringify(entry).length / 65_536));
      }
    },
  });
  const dynamoMeter = options.meterDynamoDb
    ? await startDynamoDbMeter(stack.dynamodbEndpoint, direct)
    : undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'tenant-mail-bench-ses-'));
  const {
    ses,
    client,
    stop: stopSes,
  } = await stack.startSes(options.maxSendRate, {
    snsEndpoint: sqsMeter.url,
    dataDir,
  });
  const pollSqs = new SQSClient({ ...aws, endpoint: pollMeter.url });
  const publishSqs = new SQSClient({ ...aws, endpoint: sqsMeter.url });
  let invocations = 0;
  let gbSeconds = 0;
  let invocationSeconds = 0;
  let functionErrors = 0;
  // The SDK's SQS client sends to the host of a queue URL when no explicit endpoint is configured (an
  // AWS_ENDPOINT_URL_SQS does not count), so the functions must see queue URLs on the meter's host.
  const throughMeter = (value: unknown): unknown =>
    typeof value === 'string'
      ? value.replaceAll(stack.sqsEndpoint.replace(/\/$/, ''), sqsMeter.url)
      : Array.isArray(value)
        ? value.map(throughMeter)
        : value && typeof value === 'object'
          ? Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, throughMeter(inner)]))
          : value;
  const scope = {
    resources: stack.provisioned.resources,
    resolve: (value: unknown) => throughMeter(stack.provisioned.resolve(value)),
  };
  const functions = runFunctions(stack.templates, stack.assemblyDirectory, scope, pollSqs, {
    endpointEnv: {
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoMeter?.url ?? stack.dynamodbEndpoint,
      AWS_ENDPOINT_URL_SQS: sqsMeter.url,
      AWS_ENDPOINT_URL_SNS: sqsMeter.url,
      AWS_ENDPOINT_URL_SESV2: ses.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventsMeter.url,
      // Count the simulator's mail toward reputation as production counts real mail: its writes are part of the cost.
      REPUTATION_COUNT_SIMULATOR: 'true',
      POWERTOOLS_LOG_LEVEL: 'WARN',
    },
    onError: () => {
      functionErrors += 1;
    },
    onInvoked: ({ memoryMb, ms: duration }) => {
      invocations += 1;
      gbSeconds += (memoryMb / 1024) * (Math.ceil(duration) / 1000);
      invocationSeconds += Math.ceil(duration) / 1000;
    },
  });
  const queues = [...stack.provisioned.resources.values()].filter((r) => r.type === 'AWS::SQS::Queue');
  const queueUrl = (name: string) => {
    const queue = queues.find((r) => r.attributes.QueueName === `tenant-mail-dev-${name}`);
    if (!queue) throw new Error(`no queue tenant-mail-dev-${name}`);
    return queue.ref;
  };
  try {
    const config = loadSenderConfig(stack.senderEnvironment());
    const domain = config.platformFromAddress.split('@')[1] ?? '';
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const identity = await client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));
      if (identity.VerifiedForSendingStatus) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    /** Every message record of `tenantId` (a filtered scan: the bench's tables are small). */
    const recordsOf = async (tenantId: string) => {
      const items: Record<string, unknown>[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await documents.send(
          new ScanCommand({
            TableName: config.tables.messages,
            FilterExpression: 'tenantId = :tenant',
            ExpressionAttributeValues: { ':tenant': tenantId },
            ExclusiveStartKey: startKey,
          }),
        );
        items.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return items;
    };
    const run = Date.now().toString(36);
    const [tenantA, tenantB] = [`bench-bill-${run}`, `bench-receipts-${run}`];
    runTenants.add(tenantA).add(tenantB);
    const tenants = new DynamoTenantStore(documents, { tableName: config.tables.tenants });
    const definitions = new DynamoDefinitionStore({
      client: documents,
      tableName: 'tenant-mail-dev-definitions',
    });
    for (const tenantId of [tenantA, tenantB]) {
      await tenants.put({
        tenantId,
        displayName: `Bench ${tenantId}`,
        profileEmail: 'billing@bench.example',
        environments: { [ENVIRONMENT]: { method: 'default' } },
      });
    }
    await definitions.putTemplate(fixture('invoice-posted.template.json', tenantA) as never);
    await definitions.putDefinition(fixture('bill-run-completed.definition.json', tenantA) as never);
    await definitions.putTemplate(fixture('payment-receipt.template.json', tenantB) as never);
    await definitions.putDefinition(fixture('payment-processed.definition.json', tenantB) as never);

    const publisher = createPublisher({ sqs: publishSqs, queueUrl: queueUrl('events') });
    const source = 'https://billing.platform.example/bench';
    const invoices = Array.from({ length: options.invoices }, (_, i) => ({
      invoiceId: `inv-${run}-${i}`,
      invoiceNumber: `INV-${String(i + 1).padStart(6, '0')}`,
      accountId: `A-${i}`,
      invoiceDate: '2026-12-01',
      dueDate: '2026-12-31',
      currency: 'EUR',
      amount: '120.00',
      billTo: { name: `Customer ${i + 1}`, email: `success+inv-${i}@simulator.amazonses.com` },
    }));
    // Read SES's store incrementally: a full scan every poll would itself grow with the store.
    let scanned = 0;
    let billRunSent = 0;
    const billRunDrained = { from: Number.NaN, to: Number.NaN };
    const receiptTimes: { subject: string; at: number }[] = [];
    const receiptAcceptedAt = new Map<string, number>();
    const scan = () => {
      const { messages } = ses.store;
      for (; scanned < messages.length; scanned += 1) {
        const m = messages[scanned];
        if (m?.kind !== 'email') continue;
        const tenantId = m.emailTags.find((tag) => tag.Name === 'tenant-id')?.Value;
        if (tenantId === tenantA) {
          billRunSent += 1;
          if (Number.isNaN(billRunDrained.from)) billRunDrained.from = Date.parse(m.timestamp);
          billRunDrained.to = Date.parse(m.timestamp);
        } else if (tenantId === tenantB) {
          receiptTimes.push({ subject: m.subject, at: Date.parse(m.timestamp) });
          receiptAcceptedAt.set(m.messageId, Date.parse(m.timestamp));
        }
      }
      return billRunSent;
    };

    const samples: PipelineSample[] = [];
    const loadAtStart = loadavg();
    const started = performance.now();
    const sample = (emails: number): PipelineSample => ({
      emails,
      atMs: performance.now() - started,
      mainCpuMs: ms(process.threadCpuUsage()),
      processCpuMs: ms(process.cpuUsage()),
      journalBytes: statSync(ses.store.journalPath ?? dataDir).size,
      bytesWritten: wchar(),
      writeUnits: dynamoMeter?.totals().writeUnits ?? 0,
    });
    samples.push(sample(0));
    functions.start();
    const published = await publisher.publish([
      billRunCompleted({ tenantId: tenantA, environment: ENVIRONMENT, source }, {
        billRunId: `BR-${run}`,
        targetDate: '2026-12-01',
        invoices,
      } as never),
    ]);
    if (published.some((result) => result.status !== 'accepted'))
      throw new Error(`bill run not accepted: ${JSON.stringify(published)}`);

    const receiptsSent = new Map<string, number>();
    let timedOut = false;
    let counted = 0;
    let progressAt = performance.now();
    let nextReceipt = performance.now();
    let receiptIndex = 0;
    while (counted < options.invoices) {
      if (performance.now() - started > options.timeoutMs) {
        timedOut = true;
        break;
      }
      if (options.receiptsPerSecond > 0 && performance.now() >= nextReceipt) {
        nextReceipt += 1000 / options.receiptsPerSecond;
        const paymentNumber = `P-${run}-${receiptIndex++}`;
        receiptsSent.set(paymentNumber, Date.now());
        void publisher.publish([
          paymentProcessed({ tenantId: tenantB, environment: ENVIRONMENT, source }, {
            paymentId: paymentNumber,
            paymentNumber,
            accountId: 'A-receipts',
            effectiveDate: '2026-12-01',
            currency: 'EUR',
            amount: '120.00',
            billTo: { name: 'Receipts Customer', email: `success+${paymentNumber}@simulator.amazonses.com` },
          } as never),
        ]);
      }
      const before = counted;
      counted = scan();
      if (counted !== before) progressAt = performance.now();
      // Records the pipeline rejects (e.g. a template render over its limit) never reach SES: stop waiting once
      // nothing moved for STALL_MS after the first send and report the final statuses instead.
      if (counted > 0 && performance.now() - progressAt > STALL_MS) break;
      while (
        counted >= samples.length * options.sampleEvery &&
        samples.length * options.sampleEvery <= options.invoices
      )
        samples.push(sample(samples.length * options.sampleEvery));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Let the feedback of the last sends land, and the receipts still queued go out.
    for (let quiet = 0, waited = 0; quiet < 3 && waited < 120; waited += 1) {
      const depth = await Promise.all(
        ['events', 'send', 'send-bulk', 'feedback'].map(async (name) => {
          const { Attributes = {} } = await directSqs.send(
            new GetQueueAttributesCommand({ QueueUrl: queueUrl(name), AttributeNames: ['All'] }),
          );
          return (
            [
              'ApproximateNumberOfMessages',
              'ApproximateNumberOfMessagesNotVisible',
              'ApproximateNumberOfMessagesDelayed',
            ] as const
          )
            .map((key) => Number(Attributes[key] ?? 0))
            .reduce((a, b) => a + b, 0);
        }),
      );
      quiet = depth.every((n) => n === 0) ? quiet + 1 : 0;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    scan();
    if (samples.at(-1)?.emails !== counted) samples.push(sample(counted));
    const statuses: Record<string, number> = {};
    const rejections: Record<string, number> = {};
    let billRunDeferrals = 0;
    for (const item of await recordsOf(tenantA)) {
      const timeline = (Array.isArray(item.timeline) ? item.timeline : []) as { status?: string }[];
      billRunDeferrals += timeline.filter((line) => line.status === MessageStatus.DEFERRED).length;
      const status = String(item.status);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === 'REJECTED') {
        const reason = String(item.reason ?? item.reasonCode).replace(/, line:\d+, col:\d+/, '');
        rejections[reason] = (rejections[reason] ?? 0) + 1;
      }
    }
    const stages =
      receiptsSent.size > 0
        ? receiptStages((await recordsOf(tenantB)) as ReceiptRecord[], receiptsSent, receiptAcceptedAt)
        : [];
    const receiptLatencyMs = receiptTimes.flatMap(({ subject, at }) => {
      const sentAt = receiptsSent.get(/Payment (\S+) received/.exec(subject)?.[1] ?? '');
      return sentAt === undefined ? [] : [at - sentAt];
    });
    return {
      ...options,
      samples,
      emails: billRunSent + receiptTimes.length,
      timedOut,
      statuses,
      rejections,
      capacity: dynamoMeter?.totals(),
      requests: { ...requests },
      pollingRequests,
      statusEvents,
      invocations,
      gbSeconds,
      invocationSeconds,
      functionsCpuMs:
        ms(process.cpuUsage()) -
        ms(process.threadCpuUsage()) -
        (samples[0] ? samples[0].processCpuMs - samples[0].mainCpuMs : 0),
      receiptLatencyMs,
      billRunDrained,
      billRunDeferrals,
      receiptStages: stages,
      loadAtStart,
      functionErrors,
    };
  } finally {
    await functions.stop();
    await stopSes();
    await Promise.all([sqsMeter.stop(), pollMeter.stop(), eventsMeter.stop(), dynamoMeter?.stop()]);
    for (const c of [direct, directSqs, pollSqs, publishSqs]) c.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
