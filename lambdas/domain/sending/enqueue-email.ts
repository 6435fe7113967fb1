import { TransientError } from '../errors';
import type { JobRecord, MessageLedger } from '../message/message-ledger';
import { MessageStatus } from '../message/message-status';
import type { SendLanes } from '../message/send-lanes';
import { laneMessage, type SendRequest } from './send-request';

export interface EnqueueDeps {
  readonly ledger: Pick<MessageLedger, 'createJobRecords'>;
  readonly lanes: SendLanes;
}

/** Where the email stands after `enqueueEmail`. */
export type EnqueueResult =
  | { readonly messageId: string; readonly outcome: 'queued' | 'requeued' }
  /** A record under this key is already past QUEUED or already on a lane: nothing was sent again. */
  | { readonly messageId: string; readonly outcome: 'duplicate'; readonly status: MessageStatus };

/** A send-queue batch call left some messages unsent; the caller's message is redelivered and sends them then. */
export class SendQueuePublishError extends TransientError {
  constructor(unsent: number) {
    super(
      'SEND_QUEUE_UNAVAILABLE',
      `${unsent} send-queue messages were not accepted; the event will be retried`,
    );
    this.name = 'SendQueuePublishError';
  }
}

/**
 * Puts one complete email on its send lane the way every email gets there: a QUEUED record with the kept
 * request first (so the sweeper can send it again if the lane message is lost, and `message resend` can copy
 * it), then the lane message. A second call with the same key is one email: a record already past QUEUED is
 * reported as a duplicate and nothing is published; a record still QUEUED is published again (its first lane
 * message may never have reached SQS; if it did, the sender's claim makes the two one email).
 */
export async function enqueueEmail(
  request: SendRequest,
  key: string,
  deps: EnqueueDeps,
  record: Pick<JobRecord, 'jobId' | 'eventId' | 'eventType' | 'definitionId' | 'itemKey'>,
): Promise<EnqueueResult> {
  const message = laneMessage(request, key);
  const [result] = await deps.ledger.createJobRecords([
    {
      ...record,
      messageId: message.messageId,
      tenantId: request.tenantId,
      environment: request.environment,
      category: request.category,
      status: MessageStatus.QUEUED,
      recipients: [...request.to, ...request.cc, ...request.bcc],
      subject: request.subject,
      request: message.body,
    },
  ]);
  if (result && !result.created && result.status !== MessageStatus.QUEUED) {
    return { messageId: message.messageId, outcome: 'duplicate', status: result.status };
  }
  const { sent } = await deps.lanes.publish([message]);
  if (sent.length !== 1) throw new SendQueuePublishError(1);
  return { messageId: message.messageId, outcome: result?.created === false ? 'requeued' : 'queued' };
}
