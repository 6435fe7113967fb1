import { Match, Template } from 'aws-cdk-lib/assertions';
import { NOTABLE_STATUSES } from '../../lambdas/domain/message/status-events';
import { buildApp } from '../../lib/app';
import type { ScopeStage } from '../../lib/stages/scope-stage';
import { cdkJsonContext } from '../../local/twin/cloud-assembly';

// One synthesis for the whole file (bundling skipped: the asset contents are not under test here).
const { app, stages } = buildApp({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } }, {});
app.synth();
const stageOf = (scope: string) => stages.find((stage) => stage.stageName === scope) as ScopeStage;

describe.each(['prod', 'dev'])('status events out in the %s scope', (scope) => {
  const stage = stageOf(scope);
  const stateful = Template.fromStack(stage.stateful);
  const stateless = Template.fromStack(stage.stateless);
  const busLogicalId = Object.keys(stateful.findResources('AWS::Events::EventBus'))[0] as string;
  const publisherId = Object.entries(stateless.findResources('AWS::Lambda::Function')).find(
    ([, fn]) => fn.Metadata?.['tenant-mail:handler'] === 'publish-status-events.handler.ts',
  )?.[0] as string;

  it('streams the messages table with old and new images', () => {
    stateful.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: `tenant-mail-${scope}-messages`,
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
  });

  it('keeps the tenant-mail.<scope> bus in the stateful stack, retained in prod', () => {
    stateful.hasResource('AWS::Events::EventBus', {
      Properties: { Name: `tenant-mail.${scope}` },
      DeletionPolicy: scope === 'prod' ? 'Retain' : 'Delete',
    });
  });

  it('publishes the bus name and ARN as stack outputs and SSM parameters', () => {
    stateful.hasOutput('*', {
      Value: { Ref: busLogicalId },
      Export: { Name: `tenant-mail-${scope}-status-event-bus-name` },
    });
    stateful.hasOutput('*', {
      Value: { 'Fn::GetAtt': [busLogicalId, 'Arn'] },
      Export: { Name: `tenant-mail-${scope}-status-event-bus-arn` },
    });
    stateful.hasResourceProperties('AWS::SSM::Parameter', {
      Name: `/tenant-mail/${scope}/status-event-bus-name`,
      Type: 'String',
      Value: { Ref: busLogicalId },
    });
    stateful.hasResourceProperties('AWS::SSM::Parameter', {
      Name: `/tenant-mail/${scope}/status-event-bus-arn`,
      Value: { 'Fn::GetAtt': [busLogicalId, 'Arn'] },
    });
  });

  it('reads the stream from the start with bisection, partial failures, bounded retries and an SQS on-failure destination', () => {
    stateless.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: publisherId },
      EventSourceArn: { 'Fn::ImportValue': Match.stringLikeRegexp('MessagesTable.*StreamArn') },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: 10,
      ParallelizationFactor: 1,
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('StatusEventsDeadLetterQueue'), 'Arn'] },
        },
      },
    });
  });

  it('passes only inserts and modifications whose new status is notable', () => {
    const mapping = Object.values(stateless.findResources('AWS::Lambda::EventSourceMapping')).find(
      (resource) => resource.Properties.FunctionName?.Ref === publisherId,
    );
    const filters = mapping?.Properties.FilterCriteria.Filters as { Pattern: string }[];
    expect(filters.map((filter) => JSON.parse(filter.Pattern))).toEqual([
      {
        eventName: ['INSERT', 'MODIFY'],
        dynamodb: { NewImage: { status: { S: [...NOTABLE_STATUSES] } } },
      },
    ]);
  });

  it('lets the publisher put events on that bus only, and nothing else of EventBridge', () => {
    const policies = Object.values(stateless.findResources('AWS::IAM::Policy')).filter((policy) =>
      (policy.Properties.Roles as { Ref: string }[]).some((role) =>
        role.Ref.startsWith('PublishStatusEventsFunctionRole'),
      ),
    );
    const statements = policies.flatMap(
      (policy) =>
        policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
    const events = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('events:')));
    expect(events).toHaveLength(1);
    expect(events[0]?.Action).toBe('events:PutEvents');
    expect(JSON.stringify(events[0]?.Resource)).toMatch(
      new RegExp(
        `^\\{"Fn::ImportValue":"tenant-mail-${scope}-stateful:[^"]*StatusEventsBus[^"]*Arn[^"]*"\\}$`,
      ),
    );
    expect(JSON.stringify(statements)).not.toContain('dynamodb:PutItem');
    // The one wildcard: dynamodb:ListStreams, which has no resource-level permissions.
    const wildcards = statements.filter((s) => JSON.stringify(s.Resource) === '"*"');
    expect(wildcards.map((s) => s.Action)).toEqual(['dynamodb:ListStreams']);
  });

  it('sets the bus name and scope on the publisher', () => {
    stateless.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          SCOPE: scope,
          STATUS_EVENT_BUS_NAME: { 'Fn::ImportValue': Match.stringLikeRegexp('StatusEventsBus') },
        }),
      },
    });
  });

  it('alarms on any record that reaches the dead-letter queue', () => {
    stateless.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: `tenant-mail-${scope}-status-events-dlq`,
      SqsManagedSseEnabled: true,
    });
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('StatusEventsDeadLetterQueue'), 'QueueName'] },
        },
      ],
      Threshold: 0,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmTopic') }],
    });
  });
});
