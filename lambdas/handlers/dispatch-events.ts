import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type DispatchDeps, dispatchEvents } from '../domain/notifications/dispatch-events';

/**
 * The dispatcher's SQS adapter on the events queue: each record goes through the `dispatchEvents` use case.
 * Invalid messages are settled by the use case (recorded, dead-lettered, acknowledged); a record that throws is
 * a batch item failure, so SQS redelivers it (and dead-letters it after maxReceiveCount).
 */
export function createDispatchEventsHandler(
  deps: DispatchDeps,
  logger = new Logger({ serviceName: 'tenant-mail' }),
  metrics = new Metrics({ namespace: 'TenantMail', serviceName: 'tenant-mail' }),
) {
  const processor = new BatchProcessor(EventType.SQS);
  let context: Context | undefined;
  const handleRecord = async (record: SQSRecord) => {
    const outcome = await dispatchEvents(
      {
        body: record.body,
        sqsMessageId: record.messageId,
        ...(context ? { remainingTimeMs: () => context?.getRemainingTimeInMillis() ?? 0 } : {}),
      },
      deps,
    );
    logger.info('event record dispatched', { sqsMessageId: record.messageId, ...outcome });
    if (outcome.tenantId && outcome.rejected > 0) {
      // A tenant whose templates or data keep failing is reported (alarm `RejectedJobs`), never retried.
      const metric = metrics.singleMetric();
      metric.addDimension('tenant', outcome.tenantId);
      metric.addMetric('JobsRejected', MetricUnit.Count, outcome.rejected);
    }
    return outcome;
  };
  return middy(async (event: SQSEvent, invocation: Context): Promise<SQSBatchResponse> => {
    context = invocation;
    return processPartialResponse(event, handleRecord, processor, {
      context: invocation,
      throwOnFullBatchFailure: false,
    });
  }).use(injectLambdaContext(logger));
}
