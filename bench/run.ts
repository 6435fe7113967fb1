import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';

// The sender logs every record at INFO in Lambda; here that would measure the terminal, not the sender.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';

import { type BenchStack, startBenchStack } from './bench-stack';
import { benchBundleSizes, bundleSizeReport, nodeBaselineMs } from './bundle-size.bench';
import { benchDrainRate, drainRateReport } from './drain-rate.bench';
import { loadBenchSender } from './load-bench-sender';
import { benchPipeline } from './pipeline.bench';
import { costReport, latencyReport, linearityReport } from './pipeline-report';
import { benchRelayRate, relayRateReport } from './relay-rate.bench';
import { benchSenderCpu, senderCpuReport } from './sender-cpu.bench';
import { benchSenderThroughput, senderThroughputReport } from './sender-throughput.bench';
import { fmt } from './stats';

const USAGE = `Usage: npm run bench -- [--only sender,drain,bundles,cpu,pipeline,receipts,relay] [--long] [--emails N] [--drain-emails N]
                           [--drain-rate R] [--samples N] [--invoices N] [--pipeline-rate R]
                           [--relay-emails N]

Runs the benchmarks on the local emulators (DynamoDB Local, fauxqs, the SES emulator, local DNS, all started here on
127.0.0.1) and prints markdown for docs/benchmarks.md.
  --only          which benchmarks (default all three)
  --emails        emails per concurrency in the sender throughput run (default 500)
  --drain-emails  emails of each drain-rate run, paired with --drain-rate (default 300,1000)
  --drain-rate    the SES emulator's max send rate of each drain-rate run (default 14,50)
  --samples       cold starts per bundle and mode (default 5)
  --only cpu      sender CPU per email against the plain sender: 6 alternating runs of --emails each
  --only pipeline the whole pipeline (dispatcher, sender, feedback as bundled for Lambda) on a bill run of
                  --invoices (default 1,000) at --pipeline-rate (default 50/s), DynamoDB write units charged by
                  the metering proxy: write units per email and infra cost per 1,000 emails
  --only receipts payment receipts at 1/s while a 2,000-invoice bill run drains at SES's 14/s: their latency
  --only relay    --relay-emails (default 300) bulk emails through a tenant's relay at the Microsoft 365 preset
                  (30/min): the sustained rate and the busiest 60 s from the relay's side (~10 min for 300)
  --long          a 10,000-invoice bill run through the pipeline (--invoices, --pipeline-rate, default 100/s),
                  CPU and bytes per email for each thousand: is the cost linear (runs only this)`;

const BENCHMARKS = ['sender', 'drain', 'bundles', 'cpu', 'pipeline', 'receipts', 'relay', 'long'] as const;
const DEFAULT_BENCHMARKS = ['sender', 'drain', 'bundles'];

