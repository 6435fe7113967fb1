import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetAccountCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { sendExample } from '../../../local/demo/send-example';
import { LOCAL_CREDENTIALS } from '../../../local/emulators/local-aws';
import { type LocalEndpointsFile, readEndpointsFile } from '../../../local/twin/endpoints-file';
import { alive, descendants, endpointPorts, refuses } from '../../support/processes';

const ROOT = join(__dirname, '..', '..', '..');
const dataDir = mkdtempSync(join(tmpdir(), 'tm-npm-start-'));
const endpointsFile = join(dataDir, 'endpoints.json');
let twin: ChildProcess | undefined;
let output = '';

/** Polls `check` until it returns a value; fails after `ms` with the twin's output. A deadline, not a timing assertion. */
async function until<T>(
  check: () => Promise<T | undefined> | T | undefined,
  what: string,
  ms: number,
  options: { whileRunning?: boolean } = { whileRunning: true },
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; twin output:\n${output}`);
    if (options.whileRunning && twin?.exitCode !== null && twin?.exitCode !== undefined)
      throw new Error(`the twin exited (${twin.exitCode}) while waiting for ${what}:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

afterAll(() => {
  if (twin?.pid && twin.exitCode === null) twin.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

/** `npm start -- <args> --fresh --data-dir <temp>`; resolves with the endpoints file once it is written. */
async function startTwin(...args: string[]): Promise<LocalEndpointsFile> {
  output = '';
  twin = spawn(
    process.execPath,
    ['--import', 'tsx', 'local/start.ts', ...args, '--fresh', '--data-dir', dataDir],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    },
  );
  twin.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  twin.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return until(
    () => (existsSync(endpointsFile) ? readEndpointsFile(endpointsFile) : undefined),
    'the endpoints file',
    300_000,
  );
}

/** Waits until none of `processes` is alive and no endpoint port of the twin accepts connections. */
async function expectNothingLeft(processes: readonly number[], endpoints: LocalEndpointsFile): Promise<void> {
  await until(
    () => (processes.some(alive) ? undefined : true),
    'every process of the twin to end',
    60_000,
    {},
  );
  expect(existsSync(endpointsFile)).toBe(false);
  for (const port of endpointPorts(endpoints))
    expect({ port, refused: await refuses(port) }).toEqual({ port, refused: true });
}

describe('npm start (the local twin as a newcomer runs it)', () => {
  it('starts fresh with both scopes, writes the endpoints file, delivers one email end to end, and stops clean', async () => {
    const endpoints = await startTwin('--scope', 'all');
    // The default scope at the top level, as before; both scopes under `scopes`, each with its own SES account.
    const { scopes, relayCaCertificate, ...top } = endpoints;
    expect(top).toEqual(scopes.dev);
    expect(scopes.prod?.queues).toHaveProperty('tenant-mail-prod-send');
    expect(scopes.prod?.tables).toHaveProperty('tenant-mail-prod-messages');
    expect(scopes.prod?.ses).not.toBe(scopes.dev?.ses);
    expect(scopes.prod?.dns).toBe(scopes.dev?.dns);
    expect(relayCaCertificate).toBe(join(dataDir, 'relay', 'relay-cert.pem'));
    expect(existsSync(relayCaCertificate)).toBe(true);

    const sent = await sendExample(endpointsFile);
    const aws = { region: endpoints.region, credentials: LOCAL_CREDENTIALS };
    const dynamodb = new DynamoDBClient({ ...aws, endpoint: endpoints.dynamodb });
    const documents = DynamoDBDocumentClient.from(dynamodb);
    try {
      const delivered = await until(
        async () => {
          const { Items = [] } = await documents.send(
            new ScanCommand({ TableName: 'tenant-mail-dev-messages' }),
          );
          return Items.find((item) => item.tenantId === sent.tenantId && item.status === 'DELIVERED');
        },
        'the example email to be DELIVERED',
        120_000,
      );
      expect(delivered.method).toBe('default');
      // The prod scope's SES account saw nothing of the dev scope's email.
      const prodSes = new SESv2Client({ ...aws, endpoint: scopes.prod?.ses });
      const devSes = new SESv2Client({ ...aws, endpoint: scopes.dev?.ses });
      const [prodAccount, devAccount] = await Promise.all([
        prodSes.send(new GetAccountCommand({})),
        devSes.send(new GetAccountCommand({})),
      ]);
      prodSes.destroy();
      devSes.destroy();
      expect(devAccount.SendQuota?.SentLast24Hours).toBe(1);
      expect(prodAccount.SendQuota?.SentLast24Hours).toBe(0);
      // Status events out: the deployed publish-status-events bundle read the stream and put them on tenant-mail.dev.
      const statusEvents = async (url: string | undefined) => {
        const { events } = (await (await fetch(`${url}/_local/events`)).json()) as {
          events: { eventBusName: string; event: { detail: { messageId: string; status: string } } }[];
        };
        return events.filter((entry) => entry.event.detail.messageId === delivered.messageId);
      };
      const published = await until(
        async () => {
          const events = await statusEvents(scopes.dev?.eventBridge);
          return events.some((entry) => entry.event.detail.status === 'DELIVERED') ? events : undefined;
        },
        'the DELIVERED status event on tenant-mail.dev',
        60_000,
      );
      // SENT first, unless SES's Delivery event completed the record before the sender recorded SENT.
      const statuses = published.map((entry) => entry.event.detail.status);
      expect([['SENT', 'DELIVERED'], ['DELIVERED']]).toContainEqual(statuses);
      expect(new Set(published.map((entry) => entry.eventBusName))).toEqual(new Set(['tenant-mail.dev']));
      expect(await statusEvents(scopes.prod?.eventBridge)).toEqual([]);
    } finally {
      dynamodb.destroy();
    }

    const processes = descendants(twin?.pid ?? 0);
    expect(processes.length).toBeGreaterThanOrEqual(2); // DynamoDB Local's JVM and its watchdog
    const exited = new Promise<number | null>((resolve) => twin?.once('exit', (code) => resolve(code)));
    twin?.kill('SIGINT');
    expect(await exited).toBe(0);
    await expectNothingLeft(processes, endpoints);
  }, 420_000);

  it('stops clean when its launcher is killed without passing a signal on', async () => {
    const endpoints = await startTwin('--scope', 'dev');
    const processes = descendants(twin?.pid ?? 0);
    twin?.kill('SIGKILL');
    await expectNothingLeft(processes, endpoints);
  }, 420_000);
});
