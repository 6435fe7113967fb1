import { Resolver } from 'node:dns/promises';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startLocalDnsServer } from '../../../local/dns/dns-server';
import type { CfnTemplate } from '../../../local/twin/cloud-assembly';
import {
  createLambdaFunction,
  FunctionTimeoutError,
  type LambdaFunction,
} from '../../../local/twin/function-runtime';
import { provisionTemplates } from '../../../local/twin/provision';
import { runFunctions } from '../../../local/twin/run-functions';
import { testAws } from '../../support/env';

const root = mkdtempSync(join(tmpdir(), 'tm-runtime-'));
const started: LambdaFunction[] = [];

/** Writes a bundled asset (`index.js`) with the given handler source and returns its folder. */
function asset(name: string, source: string): string {
  const folder = join(root, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'index.js'), source);
  return folder;
}

function lambda(spec: Parameters<typeof createLambdaFunction>[0]): LambdaFunction {
  const fn = createLambdaFunction(spec);
  started.push(fn);
  return fn;
}

/** Polls `check` until it returns true; fails after `ms`. A deadline, not a timing assertion. */
async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

afterAll(async () => {
  await Promise.all(started.map((fn) => fn.stop()));
  rmSync(root, { recursive: true, force: true });
});

const ENV_HANDLER = `
let invocations = 0;
exports.handler = async (event, context) => ({
  env: { ...process.env },
  invocations: ++invocations,
  memoryLimitInMB: context.memoryLimitInMB,
  remaining: context.getRemainingTimeInMillis(),
  functionName: context.functionName,
});`;

describe('function runtime (one execution environment per concurrent invocation)', () => {
  it("gives each function exactly its own template's environment, nothing from another function or the twin", async () => {
    const a = lambda({
      name: 'FunctionA',
      assetDirectory: asset('a', ENV_HANDLER),
      handler: 'index.handler',
      environment: { ONLY_IN_A: 'a', SHARED_NAME: 'from-a' },
    });
    const b = lambda({
      name: 'FunctionB',
      assetDirectory: asset('b', ENV_HANDLER),
      handler: 'index.handler',
      environment: { ONLY_IN_B: 'b' },
      memoryMb: 256,
    });
    const seenByA = (await a.invoke({})) as { env: Record<string, string> };
    const seenByB = (await b.invoke({})) as { env: Record<string, string>; memoryLimitInMB: string };

    expect(seenByA.env).toMatchObject({ ONLY_IN_A: 'a', SHARED_NAME: 'from-a' });
    expect(seenByB.env).toMatchObject({
      ONLY_IN_B: 'b',
      AWS_LAMBDA_FUNCTION_NAME: 'FunctionB',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
    });
    expect(seenByB.env).not.toHaveProperty('ONLY_IN_A');
    expect(seenByB.env).not.toHaveProperty('SHARED_NAME');
    expect(seenByA.env).not.toHaveProperty('ONLY_IN_B');
    // Nothing leaks into or out of the test process either.
    expect(process.env).not.toHaveProperty('ONLY_IN_A');
    expect(seenByA.env).not.toHaveProperty('JEST_WORKER_ID');
  });

  it('reports the memory size and an honest remaining time in the context', async () => {
    const fn = lambda({
      name: 'Ctx',
      assetDirectory: asset('ctx', ENV_HANDLER),
      handler: 'index.handler',
      environment: {},
      memoryMb: 1024,
      timeoutSeconds: 7,
    });
    const seen = (await fn.invoke({})) as {
      memoryLimitInMB: string;
      remaining: number;
      functionName: string;
    };
    expect(seen.memoryLimitInMB).toBe('1024');
    expect(seen.functionName).toBe('Ctx');
    expect(seen.remaining).toBeGreaterThan(0);
    expect(seen.remaining).toBeLessThanOrEqual(7_000);
  });

  it('ends an invocation that runs past its timeout, discards the environment, and keeps the main thread serving', async () => {
    const dns = await startLocalDnsServer();
    dns.setRecords('alive.example', 'TXT', ['yes']);
    try {
      const fn = lambda({
        name: 'Spinner',
        assetDirectory: asset(
          'spin',
          `let invocations = 0;
           exports.handler = async (event) => {
             invocations += 1;
             if (event.spin) for (;;) {}
             return invocations;
           };`,
        ),
        handler: 'index.handler',
        environment: {},
        timeoutSeconds: 1,
      });
      expect(await fn.invoke({})).toBe(1);
      let settled = false;
      const spinning = fn.invoke({ spin: true }).finally(() => {
        settled = true;
      });
      // An emulator in the main thread answers while the function spins the CPU in its worker.
      const resolver = new Resolver();
      resolver.setServers([dns.server]);
      expect(await resolver.resolveTxt('alive.example')).toEqual([['yes']]);
      expect(settled).toBe(false);

      await expect(spinning).rejects.toThrow(FunctionTimeoutError);
      await expect(spinning).rejects.toThrow('Spinner: Task timed out after 1.00 seconds');
      // The next invocation gets a fresh environment (a cold start): module state starts over.
      expect(await fn.invoke({})).toBe(1);
      expect(fn.coldStarts).toBe(2);
    } finally {
      await dns.stop();
    }
  });

  it('fails an invocation whose handler throws, with the error name and message, and reuses the environment', async () => {
    const fn = lambda({
      name: 'Thrower',
      assetDirectory: asset(
        'throw',
        `exports.handler = async (event) => {
           if (event.fail) { const e = new Error('bad input'); e.name = 'ValidationError'; throw e; }
           return 'ok';
         };`,
      ),
      handler: 'index.handler',
      environment: {},
    });
    await expect(fn.invoke({ fail: true })).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'bad input',
    });
    expect(await fn.invoke({})).toBe('ok');
    expect(fn.coldStarts).toBe(1);
  });
});