function machine(): string {
  const free = (() => {
    try {
      return execFileSync('free', ['-h'], { encoding: 'utf8' }).trim();
    } catch {
      return `total ${fmt(totalmem() / 2 ** 30, 1)} GiB, free ${fmt(freemem() / 2 ** 30, 1)} GiB`;
    }
  })();
  // `java -version` prints to stderr.
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr?.split('\n')[0]?.trim();
  const [load1 = 0, load5 = 0] = loadavg();
  return [
    `- CPU: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown'} (\`nproc\` = ${cpus().length})`,
    `- Node ${process.version}, ${process.platform}/${process.arch}`,
    `- Java (DynamoDB Local): ${java || 'unknown'}`,
    `- load average at start: ${fmt(load1, 2)} (1 min), ${fmt(load5, 2)} (5 min)`,
    `- \`free -h\`:\n\n\`\`\`\n${free}\n\`\`\``,
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string', default: DEFAULT_BENCHMARKS.join(',') },
      long: { type: 'boolean', default: false },
      invoices: { type: 'string' },
      'pipeline-rate': { type: 'string' },
      emails: { type: 'string', default: '500' },
      'drain-emails': { type: 'string', default: '300,1000' },
      'drain-rate': { type: 'string', default: '14,50' },
      samples: { type: 'string', default: '5' },
      'relay-emails': { type: 'string', default: '300' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const only = new Set(values.long ? ['long'] : values.only.split(','));
  for (const name of only) {
    if (!(BENCHMARKS as readonly string[]).includes(name))
      throw new Error(`--only: unknown benchmark ${name}\n\n${USAGE}`);
  }
  const emails = Number(values.emails);
  const drainEmails = values['drain-emails'].split(',').map(Number);
  const drainRates = values['drain-rate'].split(',').map(Number);
  if (drainEmails.length !== drainRates.length)
    throw new Error('--drain-emails and --drain-rate must list the same number of runs');
  const samples = Number(values.samples);
  const invoices = Number(values.invoices ?? (values.long ? 10_000 : 1_000));
  const pipelineRate = Number(values['pipeline-rate'] ?? (values.long ? 100 : 50));
  for (const [name, value] of Object.entries({
    emails,
    samples,
    invoices,
    'relay-emails': Number(values['relay-emails']),
    'pipeline-rate': pipelineRate,
    ...Object.fromEntries(drainEmails.map((value, i) => [`drain-emails #${i + 1}`, value])),
    ...Object.fromEntries(drainRates.map((value, i) => [`drain-rate #${i + 1}`, value])),
  })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number ≥ 1`);
  }

  const sections: string[] = [`## Machine\n\n${machine()}`];
  const print = (body: string) => {
    // The machine is shared: say how busy it was while each section ran.
    const section = `${body}\n\nLoad average (1, 5, 15 min) as this section ended: ${loadavg()
      .map((value) => fmt(value, 2))
      .join(', ')} on ${cpus().length} CPUs.`;
    sections.push(section);
    console.log(`${section}\n`);
  };
  console.log(`${sections[0]}\n`);
  const started = performance.now();
  const progress = (text: string) =>
    console.error(`[bench ${fmt((performance.now() - started) / 1000, 1)} s] ${text}`);

  let environmentOf: (handlerFile: string) => Record<string, string> | undefined = () => undefined;
  // The stack is started for every selection: the bundle benchmark takes each function's environment from it.
  progress('starting DynamoDB Local, fauxqs and DNS; synthesizing and provisioning the dev scope');
  const pipelines = ['pipeline', 'receipts', 'long'].some((name) => only.has(name));
  const stack: BenchStack = await startBenchStack({ bundle: pipelines });
  try {
    const bench = ['sender', 'drain', 'relay'].some((name) => only.has(name)) ? loadBenchSender() : undefined;
    if (bench && only.has('sender')) {
      progress(`sender throughput: ${emails} emails at concurrency 1 and 4`);
      const t0 = performance.now();
      const rows = await benchSenderThroughput(stack, bench, {
        emails,
        concurrencies: [1, 4],
        timeoutMs: 90_000,
      });
      print(
        `## 1. Sender throughput and cost per email (${fmt((performance.now() - t0) / 1000, 0)} s)\n\n${senderThroughputReport(rows)}`,
      );
    }
    if (bench && only.has('drain')) {
      for (const [index, maxSendRate] of drainRates.entries()) {
        const drained = drainEmails[index] ?? 0;
        progress(`drain rate: ${drained} emails against SES max send rate ${maxSendRate}/s`);
        const t0 = performance.now();
        const result = await benchDrainRate(stack, bench, {
          emails: drained,
          maxSendRate,
          concurrency: 4,
          timeoutMs: 180_000,
        });
        print(
          `## 2. Drain rate vs SES max send rate ${maxSendRate}/s (${fmt((performance.now() - t0) / 1000, 0)} s)\n\n${drainRateReport(result)}`,
        );
      }
    }
    if (bench && only.has('relay')) {
      const relayEmails = Number(values['relay-emails']);
      progress(`relay rate: ${relayEmails} bulk emails through a relay at the Microsoft 365 preset (30/min)`);
      const t0 = performance.now();
      const result = await benchRelayRate(stack, bench, {
        emails: relayEmails,
        concurrency: 2,
        timeoutMs: relayEmails * 4_000 + 60_000,
      });
      print(
        `## 9. Relay rate at the Microsoft 365 preset (${fmt((performance.now() - t0) / 1000, 0)} s)\n\n${relayRateReport(result)}`,
      );
    }
    if (only.has('cpu')) {
      progress(
        `sender CPU: 6 alternating runs of ${emails} emails, tenant-mail's sender and the plain sender`,
      );
      const t0 = performance.now();
      const result = await benchSenderCpu(stack, { emails, repeats: 6 });
      print(
        `## 5. Sender CPU per email vs the plain sender (${fmt((performance.now() - t0) / 1000, 0)} s)\n\n${senderCpuReport(result)}`,
      );
    }
    if (only.has('pipeline')) {
      progress(`pipeline: a ${invoices}-invoice bill run at ${pipelineRate}/s, DynamoDB capacity metered`);
      const t0 = performance.now();
      const result = await benchPipeline(stack, {
        invoices,
        maxSendRate: pipelineRate,
        receiptsPerSecond: 0,
        meterDynamoDb: true,
        sampleEvery: Math.max(100, Math.floor(invoices / 4)),
        timeoutMs: 1_800_000,
      });
      print(
        `## 6. Write units and infra cost per email, whole pipeline (${fmt((performance.now() - t0) / 1000, 0)} s)\n\n${costReport(result)}\n\n${linearityReport(result)}`,
      );
    }
    if (only.has('receipts')) {
      progress('receipts: 1/s while a 2,000-invoice bill run drains at 14/s');
      const t0 = performance.now();
      const result = await benchPipeline(stack, {
        invoices: 2_000,
        maxSendRate: 14,
        receiptsPerSecond: 1,
        meterDynamoDb: false,
        sampleEvery: 500,
        timeoutMs: 1_800_000,
      });
      print(
        `## 7. Receipt latency during a bill run (${fmt((performance.now() - t0) / 1000, 0)} s)\n\n${latencyReport(result)}`,
      );
    }
    if (only.has('long')) {
      progress(`long: a ${invoices}-invoice bill run at ${pipelineRate}/s through the pipeline`);
      const t0 = performance.now();
      const result = await benchPipeline(stack, {
        invoices,
        maxSendRate: pipelineRate,
        receiptsPerSecond: 0,
        meterDynamoDb: false,
        sampleEvery: 1_000,
        timeoutMs: 3_600_000,
      });
      print(
        `## 8. A ${fmt(invoices)}-invoice bill run: cost per email by thousand (${fmt((performance.now() - t0) / 1000, 0)} s)\n\n${linearityReport(result)}`,
      );
    }
    // Function environments name SES resources: provision them once if no benchmark above did. Resolving then
    // needs no emulator, so the bundle benchmark runs after they stopped and does not share the CPU with them.
    if (!bench && !pipelines && !only.has('cpu')) await (await stack.startSes(14)).stop();
    environmentOf = (handlerFile) => stack.functionEnvironment(handlerFile);
  } finally {
    await stack.stop();
  }
  if (only.has('bundles')) {
    progress(`bundles: esbuild each lambdas/handlers/*.handler.ts, ${samples} cold starts each`);
    const t0 = performance.now();
    const results = await benchBundleSizes({ samples, environmentOf });
    const baseline = nodeBaselineMs(samples);
    print(
      `## 3. Lambda bundles and cold-start import (${fmt((performance.now() - t0) / 1000, 0)} s)\n\n${bundleSizeReport(results, baseline, samples)}`,
    );
  }
  progress('done');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
