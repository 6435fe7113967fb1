import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type BuildOptions, build } from 'esbuild';
import { LazySendLanes } from '../../../lambdas/adapters/lazy-send-lanes';
import { createSendLanes } from '../../../lambdas/handlers/send-email.lanes';
import { LAMBDA_BUNDLE } from '../../../lib/constructs/tenant-mail-function';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import { addressableQueueUrl } from '../../../local/twin/provision';
import { testAws } from '../../support/env';

const ROOT = join(__dirname, '..', '..', '..');

/**
 * The sender's wiring as its `index.js` carries it (`senderDeps` with the deployed clients), bundled from outside
 * the repository with the stack's options, so `./send-email.lanes` stays a file of its own beside it.
 */
const ENTRY = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { senderDeps } from ${JSON.stringify(join(ROOT, 'lambdas', 'handlers', 'send-email.deps.ts'))};
import { loadSenderConfig } from ${JSON.stringify(join(ROOT, 'lambdas', 'shared', 'config.ts'))};

export const deps = senderDeps(loadSenderConfig(), {
  documents: DynamoDBDocumentClient.from(new DynamoDBClient({})),
  ses: new SESv2Client({}),
});
`;

/** Wires the sender from the bundle, defers one email, prints whether the lanes module was loaded before and after. */
const DEFER = `
const [dir, message] = process.argv.slice(1);
const lanesLoaded = () => Object.keys(require.cache).some((file) => file.endsWith('send-email.lanes.js'));
const { deps } = require(dir + '/index.js');
const loadedAtStart = lanesLoaded();
deps.lanes.publish([JSON.parse(message)], { delaySeconds: 0 }).then(
  (result) => process.stdout.write(JSON.stringify({ loadedAtStart, loadedAfter: lanesLoaded(), ...result }), () => process.exit(0)),
  (error) => process.stdout.write(JSON.stringify({ error: String(error) }), () => process.exit(0)),
);
`;

describe("the sender's send lanes, loaded at its first deferral", () => {
  const run = `${Date.now().toString(36)}-${process.pid}`;
  const sqs = new SQSClient(testAws.sqs);
  let dir: string;
  let transactional: string;
  let bulk: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tenant-mail-lanes-bundle-'));
    [transactional = '', bulk = ''] = await Promise.all(
      ['send', 'send-bulk'].map(async (lane) => {
        const { QueueUrl = '' } = await sqs.send(
          new CreateQueueCommand({ QueueName: `lanes-${lane}-${run}` }),
        );
        return addressableQueueUrl(QueueUrl, String(testAws.sqs.endpoint));
      }),
    );
    await writeFile(join(dir, 'entry.ts'), ENTRY);
    const options: BuildOptions = {
      ...LAMBDA_BUNDLE,
      alias: { ...LAMBDA_BUNDLE.alias },
      mainFields: [...LAMBDA_BUNDLE.mainFields],
      external: [...LAMBDA_BUNDLE.external],
      nodePaths: [join(ROOT, 'node_modules')],
      logLevel: 'error',
    };
    await build({ ...options, entryPoints: [join(dir, 'entry.ts')], outfile: join(dir, 'index.js') });
    await build({
      ...options,
      entryPoints: [join(ROOT, 'lambdas', 'handlers', 'send-email.lanes.ts')],
      outfile: join(dir, 'send-email.lanes.js'),
    });
  });

  afterAll(async () => {
    for (const url of [transactional, bulk]) await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    sqs.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the SQS client at the first deferral, not at start, and puts the email back on its lane', async () => {
    const message = {
      messageId: `m-${run}`,
      tenantId: 'tenant-a',
      category: 'bulk',
      body: JSON.stringify({ tenantId: 'tenant-a', idempotencyKey: `k-${run}` }),
    };
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['-e', DEFER, dir, JSON.stringify(message)],
      {
        // What a Lambda function has: credentials and region in the environment, and the sender's settings.
        env: {
          PATH: process.env.PATH ?? '',
          AWS_REGION: LOCAL_REGION,
          AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
          AWS_ENDPOINT_URL_SQS: String(testAws.sqs.endpoint),
          SCOPE: 'dev',
          SERVED_ENVIRONMENTS: 'developer-sandbox,central-sandbox',
          PLATFORM_FROM_ADDRESS: 'notifications@mail-dev.example-platform.com',
          CONFIGURATION_SET_NAME: 'tenant-mail-dev',
          MESSAGE_RETENTION_DAYS: '30',
          SEND_MAX_RECEIVE_COUNT: '5',
          SEND_QUEUE_URL: transactional,
          BULK_SEND_QUEUE_URL: bulk,
          TABLE_TENANTS: 'tenants',
          TABLE_MESSAGES: 'messages',
          TABLE_SUPPRESSIONS: 'suppressions',
          TABLE_IDENTITIES: 'identities',
          TABLE_COUNTERS: 'counters',
        },
      },
    );

    expect(JSON.parse(stdout)).toEqual({
      loadedAtStart: false,
      loadedAfter: true,
      sent: [message.messageId],
    });
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: bulk, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    expect(received.Messages?.map((entry) => entry.Body)).toEqual([message.body]);
  });

  it('fails the deferral whose load fails, and loads again at the next one', async () => {
    let loads = 0;
    const lazy = new LazySendLanes(() => {
      loads += 1;
      if (loads === 1) throw new Error("Cannot find module './send-email.lanes'");
      return createSendLanes({ transactional, bulk }, sqs);
    });
    const message = {
      messageId: `retry-${run}`,
      tenantId: 'tenant-b',
      category: 'transactional' as const,
      body: `{"retry":"${run}"}`,
    };

    await expect(lazy.publish([message])).rejects.toThrow("Cannot find module './send-email.lanes'");
    expect(lazy.isLoaded).toBe(false);
    await expect(lazy.publish([message])).resolves.toEqual({ sent: [message.messageId] });
    expect(loads).toBe(2);
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: transactional, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    expect(received.Messages?.map((entry) => entry.Body)).toEqual([message.body]);
  });
});
