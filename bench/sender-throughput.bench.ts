import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { DynamoTenantStore } from '../lambdas/adapters/tenant-store';
import type { BenchStack } from './bench-stack';
import type { BenchSenderModule } from './load-bench-sender';
import { fmt, markdownTable, percentile } from './stats';

export interface SenderThroughputOptions {
  readonly emails: number;
  readonly concurrencies: readonly number[];
  /** Per run; a run that hits it is reported as incomplete. */
  readonly timeoutMs: number;
}

export interface SenderThroughputRow {
  readonly concurrency: number;
  readonly emails: number;
  readonly sent: number;
  readonly seconds: number;
  readonly emailsPerSecond: number;
  readonly batchP50Ms: number;
  readonly batchP95Ms: number;
  readonly batches: number;
  readonly writesPerEmail: number;
  readonly readsPerEmail: number;
  readonly sesCallsPerEmail: number;
  readonly operations: Record<string, number>;
  readonly meanLatencyMs: Record<string, number>;
  readonly timedOut: boolean;
}

/** The queue URL and ARN of one of the scope's queues, from what was provisioned. */
export function queueOf(stack: BenchStack, url: string): { queueUrl: string; queueArn: string } {
  const queue = [...stack.provisioned.resources.values()].find(
    (resource) => resource.type === 'AWS::SQS::Queue' && resource.ref === url,
  );
  const queueArn = queue?.attributes.Arn;
  if (!queueArn) throw new Error(`queue ${url} was not provisioned`);
  return { queueUrl: url, queueArn };
}

/**
 * Sender throughput and cost per email: N composed emails (default method, one recipient) through the real
 * sender handler, polled as the event source mapping does with batch size 10, at each concurrency. SES is the
 * emulator with a send rate high enough never to throttle, so this measures our path, not SES's limit.
 */
export async function benchSenderThroughput(
  stack: BenchStack,
  bench: BenchSenderModule,
  options: SenderThroughputOptions,
): Promise<SenderThroughputRow[]> {
  const { ses, stop } = await stack.startSes(1_000_000);
  const sender = bench.benchSender({
    dynamodbEndpoint: stack.dynamodbEndpoint,
    sqsEndpoint: stack.sqsEndpoint,
    sesEndpoint: ses.url,
    environment: stack.senderEnvironment(),
  });
  try {
    const domain = sender.config.platformFromAddress.split('@')[1] ?? '';
    await bench.waitForVerifiedIdentity(sender.ses, domain);
    const run = Date.now().toString(36);
    const tenantId = `bench-${run}`;
    await new DynamoTenantStore(sender.documents, { tableName: sender.config.tables.tenants }).put({
      tenantId,
      displayName: 'Bench Billing',
      profileEmail: 'billing@bench.example',
      environments: { 'developer-sandbox': { method: 'default' } },
    });
    const queue = queueOf(stack, sender.config.sendQueueUrl);
    await sender.sqs.send(new PurgeQueueCommand({ QueueUrl: queue.queueUrl }));

    const rows: SenderThroughputRow[] = [];
    for (const concurrency of options.concurrencies) {
      await bench.publishEmails(sender.sqs, queue.queueUrl, options.emails, (index) => ({
        tenantId,
        environment: 'developer-sandbox',
        to: [`success+${index}@simulator.amazonses.com`],
        subject: `Invoice INV-${index} posted`,
        html: `<p>Your invoice <b>INV-${index}</b> of 42.00 EUR is ready.</p>`,
        text: `Your invoice INV-${index} of 42.00 EUR is ready.`,
        idempotencyKey: `bench-${run}-c${concurrency}-${index}`,
      }));
      const sentBefore = ses.store.messages.length;
      sender.counter.reset();
      const timed = bench.timedHandler(sender.handler);
      const { elapsedMs, timedOut } = await bench.pollUntil(sender.sqs, timed.handler, {
        ...queue,
        concurrency,
        timeoutMs: options.timeoutMs,
        done: () => timed.settledRecords() >= options.emails,
      });
      const sent = ses.store.messages.length - sentBefore;
      const emails = Math.max(1, timed.settledRecords());
      rows.push({
        concurrency,
        emails: options.emails,
        sent,
        seconds: elapsedMs / 1000,
        emailsPerSecond: sent / (elapsedMs / 1000),
        batchP50Ms: percentile(timed.batchMs, 50),
        batchP95Ms: percentile(timed.batchMs, 95),
        batches: timed.batchMs.length,
        writesPerEmail: sender.counter.dynamoWrites() / emails,
        readsPerEmail: sender.counter.dynamoReads() / emails,
        sesCallsPerEmail: sender.counter.total('ses') / emails,
        operations: sender.counter.snapshot(),
        meanLatencyMs: sender.counter.meanLatencyMs(),
        timedOut,
      });
      if (timedOut) await sender.sqs.send(new PurgeQueueCommand({ QueueUrl: queue.queueUrl }));
    }
    return rows;
  } finally {
    sender.destroy();
    await stop();
  }
}

/** The markdown section of this benchmark. */
export function senderThroughputReport(rows: readonly SenderThroughputRow[]): string {
  const table = markdownTable(
    [
      'concurrency',
      'emails sent',
      'seconds',
      'emails/s',
      'batch p50 ms',
      'batch p95 ms',
      'DynamoDB writes/email',
      'DynamoDB reads/email',
      'SES calls/email',
    ],
    rows.map((row) => [
      row.concurrency,
      `${fmt(row.sent)} / ${fmt(row.emails)}${row.timedOut ? ' (timed out)' : ''}`,
      fmt(row.seconds, 1),
      fmt(row.emailsPerSecond, 1),
      fmt(row.batchP50Ms, 0),
      fmt(row.batchP95Ms, 0),
      fmt(row.writesPerEmail, 2),
      fmt(row.readsPerEmail, 2),
      fmt(row.sesCallsPerEmail, 2),
    ]),
  );
  const operations = rows
    .map(
      (row) =>
        `- concurrency ${row.concurrency}: ${Object.entries(row.operations)
          .map(
            ([operation, count]) =>
              `${operation} ${fmt(count)} (mean ${fmt(row.meanLatencyMs[operation] ?? Number.NaN, 1)} ms)`,
          )
          .join(', ')}`,
    )
    .join('\n');
  return `${table}\n\nRequests by operation (whole run) with their mean client-side latency:\n\n${operations}`;
}
