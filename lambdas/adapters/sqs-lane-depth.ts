import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { LaneDepth } from '../domain/message/sweep-stuck';

const COUNTS = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
] as const;

/** A send lane's depth from SQS's approximate counts (visible, in flight, delayed). */
export class SqsLaneDepth implements LaneDepth {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrls: { readonly transactional: string; readonly bulk: string },
  ) {}

  async isEmpty(category: 'transactional' | 'bulk'): Promise<boolean> {
    const { Attributes = {} } = await this.client.send(
      new GetQueueAttributesCommand({ QueueUrl: this.queueUrls[category], AttributeNames: [...COUNTS] }),
    );
    return COUNTS.every((name) => Number(Attributes[name] ?? '0') === 0);
  }
}
