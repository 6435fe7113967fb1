import { execFile, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Command } from 'commander';
import { EXIT } from '../../../cli/exit-codes';
import { main, PROCESS_IO } from '../../../cli/main';
import { buildProgram } from '../../../cli/program';
import { Runner } from '../../../cli/runner';
import { DynamoMessageLedger } from '../../../lambdas/adapters/message-ledger/dynamo-message-ledger';
import { messageIdFor } from '../../../lambdas/domain/sending/send-request';
import { type CliHarness, createCliHarness } from '../../support/cli-harness';
import { testAws, testStack } from '../../support/env';

const BIN = join(__dirname, '..', '..', '..', 'bin', 'tenant-mail.cjs');
const run = `${Date.now().toString(36)}-${process.pid}`;
const execFileAsync = promisify(execFile);

/** `node bin/tenant-mail.cjs …`: the published entry (compiled CLI, rebuilt when stale). */
async function spawnCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [BIN, ...argv], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** In-process, output captured, no session needed (help, parsing). */
async function inProcess(argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(argv, { stdout: (t) => stdout.push(t), stderr: (t) => stderr.push(t), env: {} });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

/** Every command path of the real program: `['tenant']`, `['tenant', 'put']`, … */
function commandPaths(): string[][] {
  const program = buildProgram(new Runner(PROCESS_IO));
  const paths: string[][] = [];
  const walk = (command: Command, prefix: string[]) => {
    for (const child of command.commands) {
      if (child.name() === 'help') continue;
      paths.push([...prefix, child.name()]);
      walk(child, [...prefix, child.name()]);
    }
  };
  walk(program, []);
  return paths;
}

let cli: CliHarness;

beforeAll(async () => {
  cli = await createCliHarness();
});

afterAll(async () => {
  await cli.stop();
});

describe('tenant-mail through its real entry (bin/tenant-mail.cjs)', () => {
  it('exit 0: --help lists every group and the exit codes', async () => {
    const result = await spawnCli(['--help']);
    expect(result.code).toBe(EXIT.OK);
    for (const group of [
      'tenant',
      'identity',
      'smtp',
      'definition',
      'template',
      'event',
      'suppression',
      'message',
      'dlq',
      'selftest',
      'completion',
    ])
      expect(result.stdout).toMatch(new RegExp(`^  ${group}\\b`, 'm'));
    expect(result.stdout).toContain('2  usage or invalid input');
  }, 60_000);

  it('exit 2: an unknown command suggests the closest one', async () => {
    const result = await spawnCli(['identity', 'dcotor']);
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain("error: unknown command 'dcotor'");
    expect(result.stderr).toContain('(Did you mean doctor?)');
  }, 60_000);

  it('exit 3: a tenant that does not exist, against the emulators with --local', async () => {
    const result = await spawnCli([
      'tenant',
      'get',
      '--tenant',
      `nobody-${run}`,
      '--local',
      '--endpoints',
      cli.endpointsFile,
    ]);
    expect(result.code).toBe(EXIT.NOT_FOUND);
    expect(result.stderr).toBe(`error: tenant nobody-${run} not found in the dev scope\n`);
  }, 60_000);
});

describe('tenant-mail in-process (cli/main.ts)', () => {
  it.each(commandPaths())('%s --help exits 0 and shows its usage', async (...path) => {
    const result = await inProcess([...path, '--help']);
    expect(result.code).toBe(EXIT.OK);
    expect(result.stdout).toMatch(new RegExp(`^Usage: tenant-mail ${path.join(' ')}\\b`));
  });

  it('a group with no command prints its commands and exits 2', async () => {
    const result = await inProcess(['message']);
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toMatch(/^ {2}list \[options\]/m);
    expect(result.stderr).toMatch(/^ {2}resend \[options\] <id>/m);
  });

  it('exit 2: a misspelled option is an error naming the right one', async () => {
    const result = await inProcess(['message', 'list', '--tenant', 't', '--recipent', 'a@b.example']);
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain("error: unknown option '--recipent'");
    expect(result.stderr).toContain('(Did you mean --recipient?)');
  });

  it('exit 2: a missing required option, a value out of its choices, and an environment of the other scope', async () => {
    expect((await inProcess(['tenant', 'get'])).stderr).toContain(
      "required option '--tenant <id>' not specified",
    );
    const choice = await inProcess(['smtp', 'test', '--tenant', 't', '--env', 'staging']);
    expect(choice.code).toBe(EXIT.USAGE);
    expect(choice.stderr).toContain(
      'Allowed choices are production, api-sandbox, developer-sandbox, central-sandbox',
    );
    const other = await cli.run(['definition', 'list', '--tenant', 't', '--env', 'production']);
    expect(other.code).toBe(EXIT.USAGE);
    expect(other.stderr).toBe(
      'error: the dev scope serves developer-sandbox, central-sandbox; production belongs to the other scope (--scope prod)',
    );
  });

  it('exit 1: message stuck finds a record past its deadline', async () => {
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient(testAws.dynamodb));
    const anHourAgo = new Date(Date.now() - 3_600_000);
    const ledger = new DynamoMessageLedger(documents, {
      tableName: testStack.table('messages'),
      clock: { now: () => anHourAgo },
    });
    const messageId = messageIdFor(`stuck-${run}`, 'k');
    await ledger.createJobRecords([
      {
        messageId,
        jobId: 'k',
        tenantId: `stuck-${run}`,
        environment: 'developer-sandbox',
        category: 'transactional',
        status: 'QUEUED',
        recipients: ['a@example.com'],
      },
    ]);
    documents.destroy();
    const result = await cli.run(['message', 'stuck', '--limit', '1000', '--json']);
    expect(result.code).toBe(EXIT.CHECK_FAILED);
    expect(JSON.parse(result.stdout)).toContainEqual(
      expect.objectContaining({ messageId, status: 'QUEUED' }),
    );
  });

  it('exit 4: AWS (here DynamoDB) cannot be reached', async () => {
    const file = await cli.file('down.json', {
      scope: 'dev',
      region: 'us-east-1',
      dynamodb: 'http://127.0.0.1:1',
      sqs: 'http://127.0.0.1:1',
      ses: 'http://127.0.0.1:1',
    });
    const result = await inProcess(['tenant', 'list', '--local', '--endpoints', file]);
    expect(result.code).toBe(EXIT.ERROR);
    expect(result.stderr).toMatch(/^error: /);
  });

  it('--local picks the twin’s scope from endpoints.json, scopes[scope] when asked, and names the scopes it runs', async () => {
    const base = {
      region: 'us-east-1',
      dynamodb: 'http://127.0.0.1:1',
      sqs: 'http://127.0.0.1:1',
      ses: 'http://127.0.0.1:1',
    };
    const file = join(cli.projectDir, 'two-scopes.json');
    await writeFile(
      file,
      JSON.stringify({
        ...base,
        scope: 'prod',
        scopes: { dev: { ...base, scope: 'dev', dynamodb: testAws.dynamodb.endpoint } },
      }),
    );
    // prod (the default) is unreachable here, dev is the test DynamoDB: which one answers shows which was used.
    expect(
      (
        await inProcess([
          'tenant',
          'get',
          '--tenant',
          `nobody-${run}`,
          '--local',
          '--endpoints',
          file,
          '--scope',
          'dev',
        ])
      ).code,
    ).toBe(EXIT.NOT_FOUND);
    expect(
      (await inProcess(['tenant', 'get', '--tenant', `nobody-${run}`, '--local', '--endpoints', file])).code,
    ).toBe(EXIT.ERROR);
    const only = join(cli.projectDir, 'prod-only.json');
    await writeFile(only, JSON.stringify({ ...base, scope: 'prod' }));
    const refused = await inProcess(['tenant', 'list', '--local', '--endpoints', only, '--scope', 'dev']);
    expect(refused.code).toBe(EXIT.USAGE);
    expect(refused.stderr).toContain('the local twin runs the prod scope, not dev');
  });
});

describe('tenant-mail completion', () => {
  it.each(['bash', 'zsh'])(
    '%s: a script bash parses, completing groups, commands and options',
    async (shell) => {
      const result = await inProcess(['completion', shell]);
      expect(result.code).toBe(EXIT.OK);
      const check = spawnSync('bash', ['-n'], { input: result.stdout });
      expect(check.status).toBe(0);
      const complete = spawnSync(
        'bash',
        [
          '-c',
          `${result.stdout}\nCOMP_WORDS=(tenant-mail message l); COMP_CWORD=2; _tenant_mail; echo "\${COMPREPLY[@]}"; COMP_WORDS=(tenant-mail message list --rec); COMP_CWORD=3; _tenant_mail; echo "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      );
      expect(complete.stdout).toBe('list\n--recipient\n');
    },
  );

  it('fish: one complete line per group, command and option', async () => {
    const result = await inProcess(['completion', 'fish']);
    expect(result.stdout).toContain('complete -c tenant-mail -n __fish_use_subcommand -a identity');
    expect(result.stdout).toMatch(/__fish_seen_subcommand_from list" -l recipient/);
  });
});
