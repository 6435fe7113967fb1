import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalEndpoints } from '../../cli/local-endpoints';
import { main } from '../../cli/main';
import { LOCAL_REGION } from '../../local/emulators/local-aws';
import { testAws } from './env';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliHarness {
  /** A temporary project folder holding `.local/endpoints.json` (and any file a test writes there). */
  readonly projectDir: string;
  readonly endpointsFile: string;
  /** Runs `tenant-mail <argv> --local` in-process through `cli/main.ts`, the real parser and exit mapping. */
  run(argv: readonly string[], options?: { readonly stdin?: string }): Promise<CliRun>;
  /** Writes a file into the project folder and returns its path. */
  file(name: string, content: unknown): Promise<string>;
  stop(): Promise<void>;
}

/** Queue URLs the global setup provisioned, by physical name (what the twin writes under `queues`). */
function provisionedQueues(): Record<string, string> {
  const names = JSON.parse(process.env.TM_TEST_STACK ?? '{}') as Record<string, string>;
  return Object.fromEntries(Object.entries(names).filter(([, value]) => value.startsWith('http')));
}

/**
 * The CLI pointed at the test emulators the way `--local` points it at the twin: an endpoints file in a temporary
 * project folder (`dev` scope; the provisioned queues unless `endpoints.queues` overrides some), stdout and stderr
 * captured.
 */
export async function createCliHarness(endpoints: Partial<LocalEndpoints> = {}): Promise<CliHarness> {
  const projectDir = await mkdtemp(join(tmpdir(), 'tenant-mail-cli-'));
  const endpointsFile = join(projectDir, '.local', 'endpoints.json');
  const content: LocalEndpoints = {
    scope: 'dev',
    region: LOCAL_REGION,
    dynamodb: testAws.dynamodb.endpoint,
    sqs: testAws.sqs.endpoint,
    ses: 'http://127.0.0.1:1',
    dns: '127.0.0.1:1',
    viewer: 'http://127.0.0.1:1/_local/',
    ...endpoints,
    queues: { ...provisionedQueues(), ...endpoints.queues },
  };
  await mkdir(join(projectDir, '.local'), { recursive: true });
  await writeFile(endpointsFile, JSON.stringify(content));
  return {
    projectDir,
    endpointsFile,
    async run(argv, options = {}) {
      const stdout: string[] = [];
      const stderr: string[] = [];
      const code = await main([...argv, '--local'], {
        stdout: (text) => stdout.push(text),
        stderr: (text) => stderr.push(text),
        readStdin: async () => options.stdin ?? '',
        env: {},
        projectDir,
      });
      return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
    },
    async file(name, value) {
      const path = join(projectDir, name);
      await writeFile(path, typeof value === 'string' ? value : JSON.stringify(value));
      return path;
    },
    stop: () => rm(projectDir, { recursive: true, force: true }),
  };
}
