import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { FilterCriteria, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { NOTABLE_STATUSES } from '../../lambdas/domain/message/status-events';
import type { Scope } from '../../lambdas/domain/scope';
import { TenantMailFunction } from './tenant-mail-function';
import { alarmedDeadLetterQueue } from './work-queue';

/**
 * The stream mapping's filter (Lambda event filtering, EventBridge pattern syntax): inserts and modifications whose
 * new image's status is notable. Other writes never invoke the function; the handler checks the rest (a change).
 */
export const STATUS_STREAM_FILTER = {
  eventName: ['INSERT', 'MODIFY'],
  dynamodb: { NewImage: { status: { S: [...NOTABLE_STATUSES] } } },
};

export interface StatusEventPublisherProps {
  readonly scope: Scope;
  /** Prefix of the dead-letter queue's name (`<prefix>-status-events-dlq`). */
  readonly namePrefix: string;
  /** The messages table, with its NEW_AND_OLD_IMAGES stream. */
  readonly messagesTable: ITable;
  /** Where the events go: the scope's `tenant-mail.<scope>` bus. */
  readonly bus: IEventBus;
  readonly alarmTopic: ITopic;
  readonly removalPolicy?: RemovalPolicy;
  /** Stream records per invocation. @default 100 */
  readonly batchSize?: number;
  /** Retries of a failing record (halved by bisection each time) before it goes to the dead-letter queue. @default 10 */
  readonly retryAttempts?: number;
}

/**
 * Status events out: the messages table's stream (a transactional outbox: one record per ledger write, nothing
 * added to the send path) read by `publish-status-events`, which puts one `Email Status Changed` event per
 * change into a notable status on the scope's bus. Only writes whose new status is notable reach the function
 * (the mapping's filter); a failing record is retried with the batch bisected and reported as a batch item
 * failure, and after `retryAttempts` its stream coordinates go to the dead-letter queue, which alarms.
 */
export class StatusEventPublisher extends Construct {
  public readonly function: TenantMailFunction;
  public readonly deadLetterQueue: Queue;
  public readonly deadLetterAlarm: Alarm;

  constructor(scope: Construct, id: string, props: StatusEventPublisherProps) {
    super(scope, id);
    const deadLetters = alarmedDeadLetterQueue(this, {
      queueName: `${props.namePrefix}-status-events-dlq`,
      alarmDescription:
        'Status events could not be published after every retry: the dead-letter message names the stream records (the message records still hold the statuses)',
      alarmTopic: props.alarmTopic,
    });
    this.deadLetterQueue = deadLetters.queue;
    this.deadLetterAlarm = deadLetters.alarm;
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is the dead-letter destination itself: the stream mapping's on-failure destination, with its alarm.",
    });
    this.function = new TenantMailFunction(scope, 'PublishStatusEventsFunction', {
      handlerFile: 'publish-status-events.handler.ts',
      timeout: Duration.seconds(30),
      memorySize: 256,
      ...(props.removalPolicy ? { removalPolicy: props.removalPolicy } : {}),
      environment: { SCOPE: props.scope, STATUS_EVENT_BUS_NAME: props.bus.eventBusName },
    });
    props.bus.grantPutEventsTo(this.function);
    this.function.addEventSource(
      new DynamoEventSource(props.messagesTable, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: props.batchSize ?? 100,
        maxBatchingWindow: Duration.seconds(1),
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: props.retryAttempts ?? 10,
        maxRecordAge: Duration.days(1),
        parallelizationFactor: 1,
        onFailure: new SqsDlq(this.deadLetterQueue),
        filters: [FilterCriteria.filter(STATUS_STREAM_FILTER)],
      }),
    );
    Validations.of(this.function.executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams, which a stream event source needs, has no resource-level permissions; every other action names the messages table stream.',
    });
  }
}
