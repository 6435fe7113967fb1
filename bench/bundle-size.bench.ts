import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { LAMBDA_BUNDLE, LAZY_MODULES } from '../lib/constructs/tenant-mail-function';
import { fmt, kib, markdownTable, median } from './stats';

const HANDLERS_DIR = join(__dirname, '..', 'lambdas', 'handlers');
/** The peer every function is compared with (bench/reference/plain-sender.handler.ts). */
export const REFERENCE_HANDLER = 'reference: plain-sender.handler.ts';
/**
 * The same peer with the SDK's whole default credential chain, as a bundle without LAMBDA_BUNDLE's credential
 * alias has it: what the ratios were measured against before the alias, shown for comparison.
 */
const REFERENCE_FULL_CHAIN = 'reference: plain-sender.handler.ts, whole credential chain';
const REFERENCE_PATH = join(__dirname, 'reference', 'plain-sender.handler.ts');

export interface BundleSizeOptions {
  /** Cold-start samples per bundle and mode. */
  readonly samples: number;
  /** The environment the template gives a handler (resolved locally), when the template has that function. */
  readonly environmentOf: (handlerFile: string) => Record<string, string> | undefined;
}

export interface Contributor {
  readonly name: string;
  readonly bytes: number;
}

export interface BundleResult {
  readonly handlerFile: string;
  readonly bytes: number;
  /** The function's LAZY_MODULES, bundled beside `index.js`: not read at cold start. */
  readonly lazyModules: readonly Contributor[];
  readonly gzipBytes: number;
  readonly sourceMapBytes: number;
  readonly inputs: number;
  readonly topPackages: readonly Contributor[];
  readonly topFiles: readonly Contributor[];
  /** Median `require(bundle)` time inside the process, with the template's environment (as deployed). */
  readonly requireMs: number;
  /** The same with NODE_OPTIONS=--enable-source-maps (what the functions had before it was removed). */
  readonly requireWithSourceMapsMs: number;
  /** Median wall time of the whole `node` process (start, require, exit). */
  readonly processMs: number;
  /** Where the environment came from: the template, or names discovered from ConfigError messages. */
  readonly environmentSource: 'template' | 'discovered';
  readonly error?: string;
}

/** The package a bundled input belongs to (`@aws-sdk/client-sesv2`, `zod`…), or our own code. */
function packageOf(input: string): string {
  const marker = 'node_modules/';
  const at = input.lastIndexOf(marker);
  if (at < 0) return '(tenant-mail source)';
  // zod's classic entry re-exports every locale as a namespace, so esbuild keeps them all: show them apart.
  if (input.includes('node_modules/zod/v4/locales/')) return 'zod (locales)';
  const [first = '', second = ''] = input.slice(at + marker.length).split('/');
  return first.startsWith('@') ? `${first}/${second}` : first;
}

function top(entries: Iterable<[string, number]>, count: number): Contributor[] {
  return [...entries]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, bytes]) => ({ name, bytes }));
}

/**
 * Bundles one handler the way the stack's NodejsFunction does (minify, source map, node24, cjs, SDK bundled): its
 * `index.js`, and beside it the handler's {@link LAZY_MODULES} (as the construct's afterBundling hook does), so
 * the folder runs as the deployed asset does.
 */
export async function bundle(
  entry: string,
  outdir: string,
  options: { readonly credentialAlias?: boolean } = {},
): Promise<{ outfile: string; metafile: Metafile; lazyFiles: string[] }> {
  const buildOne = async (from: string, outfile: string) =>
    build({
      ...LAMBDA_BUNDLE,
      alias: options.credentialAlias === false ? {} : { ...LAMBDA_BUNDLE.alias },
      mainFields: [...LAMBDA_BUNDLE.mainFields],
      external: [...LAMBDA_BUNDLE.external],
      entryPoints: [from],
      outfile,
      metafile: true,
      logLevel: 'error',
    });
  const outfile = join(outdir, 'index.js');
  const result = await buildOne(entry, outfile);
  const lazyFiles: string[] = [];
  for (const module of LAZY_MODULES[basename(entry)] ?? []) {
    const lazyFile = join(outdir, `${module}.js`);
    await buildOne(join(dirname(entry), `${module}.ts`), lazyFile);
    lazyFiles.push(lazyFile);
  }
  return { outfile, metafile: result.metafile, lazyFiles };
}

