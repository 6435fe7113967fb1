import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { LAMBDA_BUNDLE } from '../../lib/constructs/tenant-mail-function';

const HANDLERS_DIR = join(__dirname, '..', '..', 'lambdas', 'handlers');

/**
 * Minified size budget of each function's bundle, in KiB: a little above what it is, so a dependency or an import
 * that grows a bundle fails here and is a decision, not an accident. The sizes against a reference handler and
 * the cold-start times are measured by `npm run bench -- --only bundles` (docs/benchmarks.md).
 */
const BUDGET_KIB: Record<string, number> = {
  'dispatch-events.handler.ts': 680,
  'process-feedback.handler.ts': 585,
  'publish-status-events.handler.ts': 440,
  'refresh-identities.handler.ts': 575,
  'send-email.handler.ts': 940,
  'sweep-stuck.handler.ts': 555,
};

const handlers = readdirSync(HANDLERS_DIR).filter((file) => file.endsWith('.handler.ts'));

describe('Lambda bundle budgets', () => {
  it('has a budget for every function', () => {
    expect(handlers.sort()).toEqual(Object.keys(BUDGET_KIB).sort());
  });

  it.each(handlers)('keeps %s within its budget, without locale tables', async (handlerFile) => {
    const result = await build({
      ...LAMBDA_BUNDLE,
      mainFields: [...LAMBDA_BUNDLE.mainFields],
      external: [...LAMBDA_BUNDLE.external],
      entryPoints: [join(HANDLERS_DIR, handlerFile)],
      outdir: '/bundle',
      write: false,
      metafile: true,
      logLevel: 'error',
    });
    const code = result.outputFiles.find((file) => file.path.endsWith('.js'));
    expect(code).toBeDefined();
    const kib = (code?.contents.byteLength ?? 0) / 1024;
    expect(Math.round(kib)).toBeLessThanOrEqual(BUDGET_KIB[handlerFile] ?? 0);
    // Inputs esbuild visited but tree-shook away have no bytes in the output.
    const bundled = Object.values(result.metafile.outputs).flatMap((output) =>
      Object.entries(output.inputs)
        .filter(([, input]) => input.bytesInOutput > 0)
        .map(([path]) => path),
    );
    expect(bundled.filter((path) => path.includes('zod/v4/locales/') && !path.endsWith('/en.js'))).toEqual(
      [],
    );
  });
});
