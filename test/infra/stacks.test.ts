import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { buildApp } from '../../lib/app';
import { resolveScopeConfig } from '../../lib/config/scope-config';
import { StatefulStack } from '../../lib/stacks/stateful-stack';
import { StatelessStack } from '../../lib/stacks/stateless-stack';
import type { ScopeStage } from '../../lib/stages/scope-stage';
import { cdkJsonContext } from '../../local/twin/cloud-assembly';

// One synthesis for the whole file (bundling skipped: the asset contents are not under test here).
const { app, stages } = buildApp({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } }, {});
const assembly = app.synth();
const stageOf = (scope: string) => stages.find((stage) => stage.stageName === scope) as ScopeStage;

describe.each(['prod', 'dev'])('the %s scope', (scope) => {
  const stage = stageOf(scope);
  const stateful = Template.fromStack(stage.stateful);
  const stateless = Template.fromStack(stage.stateless);

  it('encrypts every table with the customer-managed key and enables point-in-time recovery', () => {
    const tables = stateful.findResources('AWS::DynamoDB::Table');
    expect(Object.keys(tables)).toHaveLength(6);
    for (const table of Object.values(tables)) {
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: {
          SSEEnabled: true,
          SSEType: 'KMS',
          KMSMasterKeyId: { 'Fn::GetAtt': [expect.any(String), 'Arn'] },
        },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      });
    }
    stateful.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('expires message history with TTL and names tables after the scope', () => {
    stateful.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: `tenant-mail-${scope}-messages`,
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('wires the send queue to its dead-letter queue with maxReceiveCount 5 and a visibility six times the sender timeout', () => {
    stateless.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: `tenant-mail-${scope}-send`,
      VisibilityTimeout: 180,
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        maxReceiveCount: 5,
        deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('SendQueueDeadLetterQueue'), 'Arn'] },
      },
    });
    stateless.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 30,
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
    });
  });

  it('refuses plain-HTTP access to every queue', () => {
    const policies = stateless.findResources('AWS::SQS::QueuePolicy');
    expect(Object.keys(policies).length).toBeGreaterThanOrEqual(4);
    for (const policy of Object.values(policies)) {
      expect(JSON.stringify(policy)).toContain('"aws:SecureTransport":"false"');
    }
  });

  it('consumes the send queue with partial batch failures and a bounded concurrency', () => {
    stateless.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('reports partial batch failures and bounds concurrency on every queue consumer (send, bulk, events, feedback)', () => {
    // The messages table's stream mapping (no concurrency setting on streams) is in status-events.test.ts.
    const mappings = Object.values(stateless.findResources('AWS::Lambda::EventSourceMapping')).filter(
      (mapping) => mapping.Properties.StartingPosition === undefined,
    );
    expect(mappings).toHaveLength(4);
    for (const mapping of mappings) {
      expect(mapping.Properties).toMatchObject({
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: expect.any(Number) },
      });
    }
  });

  it('alarms when the reputation guard warns about or pauses a tenant', () => {
    for (const level of ['ReputationWarn', 'ReputationPause']) {
      stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Metrics: [
          Match.objectLike({ Expression: `SELECT SUM(${level}) FROM SCHEMA("TenantMail", service, tenant)` }),
        ],
      });
    }
  });

  it('alarms when three sweeper runs in a row end behind the clock', () => {
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [
        Match.objectLike({ Expression: 'SELECT MIN(SweepBehind) FROM SCHEMA("TenantMail", service)' }),
      ],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
    });
  });

  it('drains the bulk lane with its own, smaller concurrency so transactional mail never waits behind it', () => {
    const mappings = Object.values(stateless.findResources('AWS::Lambda::EventSourceMapping'))
      .filter((mapping) => mapping.Properties.StartingPosition === undefined)
      .map(
        (mapping) =>
          mapping.Properties as {
            EventSourceArn: { 'Fn::GetAtt': [string, string] };
            ScalingConfig: { MaximumConcurrency: number };
          },
      );
    const byQueue = Object.fromEntries(
      mappings.map((m) => [
        m.EventSourceArn['Fn::GetAtt'][0].replace(/[0-9A-F]{8}$/, ''),
        m.ScalingConfig.MaximumConcurrency,
      ]),
    );
    expect(byQueue).toMatchObject({ SendQueue: 5, BulkSendQueue: 2 });
  });

  it('invokes at once on the transactional path (events, send queue) and gathers batches for a second on bulk and feedback', () => {
    const windows = Object.fromEntries(
      Object.values(stateless.findResources('AWS::Lambda::EventSourceMapping'))
        .filter((mapping) => mapping.Properties.StartingPosition === undefined)
        .map((mapping) => [
          String(mapping.Properties.EventSourceArn['Fn::GetAtt'][0]).replace(/[0-9A-F]{8}$/, ''),
          mapping.Properties.MaximumBatchingWindowInSeconds,
        ]),
    );
    expect(windows).toEqual({
      EventsQueue: undefined,
      SendQueue: undefined,
      BulkSendQueue: 1,
      FeedbackQueue: 1,
    });
  });

  it('lets only SES, for this account and configuration set, publish sending events, delivered to the feedback queue', () => {
    stateless.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'ses.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': Match.anyValue() },
            },
          }),
        ]),
      },
    });
    stateless.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      Endpoint: { 'Fn::GetAtt': [Match.stringLikeRegexp('FeedbackQueue'), 'Arn'] },
    });
    stateless.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      EventDestination: Match.objectLike({
        MatchingEventTypes: Match.arrayWith(['delivery', 'bounce', 'complaint']),
      }),
    });
  });

  it('lets the sender read tenant relay secrets of this scope only', () => {
    const text = JSON.stringify(stateless.findResources('AWS::IAM::Policy'));
    expect(text).toContain(`:secret:tenant-mail/${scope}/tenants/*`);
    expect(text).not.toContain('"secretsmanager:*"');
  });

  it('refreshes identity verification on a schedule with read-only SES access', () => {
    stateless.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)' });
    stateless.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(0 3 * * ? *)',
      Targets: [Match.objectLike({ Input: '{"includeVerified":true}' })],
    });
    const text = JSON.stringify(stateless.findResources('AWS::IAM::Policy'));
    expect(text).toContain('ses:GetEmailIdentity');
    expect(text).not.toContain('ses:CreateEmailIdentity');
  });

  it('lets the sender send only through this scope’s identities and configuration set', () => {
    const statements = Object.values(stateless.findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[],
    );
    const ses = statements.filter((statement) => JSON.stringify(statement.Action).includes('ses:Send'));
    expect(ses).toHaveLength(1);
    expect(ses[0]?.Action).toEqual(['ses:SendEmail', 'ses:SendRawEmail']);
    const resources = ((ses[0]?.Resource ?? []) as { 'Fn::Join': [string, unknown[]] }[]).map((arn) =>
      arn['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '<token>')).join(''),
    );
    expect(resources.sort()).toEqual([
      'arn:<token>:ses:eu-west-1:<token>:configuration-set/<token>',
      'arn:<token>:ses:eu-west-1:<token>:identity/*',
    ]);
    // Reading the account's maximum send rate (to pace to it) is the one account-level SES action it has.
    const account = statements.filter((statement) =>
      JSON.stringify(statement.Action).includes('ses:GetAccount'),
    );
    expect(account).toEqual([expect.objectContaining({ Action: 'ses:GetAccount', Resource: '*' })]);
  });

  it('grants the sender read on tenants and write on messages with each index named, nothing more', () => {
    const senderPolicies = Object.values(stateless.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes('SenderFunctionRole'),
    );
    const statements = senderPolicies.flatMap(
      (policy) =>
        policy.Properties.PolicyDocument.Statement as { Action: string[] | string; Resource: unknown }[],
    );
    const dynamo = statements.filter((statement) => JSON.stringify(statement.Action).includes('dynamodb:'));
    const text = JSON.stringify(dynamo);
    expect(text).toContain('/index/byTenant');
    expect(text).not.toContain('bySesMessageId');
    expect(text).not.toContain('/index/*');
    expect(text).not.toContain('"dynamodb:*"');
    const writes = dynamo.filter((statement) =>
      JSON.stringify(statement.Action).includes('dynamodb:PutItem'),
    );
    expect(JSON.stringify(writes)).toContain('MessagesTable');
    expect(JSON.stringify(writes)).not.toContain('TenantsTable');
  });

  it('alarms on dead-lettered messages and on sender errors', () => {
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
    });
  });

  it('requires TLS on the configuration set and verifies the platform domain with Easy DKIM', () => {
    stateless.hasResourceProperties('AWS::SES::ConfigurationSet', {
      Name: `tenant-mail-${scope}`,
      DeliveryOptions: { TlsPolicy: 'REQUIRE' },
    });
    stateless.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: scope === 'prod' ? 'mail.example-platform.com' : 'mail-dev.example-platform.com',
    });
  });
});