const TIMER = [
  'const s=process.hrtime.bigint();',
  'require(process.argv[1]);',
  'const ms=Number(process.hrtime.bigint()-s)/1e6;',
  'process.stdout.write(String(ms),()=>process.exit(0));',
].join('');

interface Sample {
  readonly requireMs: number;
  readonly processMs: number;
}

function coldStart(outfile: string, env: Record<string, string>): Sample | { error: string } {
  const started = performance.now();
  const child = spawnSync(process.execPath, ['-e', TIMER, outfile], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const processMs = performance.now() - started;
  const requireMs = Number(child.stdout);
  if (child.status !== 0 || !Number.isFinite(requireMs))
    return { error: child.stderr || `exit ${child.status}` };
  return { requireMs, processMs };
}

/** What a Lambda container has before our code runs, plus safe values for the settings every config reads. */
const BASE_ENV: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'dummy',
  AWS_SECRET_ACCESS_KEY: 'dummy',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
  POWERTOOLS_SERVICE_NAME: 'tenant-mail',
  SCOPE: 'dev',
  SERVED_ENVIRONMENTS: 'developer-sandbox,central-sandbox',
};

/**
 * For a handler the template does not (yet) declare: starts from BASE_ENV and adds each variable a ConfigError
 * names ("environment variable X is required"), with `1` for numeric ones, until the module loads.
 */
function discoverEnvironment(outfile: string): Record<string, string> {
  const env = { ...BASE_ENV };
  for (let attempt = 0; attempt < 40; attempt += 1) {
    const sample = coldStart(outfile, env);
    if (!('error' in sample)) return env;
    const missing = /environment variable ([A-Z0-9_]+) (is required|must be)/.exec(sample.error);
    if (!missing?.[1]) return env;
    env[missing[1]] =
      missing[2] === 'must be' || /DAYS|COUNT|SECONDS|CONCURRENCY|SIZE/.test(missing[1]) ? '1' : 'dummy';
  }
  return env;
}

/**
 * Lambda bundle size and cold-start import time of every `lambdas/handlers/*.handler.ts`: bytes (and gzip, close to
 * the deployment zip), the 10 largest packages and files by bytes in the output (esbuild metafile), and the median
 * of `samples` timed `require(bundle)` runs in a fresh `node` with the handler's environment.
 */