describe('runFunctions (event source mappings and schedules from a template)', () => {
  const run = `${Date.now().toString(36)}-${process.pid}`;
  const sqs = new SQSClient(testAws.sqs);
  const dynamodb = new DynamoDBClient(testAws.dynamodb);
  let queueUrl = '';

  afterAll(async () => {
    if (queueUrl) await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    sqs.destroy();
    dynamodb.destroy();
  });

  it('invokes a mapping with as many concurrent batches as its MaximumConcurrency, above the old cap of 4', async () => {
    const MAX_CONCURRENCY = 6;
    const MESSAGES = 18;
    // Each invocation calls this barrier and waits until the test lets it go.
    const held: ServerResponse[] = [];
    let maxHeld = 0;
    let arrived = 0;
    const barrier = createServer((_: IncomingMessage, response: ServerResponse) => {
      held.push(response);
      arrived += 1;
      maxHeld = Math.max(maxHeld, held.length);
    });
    await new Promise<void>((resolve) => barrier.listen(0, '127.0.0.1', resolve));
    const address = barrier.address();
    const barrierUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;

    // A template as the CDK writes it (functions carry Metadata, which CfnTemplate does not model).
    const template = {
      Resources: {
        Queue: {
          Type: 'AWS::SQS::Queue',
          Properties: { QueueName: `tm-runtime-${run}`, VisibilityTimeout: 60 },
        },
        Fn: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            Handler: 'index.handler',
            Timeout: 30,
            MemorySize: 256,
            Environment: { Variables: { BARRIER_URL: barrierUrl, QUEUE_URL: { Ref: 'Queue' } } },
          },
          Metadata: {
            'aws:asset:path': asset(
              'barrier',
              `exports.handler = async (event) => {
                 await fetch(process.env.BARRIER_URL);
                 return { batchItemFailures: [] };
               };`,
            ),
            'tenant-mail:handler': 'barrier.handler.ts',
          },
        },
        Mapping: {
          Type: 'AWS::Lambda::EventSourceMapping',
          Properties: {
            FunctionName: { Ref: 'Fn' },
            EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] },
            BatchSize: 1,
            ScalingConfig: { MaximumConcurrency: MAX_CONCURRENCY },
          },
        },
      },
    } as CfnTemplate;
    const scope = await provisionTemplates([template], { dynamodb, sqs });
    queueUrl = scope.resources.get('Queue')?.ref ?? '';
    for (let i = 0; i < MESSAGES; i += 10) {
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: Math.min(10, MESSAGES - i) }, (_, n) => ({
            Id: String(n),
            MessageBody: `message ${i + n}`,
          })),
        }),
      );
    }
    const errors: unknown[] = [];
    const running = runFunctions([template], '/', scope, sqs, {
      endpointEnv: {},
      onError: (error) => errors.push(error),
    });
    running.start();
    try {
      let released = 0;
      while (released < MESSAGES) {
        await until(
          () => held.length === MAX_CONCURRENCY || (arrived === MESSAGES && held.length > 0),
          `${MAX_CONCURRENCY} invocations at once (arrived ${arrived})`,
        );
        for (const response of held.splice(0)) {
          response.end('go');
          released += 1;
        }
      }
    } finally {
      await running.stop();
      await new Promise((resolve) => barrier.close(resolve));
    }
    expect(arrived).toBe(MESSAGES);
    expect(maxHeld).toBe(MAX_CONCURRENCY);
    expect(running.functions[0]?.runtime.coldStarts).toBe(MAX_CONCURRENCY);
    expect(errors).toEqual([]);
  });

  it('invokes a rate schedule at start with an EventBridge Scheduled Event, and a cron schedule only at its time', async () => {
    const events: unknown[] = [];
    const collector = createServer((request: IncomingMessage, response: ServerResponse) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on('end', () => {
        events.push(JSON.parse(body));
        response.end('ok');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const address = collector.address();
    const collectorUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
    const target = { Arn: { 'Fn::GetAtt': ['Scheduled', 'Arn'] }, Id: 'Target0' };
    const template = {
      Resources: {
        Scheduled: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            Handler: 'index.handler',
            Timeout: 10,
            Environment: { Variables: { COLLECTOR_URL: collectorUrl } },
          },
          Metadata: {
            'aws:asset:path': asset(
              'scheduled',
              `exports.handler = async (event) => {
                 await fetch(process.env.COLLECTOR_URL, { method: 'POST', body: JSON.stringify(event) });
               };`,
            ),
            'tenant-mail:handler': 'scheduled.handler.ts',
          },
        },
        EveryFiveMinutes: {
          Type: 'AWS::Events::Rule',
          Properties: { ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED', Targets: [target] },
        },
        DailyAtThree: {
          Type: 'AWS::Events::Rule',
          Properties: {
            ScheduleExpression: 'cron(0 3 * * ? *)',
            State: 'ENABLED',
            Targets: [{ ...target, Input: '{"includeVerified":true}' }],
          },
        },
      },
    } as CfnTemplate;
    const scope = await provisionTemplates([template], { dynamodb, sqs });
    const running = runFunctions([template], '/', scope, sqs, { endpointEnv: {}, onError: () => undefined });
    expect(running.triggers.map((trigger) => trigger.description)).toEqual([
      'rate(5 minutes) → scheduled.handler.ts',
      'cron(0 3 * * ? *) → scheduled.handler.ts',
    ]);
    running.start();
    await until(() => events.length > 0, 'the rate schedule to fire at start');
    // Stopping waits for invocations in flight, so every invocation made so far has reported.
    await running.stop();
    await new Promise((resolve) => collector.close(resolve));
    expect(events).toEqual([
      expect.objectContaining({
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: '000000000000',
        region: 'us-east-1',
        resources: ['arn:aws:events:us-east-1:000000000000:rule/EveryFiveMinutes'],
        detail: {},
      }),
    ]);
  });

  it('fails a batch whose invocation times out, so SQS delivers it again after the visibility timeout', async () => {
    const receiveCounts: string[] = [];
    const collector = createServer((request: IncomingMessage, response: ServerResponse) => {
      receiveCounts.push(String(request.headers['x-receive-count']));
      response.end('ok');
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const address = collector.address();
    const collectorUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
    const template = {
      Resources: {
        SlowQueue: {
          Type: 'AWS::SQS::Queue',
          Properties: { QueueName: `tm-runtime-slow-${run}`, VisibilityTimeout: 1 },
        },
        Slow: {
          Type: 'AWS::Lambda::Function',
          Properties: {
            Handler: 'index.handler',
            Timeout: 1,
            Environment: { Variables: { COLLECTOR_URL: collectorUrl } },
          },
          Metadata: {
            'aws:asset:path': asset(
              'slow',
              `exports.handler = async (event) => {
                 const count = event.Records[0].attributes.ApproximateReceiveCount;
                 if (count === '1') for (;;) {}
                 await fetch(process.env.COLLECTOR_URL, { headers: { 'x-receive-count': count } });
                 return { batchItemFailures: [] };
               };`,
            ),
            'tenant-mail:handler': 'slow.handler.ts',
          },
        },
        SlowMapping: {
          Type: 'AWS::Lambda::EventSourceMapping',
          Properties: {
            FunctionName: { Ref: 'Slow' },
            EventSourceArn: { 'Fn::GetAtt': ['SlowQueue', 'Arn'] },
            BatchSize: 1,
            ScalingConfig: { MaximumConcurrency: 2 },
          },
        },
      },
    } as CfnTemplate;
    const scope = await provisionTemplates([template], { dynamodb, sqs });
    const slowQueue = scope.resources.get('SlowQueue')?.ref ?? '';
    await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: slowQueue, Entries: [{ Id: '0', MessageBody: 'x' }] }),
    );
    const errors: unknown[] = [];
    const running = runFunctions([template], '/', scope, sqs, {
      endpointEnv: {},
      onError: (error) => errors.push(error),
    });
    running.start();
    try {
      await until(() => receiveCounts.length > 0, 'the second delivery to succeed');
    } finally {
      await running.stop();
      await new Promise((resolve) => collector.close(resolve));
      await sqs.send(new DeleteQueueCommand({ QueueUrl: slowQueue }));
    }
    // The timed-out first delivery came back as the second. (On a loaded machine the successful second can
    // itself outlast the visibility timeout and be delivered a third time: at least once, as SQS is.)
    expect(receiveCounts[0]).toBe('2');
    expect(errors).toEqual([expect.objectContaining({ name: 'FunctionTimeoutError' })]);
  });
});
