import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { DynamoTenantStore } from '../lambdas/adapters/tenant-store';
import type { BenchStack } from './bench-stack';
import type { BenchSenderModule } from './load-bench-sender';
import { queueOf } from './sender-throughput.bench';
import { fmt, markdownTable } from './stats';

export interface DrainRateOptions {
  readonly emails: number;
  /** The SES emulator's MaxSendRate (recipients per second). */
  readonly maxSendRate: number;
  /** Event source mapping concurrency. */
  readonly concurrency: number;
  readonly timeoutMs: number;
}

export interface DrainRateResult extends DrainRateOptions {
  readonly sent: number;
  /** From the first to the last SES acceptance. */
  readonly sendingSeconds: number;
  readonly sentPerSecond: number;
  /** Most SES acceptances in any 1-second window (the emulator's own window is sliding, per recipient). */
  readonly maxInAnySecond: number;
  readonly sendEmailCalls: number;
  /** SendEmail calls SES refused with TooManyRequestsException (each one became a deferral). */
  readonly throttled: number;
  /** Messages re-enqueued with a delay and recorded DEFERRED (each one SendMessageBatch of one entry). */
  readonly deferrals: number;
  readonly timedOut: boolean;
}

/**
 * Drain rate against the SES max send rate: `emails` composed emails queued at once, the SES emulator limited to
 * `maxSendRate`, the sender polled at the stack's concurrency. Reports the achieved rate from SES's side, the peak
 * second, and how often the sender hit the limit and deferred (re-enqueued with a delay).
 */
export async function benchDrainRate(
  stack: BenchStack,
  bench: BenchSenderModule,
  options: DrainRateOptions,
): Promise<DrainRateResult> {
  const { ses, stop } = await stack.startSes(options.maxSendRate);
  const sender = bench.benchSender({
    dynamodbEndpoint: stack.dynamodbEndpoint,
    sqsEndpoint: stack.sqsEndpoint,
    sesEndpoint: ses.url,
    environment: stack.senderEnvironment(),
  });
  try {
    await bench.waitForVerifiedIdentity(sender.ses, sender.config.platformFromAddress.split('@')[1] ?? '');
    const run = Date.now().toString(36);
    const tenantId = `bench-drain-${run}`;
    await new DynamoTenantStore(sender.documents, { tableName: sender.config.tables.tenants }).put({
      tenantId,
      displayName: 'Bench Drain',
      profileEmail: 'billing@bench.example',
      environments: { 'developer-sandbox': { method: 'default' } },
    });
    const queue = queueOf(stack, sender.config.sendQueueUrl);
    await sender.sqs.send(new PurgeQueueCommand({ QueueUrl: queue.queueUrl }));
    await bench.publishEmails(sender.sqs, queue.queueUrl, options.emails, (index) => ({
      tenantId,
      environment: 'developer-sandbox',
      to: [`success+drain-${index}@simulator.amazonses.com`],
      subject: `Bill run completed: statement ${index}`,
      text: `Your statement ${index} is ready.`,
      idempotencyKey: `drain-${run}-${index}`,
    }));
    sender.counter.reset();
    const before = ses.store.messages.length;
    const { timedOut } = await bench.pollUntil(sender.sqs, sender.handler, {
      ...queue,
      concurrency: options.concurrency,
      timeoutMs: options.timeoutMs,
      done: () => ses.store.messages.length - before >= options.emails,
    });
    const times = ses.store.messages
      .slice(before)
      .map((message) => Date.parse(message.timestamp))
      .sort((a, b) => a - b);
    const first = times[0] ?? 0;
    const last = times.at(-1) ?? 0;
    let maxInAnySecond = 0;
    let windowStart = 0;
    for (let i = 0; i < times.length; i += 1) {
      while ((times[i] ?? 0) - (times[windowStart] ?? 0) >= 1000) windowStart += 1;
      maxInAnySecond = Math.max(maxInAnySecond, i - windowStart + 1);
    }
    const sendingSeconds = (last - first) / 1000;
    const sendEmailCalls = sender.counter.total('ses', (operation) => operation === 'SendEmail');
    if (timedOut) await sender.sqs.send(new PurgeQueueCommand({ QueueUrl: queue.queueUrl }));
    return {
      ...options,
      sent: times.length,
      sendingSeconds,
      // n acceptances span n-1 intervals.
      sentPerSecond: times.length > 1 ? (times.length - 1) / sendingSeconds : Number.NaN,
      maxInAnySecond,
      sendEmailCalls,
      throttled: sendEmailCalls - times.length,
      deferrals: sender.counter.total('sqs', (operation) => operation === 'SendMessageBatch'),
      timedOut,
    };
  } finally {
    sender.destroy();
    await stop();
  }
}

/** The markdown section of this benchmark. */
export function drainRateReport(result: DrainRateResult): string {
  return markdownTable(
    [
      'emails',
      'SES max send rate',
      'concurrency',
      'sent',
      'sending seconds',
      'sent/s',
      '% of the rate',
      'max in any 1 s',
      'SendEmail HTTP requests',
      'per email',
      'throttled by SES',
      'DEFERRED (re-enqueued)',
    ],
    [
      [
        fmt(result.emails),
        `${result.maxSendRate}/s`,
        result.concurrency,
        `${fmt(result.sent)}${result.timedOut ? ' (timed out)' : ''}`,
        fmt(result.sendingSeconds, 1),
        fmt(result.sentPerSecond, 1),
        `${fmt((100 * result.sentPerSecond) / result.maxSendRate, 1)} %`,
        result.maxInAnySecond,
        fmt(result.sendEmailCalls),
        fmt(result.sendEmailCalls / Math.max(1, result.sent), 2),
        fmt(result.throttled),
        fmt(result.deferrals),
      ],
    ],
  );
}