export async function benchBundleSizes(options: BundleSizeOptions): Promise<BundleResult[]> {
  const handlers = [
    ...readdirSync(HANDLERS_DIR)
      .filter((file) => file.endsWith('.handler.ts'))
      .sort(),
    REFERENCE_HANDLER,
    REFERENCE_FULL_CHAIN,
  ];
  const root = mkdtempSync(join(tmpdir(), 'tenant-mail-bundles-'));
  const results: BundleResult[] = [];
  try {
    for (const handlerFile of handlers) {
      const outdir = join(root, handlerFile.replace(/\.ts$/, ''));
      const isReference = handlerFile === REFERENCE_HANDLER || handlerFile === REFERENCE_FULL_CHAIN;
      const entry = isReference ? REFERENCE_PATH : join(HANDLERS_DIR, handlerFile);
      const { outfile, metafile, lazyFiles } = await bundle(entry, outdir.replace(/[:, ]+/g, '-'), {
        credentialAlias: handlerFile !== REFERENCE_FULL_CHAIN,
      });
      const lazyModules = lazyFiles.map((file) => ({ name: basename(file), bytes: statSync(file).size }));
      const output = Object.values(metafile.outputs).find((entry) => entry.entryPoint !== undefined);
      const byPackage = new Map<string, number>();
      const byFile = new Map<string, number>();
      for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
        byPackage.set(packageOf(input), (byPackage.get(packageOf(input)) ?? 0) + bytesInOutput);
        byFile.set(input, bytesInOutput);
      }
      const fromTemplate = options.environmentOf(handlerFile);
      const env = fromTemplate ? { ...BASE_ENV, ...fromTemplate } : discoverEnvironment(outfile);
      const deployed: Sample[] = [];
      const mapped: Sample[] = [];
      let error: string | undefined;
      for (let i = 0; i < options.samples && !error; i += 1) {
        // As deployed (no source-map support at run time), and with NODE_OPTIONS=--enable-source-maps.
        const on = coldStart(outfile, env);
        const off = coldStart(outfile, { ...env, NODE_OPTIONS: '--enable-source-maps' });
        if ('error' in on) error = on.error.split('\n').find((line) => line.includes('Error')) ?? on.error;
        else deployed.push(on);
        if (!('error' in off)) mapped.push(off);
      }
      const code = readFileSync(outfile);
      results.push({
        handlerFile,
        bytes: code.length,
        lazyModules,
        gzipBytes: gzipSync(code, { level: 9 }).length,
        sourceMapBytes: statSync(`${outfile}.map`).size,
        inputs: Object.keys(output?.inputs ?? {}).length,
        topPackages: top(byPackage, 10),
        topFiles: top(byFile, 10),
        requireMs: median(deployed.map((sample) => sample.requireMs)),
        requireWithSourceMapsMs: median(mapped.map((sample) => sample.requireMs)),
        processMs: median(deployed.map((sample) => sample.processMs)),
        environmentSource: fromTemplate ? 'template' : 'discovered',
        ...(error ? { error } : {}),
      });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return results;
}

/** Median wall time of `node -e ""`: the floor under every process time. */
export function nodeBaselineMs(samples: number): number {
  const times: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const started = performance.now();
    spawnSync(process.execPath, ['-e', ''], { env: { PATH: process.env.PATH ?? '' } });
    times.push(performance.now() - started);
  }
  return median(times);
}

/** The markdown section of this benchmark. */
export function bundleSizeReport(
  results: readonly BundleResult[],
  baselineMs: number,
  samples: number,
): string {
  const reference = results.find((result) => result.handlerFile === REFERENCE_HANDLER);
  const ratio = (value: number, peer: number | undefined) =>
    peer && Number.isFinite(value) ? `${fmt(value / peer, 2)}×` : '—';
  const summary = markdownTable(
    [
      'handler',
      'bundle',
      '× reference',
      'loaded on first use',
      'gzip',
      'source map',
      'inputs',
      `require() median of ${samples}, as deployed`,
      '× reference',
      'with --enable-source-maps',
      'whole process',
    ],
    results.map((result) => [
      `\`${result.handlerFile}\`${result.environmentSource === 'discovered' ? ' (env discovered)' : ''}`,
      kib(result.bytes),
      ratio(result.bytes, reference?.bytes),
      result.lazyModules.map((module) => `\`${module.name}\` ${kib(module.bytes)}`).join(', ') || '—',
      kib(result.gzipBytes),
      kib(result.sourceMapBytes),
      fmt(result.inputs),
      result.error ? `failed: ${result.error}` : `${fmt(result.requireMs, 0)} ms`,
      ratio(result.requireMs, reference?.requireMs),
      `${fmt(result.requireWithSourceMapsMs, 0)} ms`,
      `${fmt(result.processMs, 0)} ms`,
    ]),
  );
  const details = results
    .map((result) => {
      const packages = markdownTable(
        ['package', 'bytes in bundle', 'share'],
        result.topPackages.map((entry) => [
          entry.name,
          kib(entry.bytes),
          `${fmt((100 * entry.bytes) / result.bytes, 1)} %`,
        ]),
      );
      const files = markdownTable(
        ['file', 'bytes in bundle'],
        result.topFiles.map((entry) => [
          `\`${entry.name.replace(/^.*node_modules\//, '')}\``,
          kib(entry.bytes),
        ]),
      );
      return `#### \`${result.handlerFile}\`: top 10 packages\n\n${packages}\n\nTop 10 files:\n\n${files}`;
    })
    .join('\n\n');
  return `${summary}\n\n\`node -e ""\` alone: ${fmt(baselineMs, 0)} ms (median of ${samples}).\n\n${details}`;
}
