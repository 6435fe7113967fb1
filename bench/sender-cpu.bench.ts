import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetEmailIdentityCommand } from '@aws-sdk/client-sesv2';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoTenantStore } from '../lambdas/adapters/tenant-store';
import { loadSenderConfig } from '../lambdas/shared/config';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/emulators/local-aws';
import { createLambdaFunction, type LambdaFunction } from '../local/twin/function-runtime';
import { sqsEvent } from '../local/twin/sqs-poller';
import type { BenchStack } from './bench-stack';
import { bundle } from './bundle-size.bench';
import { fmt, markdownTable, median } from './stats';

const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };

export interface SenderCpuOptions {
  /** Emails per measured run of each handler. */
  readonly emails: number;
  /** Runs of each, alternating which goes first. */
  readonly repeats: number;
}

export interface SenderCpuResult extends SenderCpuOptions {
  /** CPU ms per email of each run, by handler. */
  readonly tenantMail: readonly number[];
  readonly plain: readonly number[];
}

const ms = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;
/** CPU of every thread but this one: the function's execution environment (a worker thread) and its helpers. */
const otherThreadsMs = () => ms(process.cpuUsage()) - ms(process.threadCpuUsage());

/**
 * Sender CPU per email against the plain sender (bench/reference/plain-sender.handler.ts): both bundled as the
 * stack bundles functions, each run in its own execution environment (a worker thread, as the twin runs
 * functions), invoked with the same batches of 10 one-recipient emails through the same SES emulator and
 * DynamoDB Local, alternating, after a warm-up invocation each. The emulators run on the main thread, so the
 * CPU of the other threads is the handler's.
 */
export async function benchSenderCpu(stack: BenchStack, options: SenderCpuOptions): Promise<SenderCpuResult> {
  const dynamodb = new DynamoDBClient({ ...aws, endpoint: stack.dynamodbEndpoint });
  const { ses, client, stop } = await stack.startSes(100_000);
  const outdir = mkdtempSync(join(tmpdir(), 'tenant-mail-bench-cpu-'));
  const functions: LambdaFunction[] = [];
  try {
    const environment = stack.senderEnvironment();
    const config = loadSenderConfig(environment);
    const domain = config.platformFromAddress.split('@')[1] ?? '';
    for (let attempt = 0; attempt < 100; attempt += 1) {
      if (
        (await client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }))).VerifiedForSendingStatus
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const run = Date.now().toString(36);
    const tenantId = `bench-cpu-${run}`;
    await new DynamoTenantStore(DynamoDBDocumentClient.from(dynamodb), {
      tableName: config.tables.tenants,
    }).put({
      tenantId,
      displayName: 'Bench CPU',
      profileEmail: 'billing@bench.example',
      environments: { 'developer-sandbox': { method: 'default' } },
    });
    const plainTable = `bench-plain-sent-${run}`;
    await dynamodb.send(
      new CreateTableCommand({
        TableName: plainTable,
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const endpoints = {
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: stack.dynamodbEndpoint,
      AWS_ENDPOINT_URL_SQS: stack.sqsEndpoint,
      AWS_ENDPOINT_URL_SESV2: ses.url,
      POWERTOOLS_LOG_LEVEL: 'WARN',
    };
    const start = async (name: string, entry: string, env: Record<string, string>) => {
      const dir = join(outdir, name);
      await bundle(entry, dir);
      const fn = createLambdaFunction({
        name,
        assetDirectory: dir,
        handler: 'index.handler',
        environment: { ...env, ...endpoints },
        timeoutSeconds: 60,
        memoryMb: 512,
      });
      functions.push(fn);
      return fn;
    };
    const tenantMail = await start(
      'send-email',
      join(__dirname, '..', 'lambdas', 'handlers', 'send-email.handler.ts'),
      environment,
    );
    const plain = await start('plain-sender', join(__dirname, 'reference', 'plain-sender.handler.ts'), {
      TABLE_NAME: plainTable,
    });
    let sequence = 0;
    const bodies = {
      tenantMail: (i: number) =>
        JSON.stringify({
          tenantId,
          environment: 'developer-sandbox',
          to: [`success+cpu-${i}@simulator.amazonses.com`],
          subject: `Invoice ${i} is ready`,
          text: `Your invoice ${i} of 120.00 EUR is due on 31 December 2026.`,
          idempotencyKey: `cpu-${run}-${i}`,
        }),
      plain: (i: number) =>
        JSON.stringify({
          from: config.platformFromAddress,
          to: [`success+cpu-${i}@simulator.amazonses.com`],
          subject: `Invoice ${i} is ready`,
          text: `Your invoice ${i} of 120.00 EUR is due on 31 December 2026.`,
        }),
    };
    const measure = async (fn: LambdaFunction, body: (i: number) => string, emails: number) => {
      const sentBefore = ses.store.messages.length;
      const before = otherThreadsMs();
      for (let done = 0; done < emails; done += 10) {
        const records = Array.from({ length: Math.min(10, emails - done) }, () => ({
          body: body(sequence++),
        }));
        const response = (await fn.invoke(sqsEvent(...records))) as
          | { batchItemFailures?: unknown[] }
          | undefined;
        if ((response?.batchItemFailures?.length ?? 0) > 0)
          throw new Error(`${fn.name} failed records: ${JSON.stringify(response)}`);
      }
      const cpu = otherThreadsMs() - before;
      const sent = ses.store.messages.length - sentBefore;
      if (sent !== emails) throw new Error(`${fn.name}: SES accepted ${sent} of ${emails}`);
      return cpu / emails;
    };
    // Warm-up: cold start, caches, JIT.
    await measure(tenantMail, bodies.tenantMail, 20);
    await measure(plain, bodies.plain, 20);
    const result = { tenantMail: [] as number[], plain: [] as number[] };
    for (let repeat = 0; repeat < options.repeats; repeat += 1) {
      const order =
        repeat % 2 === 0 ? (['tenantMail', 'plain'] as const) : (['plain', 'tenantMail'] as const);
      for (const which of order) {
        result[which].push(
          await measure(which === 'plain' ? plain : tenantMail, bodies[which], options.emails),
        );
      }
    }
    return { ...options, ...result };
  } finally {
    await Promise.all(functions.map((fn) => fn.stop()));
    await stop();
    dynamodb.destroy();
    rmSync(outdir, { recursive: true, force: true });
  }
}

export function senderCpuReport(result: SenderCpuResult): string {
  const [ours, peer] = [median(result.tenantMail), median(result.plain)];
  const runs = (samples: readonly number[]) => samples.map((value) => fmt(value, 2)).join(', ');
  return [
    markdownTable(
      ['handler', 'CPU ms per email, median of runs', 'each run', '× plain sender'],
      [
        ['`send-email.handler.ts`', fmt(ours, 2), runs(result.tenantMail), fmt(ours / peer, 2)],
        ['reference: `plain-sender.handler.ts`', fmt(peer, 2), runs(result.plain), '1.00'],
      ],
    ),
    '',
    `${result.repeats} runs of ${fmt(result.emails)} emails each, alternating; target ≤ 1.2×.`,
  ].join('\n');
}
