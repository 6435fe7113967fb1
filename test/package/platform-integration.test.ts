import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'platform-integration');
const work = mkdtempSync(join(tmpdir(), 'tm-package-'));
// npm and the example's scripts find Node 24 and the root's tools first, as `npm test` at the root does.
const env = { ...process.env, PATH: [join(ROOT, 'node_modules', '.bin'), process.env.PATH].join(delimiter) };

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs a command; fails with its output when it exits non-zero. */
function run(
  command: string,
  args: readonly string[],
  cwd: string,
  extraEnv: NodeJS.ProcessEnv = {},
): { stdout: string; stderr: string } {
  const result = spawnSync(command, args, {
    cwd,
    env: { ...env, ...extraEnv },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`,
    );
  return { stdout: result.stdout, stderr: result.stderr };
}

type LockFile = { packages: Record<string, { version?: string }> };
const lockOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as LockFile;

describe('the packed package, as a platform installs it', () => {
  let tarball = '';
  let files: string[] = [];

  beforeAll(() => {
    // `npm pack` runs `prepack`: the build of dist/ and the CLI.
    const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], ROOT).stdout) as {
      filename: string;
      files: { path: string }[];
    }[];
    if (!packed) throw new Error('npm pack listed no package');
    tarball = join(work, packed.filename);
    files = packed.files.map((file) => file.path);
  }, 600_000);

  it('ships the entry points, the functions’ sources and what synth reads, and no tests or local data', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, string | Record<string, string>>;
    };
    const targets = Object.values(manifest.exports).flatMap((target) =>
      typeof target === 'string' ? [target] : [target.types, target.default],
    );
    for (const target of targets) expect(files).toContain(target?.replace(/^\.\//, ''));
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/local/twin/lambda-worker.cjs',
        'dist/local/emulators/fauxqs-worker.cjs',
        'lambdas/handlers/send-email.handler.ts',
        'lib/schema/tables.ts',
        'cdk.json',
        'tsconfig.json',
        'bin/tenant-mail.cjs',
        'dist/tenant-mail.cjs',
      ]),
    );
    const unwanted = files.filter((path) =>
      /^(test|bench|examples|scripts|cli|local|\.local|cdk\.out|\.stryker-tmp|reports|coverage)\/|\.test\.ts$/.test(
        path,
      ),
    );
    expect(unwanted).toEqual([]);
  });

  it('installs offline into the example project at the root’s versions, which compiles and passes its own tests', () => {
    const project = join(work, 'platform-integration');
    cpSync(EXAMPLE, project, {
      recursive: true,
      filter: (source) => !/node_modules|tenant-mail\.tgz$/.test(source),
    });
    cpSync(tarball, join(project, 'tenant-mail.tgz'));
    // Every package the example locks that the root also locks is at the root's version (so npm's cache has it).
    const root = lockOf(ROOT).packages;
    const mismatched = Object.entries(lockOf(project).packages)
      .filter(([path, entry]) => path !== '' && root[path] && root[path]?.version !== entry.version)
      .map(([path, entry]) => `${path}: ${entry.version} (root ${root[path]?.version})`);
    expect(mismatched).toEqual([]);

    run('npm', ['install', '--offline', '--no-audit', '--no-fund'], project);
    // `tsc --noEmit` against the packed declarations, then the example's Jest: its synth test and startTwin test.
    const { stderr } = run('npm', ['test'], project, { FORCE_COLOR: '0' });
    expect(stderr).toMatch(/Test Suites: 2 passed, 2 total\s+Tests: +4 passed, 4 total/);
  }, 1_800_000);

  it('docs/integration.md shows the example’s twin test as it is', () => {
    const docs = readFileSync(join(ROOT, 'docs', 'integration.md'), 'utf8');
    expect(docs).toContain(readFileSync(join(EXAMPLE, 'test', 'invoice-email.test.ts'), 'utf8'));
  });
});