describe('data retention per scope', () => {
  it('retains prod tables and key on stack deletion and protects them from deletion', () => {
    const stateful = Template.fromStack(stageOf('prod').stateful);
    const tables = stateful.findResources('AWS::DynamoDB::Table');
    for (const table of Object.values(tables)) {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.Properties.DeletionProtectionEnabled).toBe(true);
    }
    stateful.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
  });

  it('lets the dev scope be torn down when configured so', () => {
    const tables = Template.fromStack(stageOf('dev').stateful).findResources('AWS::DynamoDB::Table');
    for (const table of Object.values(tables)) expect(table.DeletionPolicy).toBe('Delete');
  });
});

describe('cdk-nag AwsSolutions checks', () => {
  it('reports no unacknowledged finding in either scope', () => {
    const reportFile = join(assembly.directory, 'validation-report.json');
    expect(existsSync(reportFile)).toBe(true);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as {
      pluginReports: {
        pluginName: string;
        violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
      }[];
    };
    const findings = report.pluginReports.flatMap((plugin) =>
      plugin.violations.flatMap((violation) =>
        violation.violatingConstructs.map(
          (construct) => `${violation.ruleName} at ${construct.constructPath}`,
        ),
      ),
    );
    expect(findings).toEqual([]);
  });

  it('would report a finding that is not acknowledged (the check is live)', () => {
    const probe = buildApp({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } }, {});
    const stage = probe.stages[0] as ScopeStage;
    new Queue(stage.stateless, 'UnencryptedProbeQueue', { encryption: QueueEncryption.UNENCRYPTED });
    expect(() => probe.app.synth()).toThrow(/AwsSolutions[\s\S]*UnencryptedProbeQueue/);
  });
});

