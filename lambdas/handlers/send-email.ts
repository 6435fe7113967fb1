import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type SendEmailDeps, sendEmail } from '../domain/sending/send-email';

/**
 * The sender's SQS adapter: each record goes through the `sendEmail` use case; a record that throws is
 * reported as a batch item failure (SQS redelivers it, then dead-letters it), the others are deleted. The sends
 * the batch's emails add to their tenants' reputation counters are written once, at the end.
 */
export function createSendEmailHandler(
  deps: SendEmailDeps,
  logger = new Logger({ serviceName: 'tenant-mail' }),
) {
  const processor = new BatchProcessor(EventType.SQS);
  const sendDeps: SendEmailDeps = { warn: (message, detail) => logger.warn(message, detail), ...deps };
  const handleRecord = async (record: SQSRecord) => {
    const outcome = await sendEmail(
      {
        body: record.body,
        sqsMessageId: record.messageId,
        receiveCount: Number(record.attributes.ApproximateReceiveCount || '1'),
      },
      sendDeps,
    );
    logger.info('send record settled', { sqsMessageId: record.messageId, outcome });
    return outcome;
  };
  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    try {
      return await processPartialResponse(event, handleRecord, processor, {
        context,
        throwOnFullBatchFailure: false,
      });
    } finally {
      // The batch's sends, one write per tenant; a failure changes no email's outcome.
      await sendDeps.sendFeedback.flush().catch((error: unknown) => {
        logger.warn('sends not counted toward reputation', { error });
      });
    }
  }).use(injectLambdaContext(logger));
}
