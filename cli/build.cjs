// Builds the operator CLI into dist/: one CommonJS file of our code (cli/, client/ and the lambdas/ and lib/
// modules they import), packages left to node_modules, so `tenant-mail --help` loads only commander. The AWS
// SDK is loaded by the first command that needs it. Records the input files so bin/tenant-mail.cjs can tell
// when the build is stale. Run by `npm run build`, and by the bin shim when a source changed.
const { writeFileSync, mkdirSync } = require('node:fs');
const { join, relative } = require('node:path');

const root = join(__dirname, '..');
const outdir = join(root, 'dist');

async function build() {
  const esbuild = require('esbuild');
  mkdirSync(outdir, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [join(root, 'cli', 'main.ts')],
    outfile: join(outdir, 'tenant-mail.cjs'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  const inputs = Object.keys(result.metafile.inputs).map((file) => relative(root, join(root, file)));
  writeFileSync(join(outdir, 'tenant-mail.inputs.json'), `${JSON.stringify(inputs)}\n`);
  return inputs.length;
}

module.exports = { build, outdir };

if (require.main === module) {
  build().then(
    (count) => console.log(`built dist/tenant-mail.cjs from ${count} files`),
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
