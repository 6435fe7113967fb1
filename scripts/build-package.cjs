// Builds what the package ships (run by `npm pack` through `prepack`, or `npm run build:package`): the public entry
// points `tenant-mail` (lib/index.ts), `tenant-mail/client` and `tenant-mail/local` compiled by tsc to CommonJS with
// declarations under dist/ (tsconfig.build.json), the twin's plain-CommonJS worker files beside them, and the
// operator CLI (cli/build.cjs). The functions are not compiled: the package ships their TypeScript sources
// (lambdas/), which the construct bundles at synth exactly as in this repository.
const { execFileSync } = require('node:child_process');
const { cpSync, readdirSync, rmSync } = require('node:fs');
const { dirname, join, relative } = require('node:path');

const root = join(__dirname, '..');
const dist = join(root, 'dist');

/** Worker files loaded by path at run time (`new Worker(join(__dirname, '…cjs'))`), copied beside the build. */
function workerFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return workerFiles(path);
    return entry.name.endsWith('.cjs') ? [path] : [];
  });
}

async function buildPackage() {
  // Only tsc's folders: the CLI's dist/tenant-mail.cjs stays usable for a `tenant-mail` run meanwhile.
  for (const folder of ['lib', 'client', 'local', 'lambdas'])
    rmSync(join(dist, folder), { recursive: true, force: true });
  const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
  const workers = workerFiles(join(root, 'local'));
  for (const file of workers) cpSync(file, join(dist, relative(root, file)));
  const cliInputs = await require('../cli/build.cjs').build();
  return { workers: workers.length, cliInputs };
}

module.exports = { buildPackage };

if (require.main === module) {
  buildPackage().then(
    ({ workers, cliInputs }) =>
      console.error(
        `built dist/ (lib, client, local; ${workers} worker files) and the CLI from ${cliInputs} files`,
      ),
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
