import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type ShardIteratorType,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { LOCAL_REGION } from '../emulators/local-aws';
import { type EventPattern, matchesPattern } from '../eventbridge/event-pattern';
import { lambdaContext } from './sqs-poller';

export type StreamHandler = (
  event: DynamoDBStreamEvent,
  context: Context,
) => Promise<DynamoDBBatchResponse | undefined | null>;

export interface StreamPollerOptions {
  readonly streamArn: string;
  /** As the mapping's StartingPosition. @default 'TRIM_HORIZON' */
  readonly startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  /** As BatchSize. @default 100 */
  readonly batchSize?: number;
  /** As FilterCriteria.Filters[].Pattern: a record reaches the function when any pattern matches it. */
  readonly filters?: readonly EventPattern[];
  /** As BisectBatchOnFunctionError. @default false */
  readonly bisectOnError?: boolean;
  /** As FunctionResponseTypes including ReportBatchItemFailures. @default false */
  readonly reportBatchItemFailures?: boolean;
  /** As MaximumRetryAttempts. @default 10 here (-1, Lambda's default, retries until the record expires) */
  readonly maxRetryAttempts?: number;
  /** As DestinationConfig.OnFailure: where a batch that exhausted its retries is described. */
  readonly onFailure?: { readonly sqs: SQSClient; readonly queueUrl: string };
  readonly functionName?: string;
  /** Wait between polls of a shard that returned nothing. @default 250 ms */
  readonly idleMs?: number;
  readonly onError?: (error: unknown) => void;
}

