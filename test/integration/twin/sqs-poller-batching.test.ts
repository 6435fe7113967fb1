import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { createSqsPoller, type SqsPoller } from '../../../local/twin/sqs-poller';
import { testAws } from '../../support/env';

const sqs = new SQSClient(testAws.sqs);
const run = `${Date.now().toString(36)}-${process.pid}`;
let queueUrl: string;
let poller: SqsPoller | undefined;
let queues = 0;

beforeEach(async () => {
  queues += 1;
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `poller-window-${run}-${queues}` }),
  );
  queueUrl = QueueUrl ?? '';
});

afterEach(async () => {
  await poller?.stop();
  poller = undefined;
  await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
});

afterAll(() => sqs.destroy());

const until = async (check: () => Promise<boolean> | boolean) => {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20));
};

const inFlight = async () => {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
};

const send = (body: string) => sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));

/** Starts a poller on the test queue that records each invocation's bodies. */
function pollerWith(options: { batchSize: number; maximumBatchingWindowSeconds?: number }): string[][] {
  const batches: string[][] = [];
  poller = createSqsPoller(
    sqs,
    async (event: SQSEvent) => {
      batches.push(event.Records.map((record) => record.body));
      return { batchItemFailures: [] };
    },
    { queueUrl, queueArn: `arn:aws:sqs:local:000000000000:${run}`, ...options },
  );
  poller.start();
  return batches;
}

describe('SQS poller (the twin’s event source mapping)', () => {
  it('invokes at once with what a receive returned when the mapping has no batching window', async () => {
    const batches = pollerWith({ batchSize: 3 });
    await send('first');
    await until(() => batches.length > 0);
    expect(batches).toEqual([['first']]);
  });

  it('keeps gathering records within the batching window until the batch is full', async () => {
    // A 20 s window: the batch below can only be complete early because it filled up, not because it expired.
    const batches = pollerWith({ batchSize: 3, maximumBatchingWindowSeconds: 20 });
    await send('first');
    // The first record is received (in flight) but held while the window is open.
    await until(async () => (await inFlight()) === 1);
    expect(batches).toEqual([]);
    await send('second');
    await send('third');
    await until(() => batches.length > 0);
    expect(batches).toEqual([['first', 'second', 'third']]);
  });

  it('invokes with a partial batch when the batching window expires', async () => {
    const batches = pollerWith({ batchSize: 10, maximumBatchingWindowSeconds: 1 });
    await send('alone');
    await until(() => batches.length > 0);
    expect(batches).toEqual([['alone']]);
  });
});
