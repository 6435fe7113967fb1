import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

/** The bench sender module's exports (types only: the code is loaded from a bundle). */
export type BenchSenderModule = typeof import('./bench-sender');

/**
 * Bundles `bench-sender.ts` with the sender's code and loads it. tsx runs the bench as CommonJS, which cannot
 * `require` @middy/core (ESM-only, `import` condition only); esbuild turns it into CommonJS as it does for the
 * deployed function. Not minified, so stack traces stay readable.
 */
export function loadBenchSender(): BenchSenderModule {
  const outfile = join(mkdtempSync(join(tmpdir(), 'tenant-mail-bench-')), 'bench-sender.cjs');
  buildSync({
    entryPoints: [join(__dirname, 'bench-sender.ts')],
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    mainFields: ['module', 'main'],
    outfile,
    logLevel: 'error',
  });
  return require(outfile) as BenchSenderModule;
}