export interface StreamPoller {
  /** Polls until every shard returned nothing `idleRounds` times in a row (for tests and scripts). */
  drain(idleRounds?: number): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

interface ShardState {
  readonly shardId: string;
  iterator: string | undefined;
  /** The last record read: where a fresh iterator resumes when DynamoDB Local refuses an old one. */
  lastSequence?: string;
  readonly buffer: DynamoDBRecord[];
  /** Failed invocations of the batch at the head of the buffer, and its current size (bisection). */
  attempts: number;
  size: number;
  closed: boolean;
}

/**
 * What Lambda's DynamoDB Streams event source mapping does, against DynamoDB Local's Streams API: reads every
 * shard in order (a child shard after its parent is done), drops records no filter pattern matches (as Lambda
 * does), invokes the handler with batches of `batchSize`, and on a failure retries from the first failed record
 * (ReportBatchItemFailures) or the whole batch, bisecting it when asked, until `maxRetryAttempts`; then it
 * describes the batch on the on-failure queue (Lambda's `DDBStreamBatchInfo` record) and moves on.
 */
export function createStreamPoller(
  streams: DynamoDBStreamsClient,
  handler: StreamHandler,
  options: StreamPollerOptions,
): StreamPoller {
  const shards = new Map<string, ShardState>();
  const parents = new Map<string, string | undefined>();
  const batchSize = options.batchSize ?? 100;
  const maxRetries = options.maxRetryAttempts ?? 10;
  let running = false;
  let loop: Promise<void> | undefined;

  const discover = async () => {
    let start: string | undefined;
    do {
      const { StreamDescription } = await streams.send(
        new DescribeStreamCommand({ StreamArn: options.streamArn, ExclusiveStartShardId: start }),
      );
      for (const shard of StreamDescription?.Shards ?? []) {
        const id = shard.ShardId ?? '';
        if (parents.has(id)) continue;
        parents.set(id, shard.ParentShardId);
        shards.set(id, {
          shardId: id,
          iterator: await iteratorFor(id, options.startingPosition ?? 'TRIM_HORIZON'),
          buffer: [],
          attempts: 0,
          size: batchSize,
          closed: false,
        });
      }
      start = StreamDescription?.LastEvaluatedShardId;
    } while (start);
  };

  const iteratorFor = async (shardId: string, type: ShardIteratorType, after?: string) =>
    (
      await streams.send(
        new GetShardIteratorCommand({
          StreamArn: options.streamArn,
          ShardId: shardId,
          ShardIteratorType: type,
          ...(after ? { SequenceNumber: after } : {}),
        }),
      )
    ).ShardIterator;

  const ready = (id: string) => {
    const parent = parents.get(id);
    const state = parent ? shards.get(parent) : undefined;
    return !state || (state.closed && state.buffer.length === 0);
  };

  const read = async (state: ShardState): Promise<number> => {
    if (!state.iterator || state.buffer.length >= batchSize) return 0;
    let page: GetRecordsCommandOutput;
    try {
      page = await streams.send(new GetRecordsCommand({ ShardIterator: state.iterator, Limit: 1000 }));
    } catch (error) {
      // An iterator DynamoDB Local no longer accepts (expired, or past its trim point): resume after the last
      // record read, as Lambda resumes from its checkpoint.
      const name = (error as Error).name;
      if (name !== 'TrimmedDataAccessException' && name !== 'ExpiredIteratorException') throw error;
      state.iterator = state.lastSequence
        ? await iteratorFor(state.shardId, 'AFTER_SEQUENCE_NUMBER', state.lastSequence)
        : await iteratorFor(state.shardId, 'TRIM_HORIZON');
      return 0;
    }
    const { Records = [], NextShardIterator } = page;
    state.iterator = NextShardIterator;
    const last = Records[Records.length - 1]?.dynamodb?.SequenceNumber;
    if (last) state.lastSequence = last;
    if (!NextShardIterator) state.closed = true;
    const wanted = Records.map(toLambdaRecord(options.streamArn)).filter(
      (record) =>
        !options.filters?.length || options.filters.some((pattern) => matchesPattern(pattern, record)),
    );
    state.buffer.push(...wanted);
    return Records.length;
  };

  const process = async (id: string, state: ShardState): Promise<number> => {
    const batch = state.buffer.slice(0, Math.min(state.size, batchSize));
    if (batch.length === 0) return 0;
    let done = 0;
    let failure: unknown;
    try {
      const response = await handler(
        { Records: batch },
        lambdaContext(options.functionName ?? 'local', 30, 512),
      );
      const failures = options.reportBatchItemFailures ? (response?.batchItemFailures ?? []) : [];
      // Lambda checkpoints before the lowest failed sequence number and retries from there.
      const failed = new Set(failures.map((f) => f.itemIdentifier));
      const first = batch.findIndex((record) => failed.has(record.dynamodb?.SequenceNumber ?? ''));
      done = failures.length === 0 ? batch.length : Math.max(0, first);
      if (done < batch.length)
        failure = new Error(`batch item failure at ${batch[done]?.dynamodb?.SequenceNumber}`);
    } catch (error) {
      failure = error;
    }
    state.buffer.splice(0, done);
    if (done > 0) {
      state.attempts = 0;
      state.size = batchSize;
      return done;
    }
    options.onError?.(failure);
    state.attempts += 1;
    if (options.bisectOnError && state.size > 1) state.size = Math.ceil(state.size / 2);
    if (state.attempts > maxRetries) {
      const failedBatch = state.buffer.splice(0, Math.min(state.size, batchSize));
      await describeFailure(id, failedBatch, state.attempts);
      state.attempts = 0;
      state.size = batchSize;
      return failedBatch.length;
    }
    // Lambda backs off between retries of a failing batch.
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * state.attempts)));
    return 0;
  };

  const describeFailure = async (shardId: string, batch: DynamoDBRecord[], attempts: number) => {
    if (!options.onFailure) return;
    const first = batch[0]?.dynamodb;
    const last = batch[batch.length - 1]?.dynamodb;
    const at = (seconds?: number) => new Date((seconds ?? 0) * 1000).toISOString();
    await options.onFailure.sqs.send(
      new SendMessageCommand({
        QueueUrl: options.onFailure.queueUrl,
        MessageBody: JSON.stringify({
          requestContext: {
            requestId: crypto.randomUUID(),
            functionArn: `arn:aws:lambda:${LOCAL_REGION}:000000000000:function:${options.functionName ?? 'local'}`,
            condition: 'RetryAttemptsExhausted',
            approximateInvokeCount: attempts,
          },
          responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
          version: '1.0',
          timestamp: new Date().toISOString(),
          DDBStreamBatchInfo: {
            shardId,
            startSequenceNumber: first?.SequenceNumber,
            endSequenceNumber: last?.SequenceNumber,
            approximateArrivalOfFirstRecord: at(first?.ApproximateCreationDateTime),
            approximateArrivalOfLastRecord: at(last?.ApproximateCreationDateTime),
            batchSize: batch.length,
            streamArn: options.streamArn,
          },
        }),
      }),
    );
  };

  /** One pass over every shard: read what is new, invoke once per shard with something to do. */
  const round = async (): Promise<number> => {
    await discover();
    let work = 0;
    for (const [id, state] of shards) {
      if (!ready(id)) continue;
      work += await read(state);
      work += await process(id, state);
      work += state.buffer.length;
    }
    return work;
  };

  return {
    async drain(idleRounds = 2) {
      let total = 0;
      let idle = 0;
      while (idle < idleRounds) {
        const work = await round();
        total += work;
        idle = work === 0 ? idle + 1 : 0;
        if (work === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return total;
    },
    start() {
      running = true;
      loop = (async () => {
        while (running) {
          try {
            if ((await round()) === 0) await new Promise((r) => setTimeout(r, options.idleMs ?? 250));
          } catch (error) {
            options.onError?.(error);
            await new Promise((r) => setTimeout(r, 500));
          }
        }
      })();
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** A Streams API record as Lambda hands it to a function (epoch seconds, the stream's ARN). */
function toLambdaRecord(streamArn: string) {
  return (record: StreamRecord): DynamoDBRecord => {
    const data = record.dynamodb;
    const created = data?.ApproximateCreationDateTime;
    return {
      eventID: record.eventID,
      eventName: record.eventName as DynamoDBRecord['eventName'],
      eventVersion: record.eventVersion ?? '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: record.awsRegion ?? LOCAL_REGION,
      eventSourceARN: streamArn,
      dynamodb: {
        ...(created ? { ApproximateCreationDateTime: Math.floor(new Date(created).getTime() / 1000) } : {}),
        ...(data?.Keys ? { Keys: data.Keys as never } : {}),
        ...(data?.NewImage ? { NewImage: data.NewImage as never } : {}),
        ...(data?.OldImage ? { OldImage: data.OldImage as never } : {}),
        ...(data?.SequenceNumber ? { SequenceNumber: data.SequenceNumber } : {}),
        ...(data?.SizeBytes !== undefined ? { SizeBytes: data.SizeBytes } : {}),
        ...(data?.StreamViewType ? { StreamViewType: data.StreamViewType as 'NEW_AND_OLD_IMAGES' } : {}),
      },
    };
  };
}
