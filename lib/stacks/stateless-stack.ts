import { Arn, ArnFormat, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { type Grant, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Key } from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription, SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { nagArn } from '../config/nag';
import type { ScopeConfig } from '../config/scope-config';
import { ProducerAccess } from '../constructs/producer-access';
import { SesSending } from '../constructs/ses-sending';
import { StatusEventPublisher } from '../constructs/status-event-publisher';
import { TenantMailFunction } from '../constructs/tenant-mail-function';
import { TopicKey } from '../constructs/topic-key';
import { WorkQueue } from '../constructs/work-queue';
import type { TableName } from '../schema/tables';

export interface StatelessStackProps extends StackProps {
  readonly config: ScopeConfig;
  readonly namePrefix: string;
  /** The scope's tables, from the stateful stack. */
  readonly tables: Record<TableName, Table>;
  /** The scope's status-event bus (`tenant-mail.<scope>`), from the stateful stack. */
  readonly statusEventBus: IEventBus;
  /**
   * Upper bound on concurrent sender invocations (the SQS event source's maximum concurrency), so the
   * send rate is set by configuration, not by how fast the queue fills. @default 5
   */
  readonly senderMaxConcurrency?: number;
  /** Maximum concurrency of the bulk lane's event source; at most `senderMaxConcurrency`. @default 2 */
  readonly bulkMaxConcurrency?: number;
  /**
   * Seconds a sender's claim protects a message from a parallel redelivery. It must outlast the sender's
   * timeout (30 s: a live attempt never loses its claim) and end before the send queue's visibility timeout
   * (180 s: a redelivery after a crash can claim it). @default 120
   */
  readonly senderLeaseSeconds?: number;
}

/** Compute of one scope: queues, functions, SES configuration, alarms. Safe to redeploy at any time. */
export class StatelessStack extends Stack {
  public readonly eventsQueue: WorkQueue;
  /** The events queue's producers: its resource policy, URL/ARN outputs and SSM parameters, `grantPublish`. */
  public readonly producerAccess: ProducerAccess;
  public readonly sendQueue: WorkQueue;
  /** The bulk lane: bill runs and statements wait here, so transactional mail on `sendQueue` never queues behind them. */
  public readonly bulkSendQueue: WorkQueue;
  public readonly feedbackQueue: WorkQueue;
  public readonly sender: TenantMailFunction;
  public readonly identityRefresher: TenantMailFunction;
  public readonly dispatcher: TenantMailFunction;
  public readonly feedbackProcessor: TenantMailFunction;
  /** Finishes message records left pending past their deadline (crash, lost queue message); every 5 minutes. */
  public readonly sweeper: TenantMailFunction;
  /** The messages table's stream → one `Email Status Changed` event per notable transition on the scope's bus. */
  public readonly statusEvents: StatusEventPublisher;
  public readonly ses: SesSending;
  public readonly alarmTopic: Topic;
  /** Customer-managed key of both topics: SES and CloudWatch may use it, the AWS-managed SNS key cannot be. */
  public readonly topicKey: Key;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { config, namePrefix, tables } = props;
    const senderMaxConcurrency = props.senderMaxConcurrency ?? 5;
    const bulkMaxConcurrency = props.bulkMaxConcurrency ?? 2;
    if (
      !Number.isInteger(bulkMaxConcurrency) ||
      bulkMaxConcurrency < 2 ||
      bulkMaxConcurrency > senderMaxConcurrency
    ) {
      throw new Error(
        `bulkMaxConcurrency must be a whole number from 2 to senderMaxConcurrency (${senderMaxConcurrency}), got ${bulkMaxConcurrency}`,
      );
    }
    if (!Number.isInteger(senderMaxConcurrency) || senderMaxConcurrency < 2 || senderMaxConcurrency > 1000) {
      throw new Error(
        `senderMaxConcurrency must be a whole number from 2 to 1000 (SQS event source limits), got ${senderMaxConcurrency}`,
      );
    }
    const removalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.topicKey = new TopicKey(this, 'TopicKey', {
      description: `${namePrefix} SNS topics (SES feedback, alarms)`,
      configurationSetName: namePrefix,
      removalPolicy,
    }).key;
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      topicName: `${namePrefix}-alarms`,
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    if (config.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(config.alarmEmail));

    this.ses = new SesSending(this, 'Ses', {
      configurationSetName: `${namePrefix}`,
      feedbackTopicName: `${namePrefix}-ses-events`,
      senderDomain: config.senderDomain,
      topicKey: this.topicKey,
    });

    const senderTimeout = Duration.seconds(30);
    const senderLeaseSeconds = props.senderLeaseSeconds ?? 120;
    const sendVisibility = senderTimeout.toSeconds() * 6;
    if (
      !Number.isInteger(senderLeaseSeconds) ||
      senderLeaseSeconds <= senderTimeout.toSeconds() ||
      senderLeaseSeconds >= sendVisibility
    ) {
      throw new Error(
        `senderLeaseSeconds must be a whole number above the sender timeout (${senderTimeout.toSeconds()} s) and below the send queue's visibility timeout (${sendVisibility} s), got ${senderLeaseSeconds}`,
      );
    }
    const eventsQueueName = `${namePrefix}-events`;
    this.eventsQueue = new WorkQueue(this, 'EventsQueue', {
      queueName: eventsQueueName,
      consumerTimeout: Duration.seconds(60),
      alarmTopic: this.alarmTopic,
    });
    this.producerAccess = new ProducerAccess(this, 'ProducerAccess', {
      scope: config.scope,
      eventsQueue: this.eventsQueue.queue,
      eventsQueueName,
      exportPrefix: namePrefix,
      region: config.region,
      ...(config.account ? { account: config.account } : {}),
      producers: config.producers,
    });
    this.sendQueue = new WorkQueue(this, 'SendQueue', {
      queueName: `${namePrefix}-send`,
      consumerTimeout: senderTimeout,
      alarmTopic: this.alarmTopic,
    });
    this.bulkSendQueue = new WorkQueue(this, 'BulkSendQueue', {
      queueName: `${namePrefix}-send-bulk`,
      consumerTimeout: senderTimeout,
      alarmTopic: this.alarmTopic,
    });
    this.feedbackQueue = new WorkQueue(this, 'FeedbackQueue', {
      queueName: `${namePrefix}-feedback`,
      consumerTimeout: Duration.seconds(30),
      alarmTopic: this.alarmTopic,
    });
    this.ses.feedbackTopic.addSubscription(new SqsSubscription(this.feedbackQueue.queue));

    this.sender = new TenantMailFunction(this, 'SenderFunction', {
      handlerFile: 'send-email.handler.ts',
      timeout: senderTimeout,
      removalPolicy,
      environment: {
        SCOPE: config.scope,
        SERVED_ENVIRONMENTS: config.environments.join(','),
        PLATFORM_FROM_ADDRESS: `${config.senderLocalPart}@${config.senderDomain}`,
        CONFIGURATION_SET_NAME: this.ses.configurationSet.configurationSetName,
        MESSAGE_RETENTION_DAYS: String(config.messageRetentionDays),
        SEND_MAX_RECEIVE_COUNT: String(this.sendQueue.maxReceiveCount),
        SEND_LEASE_SECONDS: String(senderLeaseSeconds),
      },
    })
      .bindTable('tenants', tables.tenants, 'read')
      .bindTable('messages', tables.messages, 'write')
      .bindTable('identities', tables.identities, 'read')
      .bindTable('suppressions', tables.suppressions, 'write')
      .bindTable('counters', tables.counters, 'write')
      .bindQueueForSending('SEND_QUEUE_URL', this.sendQueue.queue)
      .bindQueueForSending('BULK_SEND_QUEUE_URL', this.bulkSendQueue.queue);
    this.ses.grantSend(this.sender);
    // Tenant relay credentials: only this scope's tenant secrets (see tenantSmtpSecretName).
    this.sender.addToRolePolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [
          Arn.format(
            {
              service: 'secretsmanager',
              resource: 'secret',
              resourceName: `tenant-mail/${config.scope}/tenants/*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            },
            this,
          ),
        ],
      }),
    );
    Validations.of(this.sender.executionRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArn(this, 'secretsmanager', `secret:tenant-mail/${config.scope}/tenants/*`)}]`,
      reason:
        "Tenants save relay credentials at run time under their own path; the sender may read only this scope's tenant secrets.",
    });
    // No batching window on the transactional path (events queue, send queue): Lambda would hold a receipt
    // until 10 records or the window gathered, up to the window per hop at a receipt's trickle. The bulk lane
    // and feedback keep theirs: their batches fill at once while a bill run drains.
    this.sender.addEventSource(
      new SqsEventSource(this.sendQueue.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: senderMaxConcurrency,
      }),
    );
    // The bulk lane gets its own, smaller share of concurrency: a bill run drains steadily while the
    // transactional lane above keeps its own pollers and is never queued behind it.
    this.sender.addEventSource(
      new SqsEventSource(this.bulkSendQueue.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
        maxConcurrency: bulkMaxConcurrency,
      }),
    );

    // Events → emails: definitions and templates turn each platform event into jobs on the two lanes.
    const dispatchTimeout = Duration.seconds(60);
    this.dispatcher = new TenantMailFunction(this, 'DispatchEventsFunction', {
      handlerFile: 'dispatch-events.handler.ts',
      timeout: dispatchTimeout,
      removalPolicy,
      environment: {
        SCOPE: config.scope,
        SERVED_ENVIRONMENTS: config.environments.join(','),
        MESSAGE_RETENTION_DAYS: String(config.messageRetentionDays),
        EVENTS_MAX_RECEIVE_COUNT: String(this.eventsQueue.maxReceiveCount),
      },
    })
      .bindTable('definitions', tables.definitions, 'read')
      .bindTable('messages', tables.messages, 'write')
      .bindQueueForSending('SEND_QUEUE_URL', this.sendQueue.queue)
      .bindQueueForSending('BULK_SEND_QUEUE_URL', this.bulkSendQueue.queue)
      .bindQueueForSending('EVENTS_QUEUE_URL', this.eventsQueue.queue)
      .bindQueueForSending('EVENTS_DLQ_URL', this.eventsQueue.deadLetterQueue);
    this.dispatcher.addEventSource(
      new SqsEventSource(this.eventsQueue.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: 2,
      }),
    );

    // SES feedback → message timeline, suppression list, reputation guard.
    this.feedbackProcessor = new TenantMailFunction(this, 'ProcessFeedbackFunction', {
      handlerFile: 'process-feedback.handler.ts',
      timeout: Duration.seconds(30),
      removalPolicy,
      environment: {
        SCOPE: config.scope,
        MESSAGE_RETENTION_DAYS: String(config.messageRetentionDays),
        // What genuine SES feedback looks like: anything else on the queue is dead-lettered unapplied.
        FEEDBACK_TOPIC_ARN: this.ses.feedbackTopic.topicArn,
        ACCOUNT_ID: this.account,
        CONFIGURATION_SET_NAME: this.ses.configurationSet.configurationSetName,
      },
    })
      .bindTable('messages', tables.messages, 'write')
      .bindTable('suppressions', tables.suppressions, 'write')
      .bindTable('counters', tables.counters, 'write')
      .bindTable('tenants', tables.tenants, 'write')
      .bindQueueForSending('FEEDBACK_DLQ_URL', this.feedbackQueue.deadLetterQueue);
    this.feedbackProcessor.addEventSource(
      new SqsEventSource(this.feedbackQueue.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
        maxConcurrency: 2,
      }),
    );
    for (const [level, description] of [
      [
        'ReputationWarn',
        'A tenant crossed the reputation warning level (bounce or complaint rate): look at its recent bounces',
      ],
      [
        'ReputationPause',
        'A tenant was paused by the reputation guard; its mail is held as PAUSED until `tenant-mail tenant resume`',
      ],
    ] as const) {
      new Alarm(this, `${level}Alarm`, {
        alarmDescription: description,
        metric: new MathExpression({
          expression: `SELECT SUM(${level}) FROM SCHEMA("TenantMail", service, tenant)`,
          period: Duration.minutes(5),
          label: level,
        }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(new SnsAction(this.alarmTopic));
    }

    // Identity verification: re-check unverified identities every 15 minutes, and every identity daily (SES
    // withdraws verification when a tenant removes its DKIM records).
    this.identityRefresher = new TenantMailFunction(this, 'RefreshIdentitiesFunction', {
      handlerFile: 'refresh-identities.handler.ts',
      timeout: Duration.minutes(5),
      removalPolicy,
      environment: {
        SCOPE: config.scope,
        CONFIGURATION_SET_NAME: this.ses.configurationSet.configurationSetName,
      },
    })
      .bindTable('identities', tables.identities, 'write')
      .bindTable('tenants', tables.tenants, 'read');
    this.identityRefresher.addToRolePolicy(
      new PolicyStatement({
        actions: ['ses:GetEmailIdentity'],
        resources: [
          Arn.format(
            {
              service: 'ses',
              resource: 'identity',
              resourceName: '*',
              arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
            },
            this,
          ),
        ],
      }),
    );
    Validations.of(this.identityRefresher.executionRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArn(this, 'ses', 'identity/*')}]`,
      reason:
        'Reads the verification status of the tenant identities of this scope, which are created at run time.',
    });
    new Rule(this, 'RefreshPendingIdentities', {
      schedule: Schedule.rate(Duration.minutes(15)),
      targets: [new LambdaFunction(this.identityRefresher)],
    });
    new Rule(this, 'RefreshAllIdentitiesDaily', {
      schedule: Schedule.cron({ minute: '0', hour: '3' }),
      targets: [
        new LambdaFunction(this.identityRefresher, {
          event: RuleTargetInput.fromObject({ includeVerified: true }),
        }),
      ],
    });

    new Alarm(this, 'RejectedJobsAlarm', {
      alarmDescription:
        "A tenant's notification jobs keep being rejected (template errors, bad event data): the dispatcher log and the REJECTED records say why",
      metric: new MathExpression({
        expression: 'SELECT SUM(JobsRejected) FROM SCHEMA("TenantMail", service, tenant)',
        period: Duration.hours(1),
        label: 'JobsRejected',
      }),
      threshold: 100,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(new SnsAction(this.alarmTopic));

    // Stuck messages: records left QUEUED, SENDING or DEFERRED past their deadline are finished or re-enqueued.
    this.sweeper = new TenantMailFunction(this, 'SweepStuckFunction', {
      handlerFile: 'sweep-stuck.handler.ts',
      timeout: Duration.minutes(2),
      removalPolicy,
      environment: { MESSAGE_RETENTION_DAYS: String(config.messageRetentionDays) },
    })
      .bindTable('messages', tables.messages, 'write')
      .bindQueueForSending('SEND_QUEUE_URL', this.sendQueue.queue)
      .bindQueueForSending('BULK_SEND_QUEUE_URL', this.bulkSendQueue.queue);
    this.sweeper.addToRolePolicy(
      new PolicyStatement({
        actions: ['sqs:GetQueueAttributes'],
        resources: [this.sendQueue.queue.queueArn, this.bulkSendQueue.queue.queueArn],
      }),
    );
    new Rule(this, 'SweepStuckMessages', {
      schedule: Schedule.rate(Duration.minutes(5)),
      targets: [new LambdaFunction(this.sweeper)],
    });
    new Alarm(this, 'StuckMessagesAlarm', {
      alarmDescription:
        'The sweeper finished messages left pending after a crash or a lost queue message: `tenant-mail message stuck` and the sweeper log say which',
      metric: new MathExpression({
        expression: 'SELECT SUM(MessagesSwept) FROM SCHEMA("TenantMail", service)',
        period: Duration.minutes(15),
        label: 'MessagesSwept',
      }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(new SnsAction(this.alarmTopic));
    new Alarm(this, 'SweeperBehindAlarm', {
      alarmDescription:
        'Three sweeper runs in a row (15 min) ended before their walk of the pending index reached the clock: the index grows faster than the sweeper reads it, so a stuck email is found ever later. Raise SWEEP_ENTRIES_PER_RUN; the run log has `rounds` and `caughtUp`',
      metric: new MathExpression({
        expression: 'SELECT MIN(SweepBehind) FROM SCHEMA("TenantMail", service)',
        period: Duration.minutes(5),
        label: 'SweepBehind',
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(new SnsAction(this.alarmTopic));

    const senderErrors = new Alarm(this, 'SenderErrorsAlarm', {
      alarmDescription: 'The sender function failed whole invocations (not single messages): check its logs',
      metric: this.sender.metricErrors({ period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    senderErrors.addAlarmAction(new SnsAction(this.alarmTopic));

    this.statusEvents = new StatusEventPublisher(this, 'StatusEvents', {
      scope: config.scope,
      namePrefix,
      messagesTable: tables.messages,
      bus: props.statusEventBus,
      alarmTopic: this.alarmTopic,
      removalPolicy,
    });
  }

  /** Lets a principal of this CDK app publish events to the scope's events queue (see {@link ProducerAccess.grantPublish}). */
  public grantPublish(grantable: IGrantable): Grant {
    return this.producerAccess.grantPublish(grantable);
  }
}
