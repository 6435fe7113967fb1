import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { LOCAL_REGION } from '../emulators/local-aws';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface SqsPollerOptions {
  readonly queueUrl: string;
  readonly queueArn: string;
  /** As the event source mapping's BatchSize. @default 10 */
  readonly batchSize?: number;
  /** As the event source mapping's ScalingConfig.MaximumConcurrency. @default 1 */
  readonly maxConcurrency?: number;
  /** Long-poll wait per receive. @default 1 s */
  readonly waitTimeSeconds?: number;
  /**
   * As the event source mapping's MaximumBatchingWindowInSeconds: once a receive returns fewer than
   * `batchSize` messages, keep gathering until the batch is full or this long has passed. @default 0
   */
  readonly maximumBatchingWindowSeconds?: number;
  readonly functionName?: string;
  /** For an in-process handler's context (the twin's workers build their own): the function's timeout. @default 30 */
  readonly timeoutSeconds?: number;
  /** For an in-process handler's context: the function's memory size. @default 512 */
  readonly memoryMb?: number;
  readonly onError?: (error: unknown) => void;
}

export interface SqsPoller {
  /** Polls until the queue has returned nothing `idleRounds` times in a row (for tests and scripts). */
  drain(idleRounds?: number): Promise<number>;
  /** Polls in the background until `stop()`. */
  start(): void;
  stop(): Promise<void>;
}

/**
 * What Lambda's SQS event source mapping does, on the emulators (the twin passes a handler that invokes the
 * function in its worker, see run-functions.ts; tests pass handlers in-process): receive a batch, invoke the handler with
 * an SQS event, delete the records that succeeded and leave the batch item failures to become visible again
 * (so SQS redelivers them and, after maxReceiveCount, moves them to the dead-letter queue).
 */
export function createSqsPoller(sqs: SQSClient, handler: SqsHandler, options: SqsPollerOptions): SqsPoller {
  const batchSize = options.batchSize ?? 10;
  let running = false;
  let loops: Promise<void>[] = [];

  const batchingWindowMs = (options.maximumBatchingWindowSeconds ?? 0) * 1000;
  const receive = async (maxMessages: number, waitTimeSeconds: number) =>
    (
      await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: options.queueUrl,
          MaxNumberOfMessages: maxMessages,
          WaitTimeSeconds: waitTimeSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      )
    ).Messages ?? [];

  const pollOnce = async (waitTimeSeconds: number): Promise<number> => {
    const Messages = await receive(batchSize, waitTimeSeconds);
    if (Messages.length === 0) return 0;
    // Lambda's event source mapping gathers records until the batching window (MaximumBatchingWindowInSeconds)
    // expires, the batch size is met or the payload reaches 6 MB, whichever comes first; for SQS the window
    // defaults to 0: it invokes at once with what a poll returned (AWS Lambda Developer Guide, "Batching
    // behavior" of event source mappings). Here the window runs from the first record; short polls every 100 ms
    // stand in for Lambda's pollers.
    const windowEnds = performance.now() + batchingWindowMs;
    while (Messages.length < batchSize && performance.now() < windowEnds) {
      const more = await receive(batchSize - Messages.length, 0);
      Messages.push(...more);
      if (more.length === 0)
        await new Promise((resolve) =>
          setTimeout(resolve, Math.max(0, Math.min(100, windowEnds - performance.now()))),
        );
    }
    const event: SQSEvent = { Records: Messages.map((message) => toRecord(message, options.queueArn)) };
    let failed = new Set<string>();
    try {
      const response = await handler(
        event,
        lambdaContext(options.functionName ?? 'local', options.timeoutSeconds ?? 30, options.memoryMb ?? 512),
      );
      failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    } catch (error) {
      // A thrown invocation fails the whole batch, as on Lambda.
      options.onError?.(error);
      return Messages.length;
    }
    const done = Messages.filter((message) => !failed.has(message.MessageId ?? ''));
    if (done.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: done.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
          })),
        }),
      );
    }
    return Messages.length;
  };

  return {
    async drain(idleRounds = 2) {
      let total = 0;
      let idle = 0;
      while (idle < idleRounds) {
        const received = await pollOnce(0);
        total += received;
        idle = received === 0 ? idle + 1 : 0;
        if (received === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return total;
    },
    start() {
      running = true;
      loops = Array.from({ length: options.maxConcurrency ?? 1 }, async () => {
        while (running) {
          try {
            await pollOnce(options.waitTimeSeconds ?? 1);
          } catch (error) {
            options.onError?.(error);
            await new Promise((resolve) => setTimeout(resolve, 500));
          }
        }
      });
    },
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

export interface SqsRecordInput {
  readonly body: string;
  /** @default a random UUID */
  readonly messageId?: string;
  readonly receiptHandle?: string;
  /** SQS ApproximateReceiveCount. @default 1 */
  readonly receiveCount?: number;
  /** @default a local ARN */
  readonly queueArn?: string;
}

/** One record of an SQS event as Lambda delivers it (the poller's, and tests' that invoke handlers directly). */
export function sqsRecord(input: SqsRecordInput): SQSRecord {
  const messageId = input.messageId ?? crypto.randomUUID();
  const now = String(Date.now());
  return {
    messageId,
    receiptHandle: input.receiptHandle ?? messageId,
    body: input.body,
    attributes: {
      ApproximateReceiveCount: String(input.receiveCount ?? 1),
      SentTimestamp: now,
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: now,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: input.queueArn ?? `arn:aws:sqs:${LOCAL_REGION}:000000000000:local`,
    awsRegion: LOCAL_REGION,
  };
}

/** An SQS event of the given records. */
export function sqsEvent(...records: readonly SqsRecordInput[]): SQSEvent {
  return { Records: records.map(sqsRecord) };
}

function toRecord(message: Message, queueArn: string): SQSRecord {
  return sqsRecord({
    body: message.Body ?? '',
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? '1'),
    queueArn,
  });
}

export function lambdaContext(functionName: string, timeoutSeconds: number, memoryMb: number): Context {
  const deadline = Date.now() + timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:000000000000:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
