import type { WriteTally } from './dynamodb-meter';
import type { PipelineResult } from './pipeline.bench';
import { receiptStagesReport } from './receipt-stages';
import { fmt, markdownTable, median, percentile } from './stats';

/**
 * On-demand prices in us-east-1 (USD) from the AWS pricing pages as last revised before 2026-12-01: DynamoDB
 * on-demand after the November 2024 cut (https://aws.amazon.com/dynamodb/pricing/on-demand/), SQS standard
 * queues per 64 KB chunk (https://aws.amazon.com/sqs/pricing/), SNS publishes
 * (https://aws.amazon.com/sns/pricing/), EventBridge custom events per 64 KB chunk
 * (https://aws.amazon.com/eventbridge/pricing/), Lambda on arm64 (https://aws.amazon.com/lambda/pricing/). Free tiers
 * are left out; SES itself ($0.10 per 1,000 emails), KMS, CloudWatch Logs and data transfer too.
 */
export const PRICES = {
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
  sqsRequest: 0.4 / 1e6,
  snsPublish: 0.5 / 1e6,
  eventBridgeEvent: 1.0 / 1e6,
  lambdaRequest: 0.2 / 1e6,
  lambdaGbSecondArm: 0.0000133334,
} as const;

export const TARGETS = { writeUnitsPerEmail: 8, costPer1000: 0.005, receiptP95Ms: 1000 } as const;

/** Per slice of `sampleEvery` emails: rate, CPU and bytes per email, to show whether cost grows with the store. */
export function linearityReport(result: PipelineResult): string {
  const rows: (string | number)[][] = [];
  const { samples } = result;
  for (let i = 1; i < samples.length; i += 1) {
    const [from, to] = [samples[i - 1], samples[i]];
    if (!from || !to) continue;
    const emails = to.emails - from.emails;
    if (emails <= 0) continue;
    const main = (to.mainCpuMs - from.mainCpuMs) / emails;
    const all = (to.processCpuMs - from.processCpuMs) / emails;
    rows.push([
      `${fmt(from.emails)}–${fmt(to.emails)}`,
      fmt((to.atMs - from.atMs) / 1000, 1),
      fmt((1000 * emails) / (to.atMs - from.atMs), 1),
      fmt(main, 2),
      fmt(all - main, 2),
      fmt((to.journalBytes - from.journalBytes) / emails),
      fmt((to.bytesWritten - from.bytesWritten) / emails),
      ...(result.meterDynamoDb ? [fmt((to.writeUnits - from.writeUnits) / emails, 2)] : []),
    ]);
  }
  const columns = [
    'bill-run emails',
    'seconds',
    'emails/s',
    'emulators CPU ms/email (main thread)',
    'functions CPU ms/email (worker threads)',
    'SES journal bytes/email',
    'bytes written/email (process)',
    ...(result.meterDynamoDb ? ['WRU/email'] : []),
  ];
  const [first, last] = [rows[0], rows.at(-1)];
  const ratio = (column: number) =>
    first && last
      ? fmt(
          Number(String(last[column]).replace(/,/g, '')) / Number(String(first[column]).replace(/,/g, '')),
          2,
        )
      : 'n/a';
  return [
    markdownTable(columns, rows),
    '',
    `Final statuses of the bill run's records: ${outcome(result)}.`,
    `Last slice ÷ first: emulators CPU ${ratio(3)}×, functions CPU ${ratio(4)}×, SES journal bytes ${ratio(5)}×, bytes written ${ratio(6)}×. ${fmt(result.emails)} emails accepted${result.timedOut ? ' (timed out)' : ''}, ${result.functionErrors} failed invocations.`,
  ].join('\n');
}

const outcome = (result: PipelineResult) =>
  [
    Object.entries(result.statuses)
      .map(([status, n]) => `${status} ${fmt(n)}`)
      .join(', '),
    ...Object.entries(result.rejections).map(([reason, n]) => `${fmt(n)} rejected: ${reason}`),
  ].join('; ');

