import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { main as cli } from '../../cli/main';
import { isFinal, type MessageRecord } from '../../lambdas/domain/message';
import { MESSAGE_TAGS } from '../../lambdas/domain/sending/message-tags';
import { LOCAL_CREDENTIALS } from '../../local/emulators/local-aws';

/**
 * `npm run test:crash`: the whole twin (`npm start`: DynamoDB Local, fauxqs, SES emulator, functions) is killed
 * with SIGKILL at three random points of a 400-invoice bill run, restarted on its persisted data, and drained.
 * Expected: no email lost, none stuck, and every duplicate accounted for by a claim that found an expired lease
 * (an attempt that died between the provider's acceptance and the record). Results: test-artifacts/crash.json; what
 * the twin printed (its functions' logs), run by run: test-artifacts/crash-twin.log.
 */
const ROOT = join(__dirname, '..', '..');
const INVOICES = 400;
const TENANT = 'crashco';
const ENVIRONMENT = 'developer-sandbox';
const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
let random = seed;
const next = () => {
  random = (random * 16807) % 2147483647;
  return random / 2147483647;
};

interface Endpoints {
  readonly dynamodb: string;
  readonly sqs: string;
  readonly ses: string;
  readonly queues: Record<string, string>;
}

let twin: ChildProcess | undefined;
const ARTIFACTS = join(ROOT, 'test-artifacts');
const TWIN_LOG = join(ARTIFACTS, 'crash-twin.log');

function startTwin(fresh: boolean): Promise<Endpoints> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(ROOT, 'node_modules', '.bin', 'tsx'),
      ['local/start.ts', ...(fresh ? ['--fresh'] : [])],
      {
        cwd: ROOT,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, POWERTOOLS_METRICS_DISABLED: 'true' },
      },
    );
    twin = child;
    appendFileSync(
      TWIN_LOG,
      `\n===== twin ${fresh ? 'started fresh' : 'restarted'} at ${new Date().toISOString()}\n`,
    );
    const keep = (chunk: Buffer) => appendFileSync(TWIN_LOG, chunk);
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('is running locally')) {
        child.stdout?.off('data', onData);
        resolve(JSON.parse(readFileSync(join(ROOT, '.local', 'endpoints.json'), 'utf8')) as Endpoints);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) =>
      reject(new Error(`twin exited (${code}) before it was ready:\n${output.slice(-2000)}`)),
    );
  });
}

/** SIGKILL to the twin's whole process group: the Node processes and DynamoDB Local's JVM, no clean-up. */
function killTwin(): Promise<void> {
  const child = twin;
  const pid = child?.pid;
  if (!child || !pid) return Promise.resolve();
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => setTimeout(resolve, 500));
    process.kill(-pid, 'SIGKILL');
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function records(endpoints: Endpoints): Promise<MessageRecord[]> {
  const documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: endpoints.dynamodb, region: 'us-east-1', credentials: LOCAL_CREDENTIALS }),
  );
  const items: MessageRecord[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({
        // Whole records (timelines included), which the byTenant index does not carry.
        TableName: 'tenant-mail-dev-messages',
        FilterExpression: 'tenantId = :t',
        ExpressionAttributeValues: { ':t': TENANT },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...((page.Items ?? []) as MessageRecord[]));
    start = page.LastEvaluatedKey;
  } while (start);
  documents.destroy();
  return items;
}

async function setUp(): Promise<void> {
  const dir = join(ROOT, '.local', 'crash');
  mkdirSync(dir, { recursive: true });
  const file = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(content));
    return path;
  };
  const run = async (...args: string[]) => {
    const code = await cli([...args, '--local']);
    if (code !== 0) throw new Error(`tenant-mail ${args.join(' ')} exited ${code}`);
  };
  await run(
    'tenant',
    'put',
    '--file',
    file('tenant.json', {
      tenantId: TENANT,
      displayName: 'Crash Co',
      profileEmail: 'billing@crash.example',
      environments: { [ENVIRONMENT]: { method: 'default' } },
    }),
  );
  await run(
    'template',
    'put',
    '--file',
    file('template.json', {
      tenantId: TENANT,
      templateId: 'invoice',
      name: 'Invoice',
      subject: 'Invoice {{ item.invoiceNumber }}',
      html: '<p>Invoice {{ item.invoiceNumber }} of {{ item.amount }} EUR.</p>',
    }),
  );
  await run(
    'definition',
    'put',
    '--file',
    file('definition.json', {
      tenantId: TENANT,
      environment: ENVIRONMENT,
      definitionId: 'bill-run',
      name: 'Bill run invoices',
      eventType: 'com.tenantmail.bill-run.completed',
      forEach: { items: '$.invoices', key: '$.invoiceId' },
      templateId: 'invoice',
      to: ['$.billTo'],
      category: 'bulk',
      active: true,
    }),
  );
}

