#!/usr/bin/env node
// Operator CLI entry: runs the compiled CLI in dist/ (`npm run build`), rebuilding it first when it is missing or
// older than one of its sources (a checkout with dev dependencies; an installed package ships dist/ built).
const { existsSync, readFileSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const bundle = join(root, 'dist', 'tenant-mail.cjs');
const inputs = join(root, 'dist', 'tenant-mail.inputs.json');

function stale() {
  if (!existsSync(bundle) || !existsSync(inputs)) return true;
  const built = statSync(bundle).mtimeMs;
  for (const file of JSON.parse(readFileSync(inputs, 'utf8'))) {
    const path = join(root, file);
    if (!existsSync(path) || statSync(path).mtimeMs > built) return true;
  }
  return false;
}

async function start() {
  if (stale()) {
    let build;
    try {
      build = require('../cli/build.cjs').build;
    } catch {
      build = undefined;
    }
    if (build) await build();
    else if (!existsSync(bundle)) throw new Error('dist/tenant-mail.cjs is missing: run `npm run build`');
  }
  require(bundle).run(process.argv.slice(2));
}

start().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 4;
});
