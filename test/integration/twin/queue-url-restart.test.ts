import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type FauxqsServer, startLocalFauxqs } from '../../../local/emulators/fauxqs';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import { provisionTemplates } from '../../../local/twin/provision';

/**
 * The twin restarted on its persisted data (`npm start` after a stop or a crash): fauxqs comes back on another
 * port but answers CreateQueue with the URL it stored when it created the queue. A function's SQS client, set up
 * as Lambda's (no explicit endpoint; the SDK sends to the queue URL's host), must still reach the queue.
 */
const QUEUE = 'restart-probe';
const template = {
  Resources: { Probe: { Type: 'AWS::SQS::Queue', Properties: { QueueName: QUEUE } } },
};
const silent = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

describe('queue URLs after the twin restarts on persisted data', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fauxqs-restart-'));
  const dynamodb = new DynamoDBClient({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  let fauxqs: FauxqsServer | undefined;
  const clients: SQSClient[] = [];
  const client = (endpoint?: string) => {
    const sqs = new SQSClient({
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      logger: silent,
      maxAttempts: 1,
      ...(endpoint ? { endpoint } : {}),
    });
    clients.push(sqs);
    return sqs;
  };

  afterAll(async () => {
    for (const sqs of clients) sqs.destroy();
    dynamodb.destroy();
    await fauxqs?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('hands functions the queue on the fauxqs serving now, not the port it was created on', async () => {
    fauxqs = await startLocalFauxqs({ dataDir });
    const firstPort = fauxqs.port;
    await provisionTemplates([template], { dynamodb, sqs: client(fauxqs.endpoint) });
    await fauxqs.stop();

    fauxqs = await startLocalFauxqs({ dataDir });
    expect(fauxqs.port).not.toBe(firstPort);
    const twinSqs = client(fauxqs.endpoint);
    // The fault: fauxqs still names the queue at the port of the first run.
    const { QueueUrl: stored = '' } = await twinSqs.send(new CreateQueueCommand({ QueueName: QUEUE }));
    expect(stored).toContain(`:${firstPort}/`);

    const provisioned = await provisionTemplates([template], { dynamodb, sqs: twinSqs });
    const url = provisioned.resources.get('Probe')?.attributes.QueueUrl ?? '';
    expect(new URL(url).origin).toBe(fauxqs.endpoint);
    // A function's client: the queue URL's host is its endpoint (useQueueUrlAsEndpoint), as on Lambda.
    const functionSqs = client();
    const { Successful = [], Failed = [] } = await functionSqs.send(
      new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: '1', MessageBody: 'after restart' }] }),
    );
    expect({ sent: Successful.length, failed: Failed.length }).toEqual({ sent: 1, failed: 0 });
    const { Messages = [] } = await twinSqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }),
    );
    expect(Messages.map((m) => m.Body)).toEqual(['after restart']);
  });
});