describe.each(['prod', 'dev'])('SNS topic encryption in the %s scope', (scope) => {
  const stateless = Template.fromStack(stageOf(scope).stateless);

  it('encrypts every topic with a customer-managed key of the stack, never an AWS-managed alias', () => {
    const topics = Object.values(stateless.findResources('AWS::SNS::Topic'));
    expect(topics).toHaveLength(2);
    const keys = Object.keys(stateless.findResources('AWS::KMS::Key'));
    for (const topic of topics) {
      const keyId = topic.Properties?.KmsMasterKeyId;
      expect(JSON.stringify(keyId)).not.toContain('alias/aws');
      expect(keys).toContain(keyId?.['Fn::GetAtt']?.[0]);
    }
    stateless.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('lets SES (this account, this configuration set) and CloudWatch (this account’s alarms) use the topic key', () => {
    const key = Object.values(stateless.findResources('AWS::KMS::Key'))[0];
    const statements = key?.Properties?.KeyPolicy?.Statement as {
      Sid?: string;
      Principal?: { Service?: string };
      Action: string[];
      Condition?: Record<string, Record<string, unknown>>;
    }[];
    const ses = statements.find((s) => s.Principal?.Service === 'ses.amazonaws.com');
    expect(ses?.Action.sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    expect(ses?.Condition?.StringEquals?.['aws:SourceAccount']).toBeDefined();
    expect(JSON.stringify(ses?.Condition?.ArnLike?.['aws:SourceArn'])).toContain(
      `configuration-set/tenant-mail-${scope}`,
    );
    const cloudwatch = statements.find((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(cloudwatch?.Action.sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    expect(JSON.stringify(cloudwatch?.Condition?.ArnLike?.['aws:SourceArn'])).toContain(':alarm:*');
  });
});

describe('the sender lease', () => {
  const build = (senderLeaseSeconds: number) => {
    const probe = new App();
    const config = resolveScopeConfig('dev', { region: 'eu-west-1', senderDomain: 'mail.example.com' });
    const stateful = new StatefulStack(probe, 'Stateful', {
      config,
      namePrefix: 'probe',
      env: { account: '123456789012', region: 'eu-west-1' },
    });
    return new StatelessStack(probe, 'Stateless', {
      config,
      namePrefix: 'probe',
      tables: stateful.data.tables,
      statusEventBus: stateful.statusEvents.bus,
      senderLeaseSeconds,
      env: { account: '123456789012', region: 'eu-west-1' },
    });
  };

  it('is passed to the sender and lies between its timeout and the send queue visibility timeout', () => {
    Template.fromStack(stageOf('dev').stateless).hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 30,
      Environment: { Variables: Match.objectLike({ SEND_LEASE_SECONDS: '120' }) },
    });
    for (const lease of [30, 180]) {
      expect(() => build(lease)).toThrow(
        `senderLeaseSeconds must be a whole number above the sender timeout (30 s) and below the send queue's visibility timeout (180 s), got ${lease}`,
      );
    }
    expect(() => build(31)).not.toThrow();
  });
});
