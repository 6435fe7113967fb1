import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { nodeBaselineMs } from './bundle-size.bench';
import { fmt, markdownTable, median, percentile } from './stats';

/**
 * `npm run bench:cli`: wall time of `tenant-mail --help` through the published entry (bin/tenant-mail.cjs →
 * dist/, compiled by `npm run build`), against a bare `node -e ''` on the same Node, and of the TypeScript
 * sources through tsx (what the CLI ran before). Prints markdown for docs/benchmarks.md. The target is ≤ 300 ms.
 */
const { values } = parseArgs({ options: { samples: { type: 'string', default: '20' } } });
const samples = Number(values.samples);
const root = join(__dirname, '..');

function wall(args: readonly string[]): number[] {
  const times: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const started = performance.now();
    const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
    times.push(performance.now() - started);
    if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  }
  return times;
}

// Build once first, so the samples measure a fresh build's start, not the rebuild.
spawnSync(process.execPath, [join(root, 'cli', 'build.cjs')], { stdio: 'inherit' });
const compiled = wall([join(root, 'bin', 'tenant-mail.cjs'), '--help']);
const tsx = wall([
  join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
  join(root, 'cli', 'main-entry.ts'),
  '--help',
]);
const baseline = nodeBaselineMs(samples);
const row = (name: string, times: number[]) => [name, fmt(median(times)), fmt(percentile(times, 90))];
console.log(`## CLI start: \`tenant-mail --help\`

${samples} runs each, ${cpus().length} CPUs, load average ${loadavg()
  .map((l) => l.toFixed(2))
  .join(' ')}, Node ${process.version}. Target: ≤ 300 ms wall.

${markdownTable(
  ['what runs', 'median ms', 'p90 ms'],
  [
    row('`bin/tenant-mail.cjs --help` (compiled, dist/)', compiled),
    row('`tsx cli/main-entry.ts --help` (the sources, as before)', tsx),
    ['`node -e ""` (Node itself)', fmt(baseline), ''],
  ],
)}
`);