function billRun() {
  const today = new Date().toISOString().slice(0, 10);
  return {
    specversion: '1.0',
    id: `crash-bill-run-${seed}`,
    source: 'https://billing.platform.example/crash',
    type: 'com.tenantmail.bill-run.completed',
    time: new Date().toISOString(),
    tenantid: TENANT,
    environment: ENVIRONMENT,
    data: {
      billRunId: `BR-${seed}`,
      billRunNumber: `BR-${seed}`,
      targetDate: today,
      invoices: Array.from({ length: INVOICES }, (_, i) => ({
        invoiceId: `inv-${i}`,
        invoiceNumber: `INV-${i}`,
        accountId: `A-${i}`,
        accountNumber: `A${i}`,
        accountName: `Customer ${i}`,
        invoiceDate: today,
        dueDate: today,
        currency: 'EUR',
        amount: `${i}.00`,
        balance: `${i}.00`,
        billTo: { name: `Customer ${i}`, email: `success+crash-${i}@simulator.amazonses.com` },
      })),
    },
  };
}

beforeAll(() => {
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(TWIN_LOG, `seed ${seed}\n`);
});

afterAll(async () => {
  await killTwin();
});

describe('the twin killed three times during a 400-invoice bill run', () => {
  it(
    'loses no email, leaves none stuck, and sends again only what a dead attempt left in doubt',
    async () => {
      let endpoints = await startTwin(true);
      await setUp();
      const sqs = new SQSClient({
        endpoint: endpoints.sqs,
        region: 'us-east-1',
        credentials: LOCAL_CREDENTIALS,
      });
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: endpoints.queues['tenant-mail-dev-events'],
          MessageBody: JSON.stringify(billRun()),
        }),
      );
      sqs.destroy();
      const kills: { afterMs: number; statuses: Record<string, number> }[] = [];
      for (let crash = 0; crash < 3; crash++) {
        const afterMs = Math.round(1_000 + next() * 9_000);
        await sleep(afterMs);
        await killTwin();
        endpoints = await startTwin(false);
        const statuses: Record<string, number> = {};
        for (const r of await records(endpoints)) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        kills.push({ afterMs, statuses });
      }

      // Drain: SQS redelivers what the dead attempts held once their visibility timeout (180 s) ends.
      const deadline = Date.now() + 15 * 60_000;
      let all: MessageRecord[] = [];
      while (Date.now() < deadline) {
        all = await records(endpoints);
        if (all.length === INVOICES && all.every((r) => isFinal(r.status))) break;
        await sleep(5_000);
      }
      const response = await fetch(`${endpoints.ses}/_local/messages`);
      const { messages } = (await response.json()) as {
        messages: { kind: string; emailTags: { Name: string; Value: string }[] }[];
      };
      const sends = new Map<string, number>();
      for (const message of messages) {
        if (message.kind !== 'email') continue;
        const id = message.emailTags.find((tag) => tag.Name === MESSAGE_TAGS.messageId)?.Value;
        if (id) sends.set(id, (sends.get(id) ?? 0) + 1);
      }
      const reclaimed = (r: MessageRecord) =>
        r.timeline.some((line, i) => line.status === 'SENDING' && r.timeline[i + 1]?.status === 'SENDING') ||
        r.timeline.some((line) => line.detail?.startsWith('SWEPT') ?? false);
      const duplicated = all.filter((r) => (sends.get(r.messageId) ?? 0) > 1);
      const result = {
        seed,
        kills,
        records: all.length,
        final: all.filter((r) => isFinal(r.status)).length,
        statuses: Object.fromEntries(
          [...new Set(all.map((r) => r.status))].map((s) => [s, all.filter((r) => r.status === s).length]),
        ),
        sentOnce: all.filter((r) => sends.get(r.messageId) === 1).length,
        lost: all.filter((r) => !sends.get(r.messageId)).length,
        duplicates: [...sends.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0),
        inDoubt: all.filter(reclaimed).length,
        duplicatesWithoutReclaim: duplicated.filter((r) => !reclaimed(r)).map((r) => r.messageId),
      };
      writeFileSync(join(ARTIFACTS, 'crash.json'), `${JSON.stringify(result, null, 2)}\n`);
      console.log(JSON.stringify(result, null, 2));

      expect(result.records).toBe(INVOICES);
      expect(result.final).toBe(INVOICES);
      expect(result.lost).toBe(0);
      expect(result.duplicates).toBeLessThanOrEqual(result.inDoubt);
      expect(result.duplicatesWithoutReclaim).toEqual([]);
    },
    30 * 60_000,
  );
});
