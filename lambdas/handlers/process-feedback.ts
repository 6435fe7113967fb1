import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { PermanentError } from '../domain/errors';
import {
  type FeedbackOutcome,
  type ProcessFeedbackDeps,
  processFeedback,
} from '../domain/feedback/process-feedback';

/** Where feedback that can never be processed goes, with the reason, instead of being retried. */
export interface FeedbackDeadLetters {
  put(body: string, failure: { readonly code: string; readonly reason: string }): Promise<void>;
}

/** SQS message attributes are limited to 256 KB in total; a reason is one readable sentence. */
const MAX_REASON = 1_000;

/**
 * Puts a body on the feedback dead-letter queue with `reason` and `code` message attributes, so an operator
 * sees why in the console (or `aws sqs receive-message --message-attribute-names All`) next to the body.
 */
export class SqsFeedbackDeadLetters implements FeedbackDeadLetters {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async put(body: string, failure: { readonly code: string; readonly reason: string }): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        // SQS refuses an empty body; keep the record recognisable.
        MessageBody: body === '' ? '(empty body)' : body,
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: failure.reason.slice(0, MAX_REASON) || failure.code },
          code: { DataType: 'String', StringValue: failure.code },
        },
      }),
    );
  }
}

/** Signals operators alarm on: the lead's alarms watch `TenantMail` `ReputationWarn` / `ReputationPause`. */
export interface ReputationAlerts {
  emit(tenantId: string, level: 'warn' | 'pause'): void;
  /** Feedback refused and dead-lettered, by the code of the check that refused it (`FeedbackRejected`). */
  rejected?(code: string): void;
}

/** Namespace of the feedback Lambda's metrics. */
export const METRICS_NAMESPACE = 'TenantMail';

/**
 * One EMF record per alert (Powertools `singleMetric`), because a batch mixes tenants and each metric carries
 * its own `tenant` dimension.
 */
export function powertoolsReputationAlerts(
  metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'tenant-mail' }),
): ReputationAlerts {
  return {
    emit(tenantId, level) {
      const metric = metrics.singleMetric();
      metric.addDimension('tenant', tenantId);
      metric.addMetric(level === 'pause' ? 'ReputationPause' : 'ReputationWarn', MetricUnit.Count, 1);
    },
    rejected(code) {
      const metric = metrics.singleMetric();
      metric.addDimension('code', code);
      metric.addMetric('FeedbackRejected', MetricUnit.Count, 1);
    },
  };
}

export interface ProcessFeedbackHandlerDeps extends ProcessFeedbackDeps {
  readonly deadLetters: FeedbackDeadLetters;
  /** @default Powertools metrics in the `TenantMail` namespace */
  readonly alerts?: ReputationAlerts;
}

export type FeedbackRecordOutcome = FeedbackOutcome | { readonly deadLettered: string };

/**
 * The feedback Lambda's SQS adapter (the `feedback` queue, subscribed to the configuration set's SNS topic).
 * Each record goes through `processFeedback`. A PermanentError (malformed or unattributable feedback) is
 * logged and put on the feedback dead-letter queue with its reason, then acknowledged: it is never retried.
 * Anything else is a batch item failure: SQS redelivers it, and its redrive policy dead-letters it in the end.
 */
export function createProcessFeedbackHandler(
  deps: ProcessFeedbackHandlerDeps,
  logger = new Logger({ serviceName: 'tenant-mail' }),
) {
  const processor = new BatchProcessor(EventType.SQS);
  const alerts = deps.alerts ?? powertoolsReputationAlerts();
  const handleRecord = async (record: SQSRecord): Promise<FeedbackRecordOutcome> => {
    let outcome: FeedbackOutcome;
    try {
      outcome = await processFeedback(record.body, deps);
    } catch (error) {
      if (!(error instanceof PermanentError)) throw error;
      logger.warn('feedback dead-lettered', {
        sqsMessageId: record.messageId,
        code: error.code,
        reason: error.message,
      });
      await deps.deadLetters.put(record.body, { code: error.code, reason: error.message });
      alerts.rejected?.(error.code);
      return { deadLettered: error.code };
    }
    const { evaluation, counted, pausedEnvironments } = outcome;
    if (evaluation?.level === 'warn' && counted > 0) alerts.emit(outcome.tenantId, 'warn');
    if (evaluation?.level === 'pause' && (counted > 0 || pausedEnvironments.length > 0)) {
      alerts.emit(outcome.tenantId, 'pause');
    }
    if (pausedEnvironments.length > 0) {
      logger.warn('tenant paused by the reputation guard', {
        tenantId: outcome.tenantId,
        environments: pausedEnvironments,
        reason: evaluation?.reason,
      });
    }
    logger.info('feedback applied', {
      sqsMessageId: record.messageId,
      eventType: outcome.eventType,
      messageId: outcome.messageId,
      tenantId: outcome.tenantId,
      timeline: outcome.timeline,
      suppressed: outcome.suppressed,
      reputation: evaluation?.level,
    });
    return outcome;
  };
  return middy(
    async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
      processPartialResponse(event, handleRecord, processor, { context, throwOnFullBatchFailure: false }),
  ).use(injectLambdaContext(logger));
}
