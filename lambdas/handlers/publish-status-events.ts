import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import middy from '@middy/core';
import type {
  Context,
  DynamoDBBatchResponse,
  DynamoDBRecord,
  DynamoDBStreamEvent,
  AttributeValue as StreamAttributeValue,
} from 'aws-lambda';
import { StatusEventsNotPublishedError } from '../domain/message/errors';
import { type StatusEvent, type StatusEventBus, statusEventOf } from '../domain/message/status-events';
import type { Scope } from '../domain/scope';

export interface PublishStatusEventsDeps {
  readonly scope: Scope;
  readonly bus: StatusEventBus;
}

const imageOf = (image: Record<string, StreamAttributeValue> | undefined) =>
  image ? unmarshall(image as Record<string, AttributeValue>) : undefined;

/**
 * The messages table's stream adapter: maps each record's old and new image to at most one status event
 * (`statusEventOf`) and puts them on the bus in stream order. When the bus accepts only some, the first record
 * whose event was not accepted is the batch item failure: Lambda retries from it (bisecting the batch), so
 * nothing is skipped and order is kept; a record published again carries the same `detail.id`.
 */
export function createPublishStatusEventsHandler(
  deps: PublishStatusEventsDeps,
  logger = new Logger({ serviceName: 'tenant-mail' }),
) {
  return middy(async (event: DynamoDBStreamEvent, _context: Context): Promise<DynamoDBBatchResponse> => {
    const pending: { record: DynamoDBRecord; event: StatusEvent }[] = [];
    for (const record of event.Records) {
      const status = statusEventOf(
        deps.scope,
        imageOf(record.dynamodb?.OldImage),
        imageOf(record.dynamodb?.NewImage),
      );
      if (status) pending.push({ record, event: status });
    }
    if (pending.length === 0) return { batchItemFailures: [] };
    let accepted = pending.length;
    try {
      await deps.bus.put(pending.map((p) => p.event));
    } catch (error) {
      // Anything else (a bug, a missing permission) fails the whole batch: Lambda retries and bisects it.
      if (!(error instanceof StatusEventsNotPublishedError)) throw error;
      accepted = error.accepted;
      logger.warn('status events not all published', { accepted, error });
    }
    const first = pending[accepted];
    logger.info('status events published', {
      published: accepted,
      failed: pending.length - accepted,
      events: pending.slice(0, accepted).map((p) => p.event.detail.id),
    });
    if (!first) return { batchItemFailures: [] };
    return { batchItemFailures: [{ itemIdentifier: first.record.dynamodb?.SequenceNumber ?? '' }] };
  }).use(injectLambdaContext(logger));
}
