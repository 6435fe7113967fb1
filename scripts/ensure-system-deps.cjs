// Installs what the tests need that npm cannot: Java (DynamoDB Local) and Debian's Chromium (the viewer's
// browser test). As root on Debian it runs `apt-get install` of exactly those packages, once; anywhere else it
// stops at once with the one command to run. Override the probes with TENANT_MAIL_JAVA / TENANT_MAIL_CHROMIUM.
const { execFileSync, spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');

const java = process.env.TENANT_MAIL_JAVA ?? 'java';
const chromium = process.env.TENANT_MAIL_CHROMIUM ?? '/usr/bin/chromium';

const onPath = (command) =>
  spawnSync('sh', ['-c', `command -v "${command}"`], { stdio: 'ignore' }).status === 0;
const missing = [];
if (!onPath(java)) missing.push('openjdk-17-jre-headless');
if (!existsSync(chromium)) missing.push('chromium');
if (missing.length === 0) process.exit(0);

const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
const root = typeof process.getuid === 'function' && process.getuid() === 0;
if (!root || !onPath('apt-get')) {
  console.error(`the tests need ${missing.join(' and ')}; install them once with:\n  sudo ${command}`);
  process.exit(1);
}
console.error(`installing ${missing.join(', ')} (once): ${command}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