/** Write and read units, requests and Lambda time per email, priced per 1,000 emails. */
export function costReport(result: PipelineResult): string {
  const emails = Math.max(1, result.emails);
  const capacity = result.capacity;
  const sqs = Object.entries(result.requests)
    .filter(([name]) => name.startsWith('sqs:'))
    .reduce((sum, [, n]) => sum + n, 0);
  const sns = result.requests['sns:Publish'] ?? 0;
  const lines: [string, number, number][] = [
    ['DynamoDB write request units', (capacity?.writeUnits ?? Number.NaN) / emails, PRICES.dynamoWriteUnit],
    ['DynamoDB read request units', (capacity?.readUnits ?? Number.NaN) / emails, PRICES.dynamoReadUnit],
    ['SQS requests (functions, publisher; 64 KB chunks)', sqs / emails, PRICES.sqsRequest],
    [
      'SQS requests of the event source mappings (twin poller)',
      result.pollingRequests / emails,
      PRICES.sqsRequest,
    ],
    ['SNS publishes (SES events)', sns / emails, PRICES.snsPublish],
    [
      'EventBridge events (status events on the scope bus)',
      result.statusEvents / emails,
      PRICES.eventBridgeEvent,
    ],
    ['Lambda requests (SQS-triggered invocations)', result.invocations / emails, PRICES.lambdaRequest],
    ['Lambda GB-s (arm64, billed duration × memory)', result.gbSeconds / emails, PRICES.lambdaGbSecondArm],
  ];
  // Billed duration on the emulators includes waiting for them (DynamoDB Local answers in tens of ms, DynamoDB
  // in single digits): the same cost with the functions' CPU time as their duration is the lower bound.
  const memoryGb = result.invocations > 0 ? result.gbSeconds / result.invocationSeconds : 0;
  const cpuBound = (memoryGb * result.functionsCpuMs) / 1000 / emails;
  const rows = lines.map(([what, perEmail, price]) => [
    what,
    fmt(perEmail, 3),
    `$${(perEmail * price * 1000).toFixed(6)}`,
  ]);
  const total = lines.reduce(
    (sum, [, perEmail, price]) => sum + (Number.isFinite(perEmail) ? perEmail * price * 1000 : 0),
    0,
  );
  rows.push(['**total per 1,000 emails**', '', `**$${total.toFixed(5)}**`]);
  const lowerTotal = total + (cpuBound - result.gbSeconds / emails) * PRICES.lambdaGbSecondArm * 1000;
  rows.push([
    "total with Lambda GB-s from the functions' CPU time instead",
    fmt(cpuBound, 3),
    `$${lowerTotal.toFixed(5)}`,
  ]);
  const byTable = Object.entries(capacity?.byTable ?? {})
    .sort(([, a], [, b]) => b - a)
    .map(([table, units]) => `${table} ${fmt(units / emails, 2)}`)
    .join(', ');
  return [
    markdownTable(['per email', 'count', 'cost per 1,000 emails'], rows),
    '',
    `Write units per email: **${fmt((capacity?.writeUnits ?? Number.NaN) / emails, 2)}** (target ≤ ${TARGETS.writeUnitsPerEmail}, ratio ${fmt((capacity?.writeUnits ?? Number.NaN) / emails / TARGETS.writeUnitsPerEmail, 2)}); by table: ${byTable || 'n/a'}; ${fmt(capacity?.writeRequests ?? 0)} write requests, ${fmt(capacity?.conditionFailures ?? 0)} failed conditions.`,
    `Write requests per email by operation (failed conditions): ${Object.entries(
      capacity?.requestsByOperation ?? {},
    )
      .sort(([, a], [, b]) => b - a)
      .map(
        ([key, n]) =>
          `${key} ${fmt(n / emails, 2)} (${fmt((capacity?.failuresByOperation[key] ?? 0) / emails, 2)})`,
      )
      .join(', ')}.`,
    '',
    writeBreakdown(capacity?.byWrite ?? {}, emails),
    '',
    `Infra cost per 1,000 emails excluding SES: **$${total.toFixed(5)}** (target ≤ $${TARGETS.costPer1000}, ratio ${fmt(total / TARGETS.costPer1000, 2)}). SQS by operation: ${Object.entries(
      result.requests,
    )
      .map(([name, n]) => `${name} ${fmt(n / emails, 2)}`)
      .join(', ')}.`,
  ].join('\n');
}

/** Where the write units go: each kind of item write, per email, largest first. */
function writeBreakdown(byWrite: Readonly<Record<string, WriteTally>>, emails: number): string {
  const rows = Object.entries(byWrite)
    .sort(([, a], [, b]) => b.table + b.indexes - (a.table + a.indexes))
    .map(([what, t]) => [
      `\`${what}\``,
      fmt(t.count / emails, 2),
      fmt(t.table / emails, 2),
      fmt(t.indexes / emails, 2),
      fmt((t.table + t.indexes) / emails, 2),
      fmt(t.maxBytes),
    ]);
  return markdownTable(
    ['item write', 'per email', 'table WRU/email', 'index WRU/email', 'WRU/email', 'largest item (bytes)'],
    rows,
  );
}

/**
 * Publish-to-acceptance latency of tenant B's receipts: all of them, and those published while the bill run
 * drained (from its first to its last email SES accepted), whose stages are broken down below.
 */
export function latencyReport(result: PipelineResult): string {
  const { from, to } = result.billRunDrained;
  const draining = result.receiptStages.filter(
    (stage) => stage.publishedAtMs >= from && stage.publishedAtMs <= to,
  );
  const row = (what: string, samples: readonly number[]) => {
    const p95 = percentile(samples, 95);
    return [
      `${fmt(result.invoices)} invoices`,
      `${result.maxSendRate}/s`,
      `${what}: ${fmt(samples.length)} at ${result.receiptsPerSecond}/s`,
      fmt(median(samples)),
      fmt(p95),
      fmt(Math.max(...samples)),
      fmt(p95 / TARGETS.receiptP95Ms, 2),
    ];
  };
  return [
    markdownTable(
      [
        'bill run (tenant A)',
        'SES max send rate',
        'receipts (tenant B)',
        'p50 ms',
        'p95 ms',
        'max ms',
        'p95 ÷ 1 s target',
      ],
      [
        row('all', result.receiptLatencyMs),
        row(
          'while it drained',
          draining.map((s) => s.publishToQueuedMs + s.queuedToClaimMs + s.claimToAcceptedMs),
        ),
      ],
    ),
    '',
    `${fmt(result.emails)} emails accepted${result.timedOut ? ' (timed out)' : ''}, ${result.functionErrors} failed invocations; bill run records: ${outcome(result)}; it drained in ${fmt((to - from) / 1000, 0)} s (SES's first to last acceptance, ${fmt(result.invoices / ((to - from) / 1000), 1)}/s), with ${fmt(result.billRunDeferrals)} deferrals through its lane (${fmt(result.billRunDeferrals / result.invoices, 2)} per email).`,
    '',
    receiptStagesReport(draining),
    '',
    `Load average (1, 5, 15 min) as this run started: ${result.loadAtStart.map((value) => fmt(value, 2)).join(', ')}.`,
  ].join('\n');
}
