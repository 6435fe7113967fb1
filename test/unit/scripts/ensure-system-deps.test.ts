import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const script = join(__dirname, '..', '..', '..', 'scripts', 'ensure-system-deps.cjs');

/** Runs the script with a fake `apt-get` first on PATH that records its arguments. */
function run(env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'deps-'));
  const log = join(dir, 'apt.log');
  writeFileSync(join(dir, 'apt-get'), `#!/bin/sh\necho "$@" >> "${log}"\n`);
  chmodSync(join(dir, 'apt-get'), 0o755);
  const result = spawnSync(process.execPath, [script], {
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, ...env },
    encoding: 'utf8',
  });
  let calls: string[] = [];
  try {
    calls = readFileSync(log, 'utf8').trim().split('\n');
  } catch {
    calls = [];
  }
  return { status: result.status, stderr: result.stderr, calls };
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

describe('scripts/ensure-system-deps.cjs (npm test’s pretest)', () => {
  it('does nothing when Java and Chromium are there', () => {
    const { status, calls } = run({ TENANT_MAIL_JAVA: 'sh', TENANT_MAIL_CHROMIUM: process.execPath });
    expect(status).toBe(0);
    expect(calls).toEqual([]);
  });

  it('installs exactly the missing Debian packages with apt-get as root, else names the command', () => {
    const { status, calls, stderr } = run({
      TENANT_MAIL_JAVA: 'no-such-java',
      TENANT_MAIL_CHROMIUM: '/nonexistent/chromium',
    });
    if (isRoot) {
      expect(status).toBe(0);
      expect(calls).toEqual(['update -qq', 'install -y -qq openjdk-17-jre-headless chromium']);
    } else {
      expect(status).toBe(1);
      expect(calls).toEqual([]);
      expect(stderr).toContain('sudo apt-get update && apt-get install -y openjdk-17-jre-headless chromium');
    }
  });

  it('installs only Chromium when Java is present', () => {
    const { calls, stderr } = run({ TENANT_MAIL_JAVA: 'sh', TENANT_MAIL_CHROMIUM: '/nonexistent/chromium' });
    if (isRoot) expect(calls).toEqual(['update -qq', 'install -y -qq chromium']);
    else expect(stderr).toContain('sudo apt-get update && apt-get install -y chromium');
  });
});
