import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface WorkQueueProps {
  /** Physical queue name; the dead-letter queue adds `-dlq`. */
  readonly queueName: string;
  /** Timeout of the function that consumes the queue; the visibility timeout is six times it (AWS guidance). */
  readonly consumerTimeout: Duration;
  /** Receives before a message moves to the dead-letter queue. @default 5 (must be ≥ 5) */
  readonly maxReceiveCount?: number;
  /** Where the dead-letter alarm notifies; the alarm exists either way. */
  readonly alarmTopic?: ITopic;
  /** How long the dead-letter queue keeps messages for inspection and redrive. @default 14 days */
  readonly deadLetterRetention?: Duration;
}

/**
 * An encrypted (SSE-SQS), TLS-only dead-letter queue (`DeadLetterQueue` in `scope`, kept 14 days by default) and
 * the alarm (`DeadLetterAlarm`) that fires on any message in it: every dead-letter destination of the stack.
 */
export function alarmedDeadLetterQueue(
  scope: Construct,
  props: {
    readonly queueName: string;
    readonly alarmDescription: string;
    readonly alarmTopic?: ITopic;
    readonly retention?: Duration;
  },
  ids: { readonly queue: string; readonly alarm: string } = {
    queue: 'DeadLetterQueue',
    alarm: 'DeadLetterAlarm',
  },
): { queue: Queue; alarm: Alarm } {
  const queue = new Queue(scope, ids.queue, {
    queueName: props.queueName,
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: props.retention ?? Duration.days(14),
  });
  const alarm = new Alarm(scope, 'DeadLetterAlarm', {
    alarmDescription: props.alarmDescription,
    metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
    threshold: 0,
    comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
  if (props.alarmTopic) alarm.addAlarmAction(new SnsAction(props.alarmTopic));
  return { queue, alarm };
}

/**
 * An encrypted (SSE-SQS), TLS-only queue with its dead-letter queue and an alarm on any dead-lettered message.
 */
export class WorkQueue extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly maxReceiveCount: number;
  public readonly deadLetterAlarm: Alarm;

  constructor(scope: Construct, id: string, props: WorkQueueProps) {
    super(scope, id);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 5) {
      throw new Error(
        `WorkQueue ${props.queueName}: maxReceiveCount must be a whole number ≥ 5, got ${maxReceiveCount}`,
      );
    }
    this.maxReceiveCount = maxReceiveCount;
    const deadLetters = alarmedDeadLetterQueue(this, {
      queueName: `${props.queueName}-dlq`,
      alarmDescription: `Messages dead-lettered from ${props.queueName}: inspect the reason on each message record, fix, then redrive`,
      ...(props.alarmTopic ? { alarmTopic: props.alarmTopic } : {}),
      ...(props.deadLetterRetention ? { retention: props.deadLetterRetention } : {}),
    });
    this.deadLetterQueue = deadLetters.queue;
    this.deadLetterAlarm = deadLetters.alarm;
    this.queue = new Queue(this, 'Queue', {
      queueName: props.queueName,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });
  }
}
