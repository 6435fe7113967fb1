import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { CfnQueue } from 'aws-cdk-lib/aws-sqs';
import { buildApp } from '../../lib/app';
import { loadScopeConfigs, resolveScopeConfig } from '../../lib/config/scope-config';
import type { ScopeStage } from '../../lib/stages/scope-stage';
import { cdkJsonContext } from '../../local/twin/cloud-assembly';

const PROD_ACCOUNT = '111122223333';
const PRODUCER_ACCOUNT = '444455556666';
const PRODUCER_ROLE = 'arn:aws:iam::777788889999:role/billing/invoice-publisher';

/** cdk.json's context, with the prod scope pinned to an account and given two producers. */
function contextWith(prod: Record<string, unknown>): Record<string, unknown> {
  const context = cdkJsonContext() as { tenantMail: { scopes: Record<string, Record<string, unknown>> } };
  return {
    ...context,
    tenantMail: {
      scopes: { ...context.tenantMail.scopes, prod: { ...context.tenantMail.scopes.prod, ...prod } },
    },
    'aws:cdk:bundling-stacks': [],
  };
}

const build = (prod: Record<string, unknown>) => {
  const { app, stages } = buildApp({ context: contextWith(prod) }, {});
  const stageOf = (scope: string) => stages.find((stage) => stage.stageName === scope) as ScopeStage;
  return { app, prod: stageOf('prod'), dev: stageOf('dev') };
};

const eventsQueueId = (stage: ScopeStage) =>
  Stack.of(stage.stateless).getLogicalId(stage.stateless.eventsQueue.queue.node.defaultChild as CfnQueue);

/** `arn:${AWS::Partition}:iam::<account>:root`, as CloudFormation receives an account principal. */
const accountRoot = (account: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${account}:root`]],
});

describe('producers of a scope', () => {
  const { app, prod, dev } = build({ account: PROD_ACCOUNT, producers: [PRODUCER_ACCOUNT, PRODUCER_ROLE] });
  // A producer elsewhere in the same app: its own stack at the app's root, outside the scope's stage.
  const billing = new Stack(app, 'Billing', { env: { account: PROD_ACCOUNT, region: 'eu-west-1' } });
  const publisher = new Role(billing, 'InvoicePublisher', {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
  });
  prod.grantPublish(publisher);
  // And one inside the scope's own stateless stack, in the dev scope (no account configured).
  const devPublisher = new Role(dev.stateless, 'ProbePublisher', {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
  });
  dev.grantPublish(devPublisher);
  const prodTemplate = Template.fromStack(prod.stateless);
  const devTemplate = Template.fromStack(dev.stateless);

  it('lets the configured accounts and roles send to the events queue, and to that queue only', () => {
    const queue = eventsQueueId(prod);
    prodTemplate.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'ProducersMaySendEvents',
            Effect: 'Allow',
            Principal: { AWS: Match.anyValue() },
            Action: 'sqs:SendMessage',
            Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
          },
        ]),
      },
    });
    const eventsPolicy = Object.values(prodTemplate.findResources('AWS::SQS::QueuePolicy')).find(
      (policy) => JSON.stringify(policy.Properties.Queues) === JSON.stringify([{ Ref: queue }]),
    );
    const granted = (
      (eventsPolicy?.Properties.PolicyDocument.Statement ?? []) as {
        Sid?: string;
        Principal: { AWS: unknown[] };
      }[]
    ).find((statement) => statement.Sid === 'ProducersMaySendEvents');
    // A policy's principals are a set: compare them as one.
    expect(granted?.Principal.AWS).toHaveLength(2);
    expect(granted?.Principal.AWS).toEqual(
      expect.arrayContaining([accountRoot(PRODUCER_ACCOUNT), PRODUCER_ROLE]),
    );
    const others = Object.values(prodTemplate.findResources('AWS::SQS::QueuePolicy')).filter(
      (policy) => JSON.stringify(policy.Properties.Queues) !== JSON.stringify([{ Ref: queue }]),
    );
    expect(others.length).toBeGreaterThanOrEqual(5);
    for (const policy of others) {
      expect(JSON.stringify(policy)).not.toContain(PRODUCER_ACCOUNT);
      expect(JSON.stringify(policy)).not.toContain(PRODUCER_ROLE);
    }
  });

  it('admits no outside principal when no producer is configured', () => {
    const [policy] = Object.values(devTemplate.findResources('AWS::SQS::QueuePolicy')).filter(
      (candidate) =>
        JSON.stringify(candidate.Properties.Queues) === JSON.stringify([{ Ref: eventsQueueId(dev) }]),
    );
    const statements = policy?.Properties.PolicyDocument.Statement as { Effect: string }[];
    expect(statements.map((statement) => statement.Effect)).toEqual(['Deny']);
  });

  it('keeps the events queue on SSE-SQS, so a producer needs no key grant to send', () => {
    prodTemplate.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'tenant-mail-prod-events',
      SqsManagedSseEnabled: true,
      KmsMasterKeyId: Match.absent(),
    });
  });

  it.each([
    ['prod', () => prodTemplate, () => eventsQueueId(prod)],
    ['dev', () => devTemplate, () => eventsQueueId(dev)],
  ])(
    'exports the %s events queue URL and ARN as stack outputs named after the stage',
    (scope, template, id) => {
      template().hasOutput('*', {
        Value: { Ref: id() },
        Export: { Name: `tenant-mail-${scope}-events-queue-url` },
      });
      template().hasOutput('*', {
        Value: { 'Fn::GetAtt': [id(), 'Arn'] },
        Export: { Name: `tenant-mail-${scope}-events-queue-arn` },
      });
    },
  );

  it.each([
    ['prod', () => prodTemplate, () => eventsQueueId(prod)],
    ['dev', () => devTemplate, () => eventsQueueId(dev)],
  ])('publishes the %s events queue URL and ARN as SSM String parameters', (scope, template, id) => {
    template().hasResourceProperties('AWS::SSM::Parameter', {
      Name: `/tenant-mail/${scope}/events-queue-url`,
      Type: 'String',
      Value: { Ref: id() },
    });
    template().hasResourceProperties('AWS::SSM::Parameter', {
      Name: `/tenant-mail/${scope}/events-queue-arn`,
      Type: 'String',
      Value: { 'Fn::GetAtt': [id(), 'Arn'] },
    });
  });

  it('grants a producer role of another stack sqs:SendMessage on the events queue ARN, nothing more', () => {
    Template.fromStack(billing).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: billing.getLogicalId(publisher.node.defaultChild as never) }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Resource: {
              'Fn::Join': [
                '',
                ['arn:', { Ref: 'AWS::Partition' }, `:sqs:eu-west-1:${PROD_ACCOUNT}:tenant-mail-prod-events`],
              ],
            },
          },
        ],
      },
    });
  });

  it('grants a role in the scope’s own account (none configured) the queue of that account', () => {
    devTemplate.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: dev.stateless.getLogicalId(devPublisher.node.defaultChild as never) }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Resource: {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':sqs:eu-west-1:',
                  { Ref: 'AWS::AccountId' },
                  ':tenant-mail-dev-events',
                ],
              ],
            },
          },
        ],
      },
    });
  });

  it('synthesises the whole app (cross-stage grant included) with cdk-nag raising no finding', () => {
    expect(() => app.synth()).not.toThrow();
  });
});

describe('grantPublish across accounts', () => {
  const roleIn = (account: string, stage: ScopeStage) => {
    const stack = new Stack(stage.node.root, `Producer${account}`, { env: { account, region: 'eu-west-1' } });
    return new Role(stack, 'Publisher', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  };

  it('refuses a grantee of another account the queue policy does not admit, naming the setting', () => {
    const { prod } = build({ account: PROD_ACCOUNT });
    expect(() => prod.grantPublish(roleIn(PRODUCER_ACCOUNT, prod))).toThrow(
      `grantPublish: the grantee is in account ${PRODUCER_ACCOUNT}, not the prod scope's account ${PROD_ACCOUNT}; add ${PRODUCER_ACCOUNT} (or the role's ARN) to tenantMail.scopes.prod.producers so the events queue's policy admits it`,
    );
  });

  it('grants a grantee of another account once that account is a producer', () => {
    const { prod } = build({ account: PROD_ACCOUNT, producers: [PRODUCER_ACCOUNT] });
    expect(() => prod.grantPublish(roleIn(PRODUCER_ACCOUNT, prod))).not.toThrow();
  });
});

describe('the producers setting', () => {
  const valid = { region: 'eu-west-1', senderDomain: 'mail.example.com' };

  it('defaults to no producer', () => {
    expect(resolveScopeConfig('dev', valid).producers).toEqual([]);
  });

  it('reads TENANT_MAIL_<SCOPE>_PRODUCERS as a comma-separated list over cdk.json', () => {
    const configs = loadScopeConfigs(contextWith({ producers: ['999999999999'] }).tenantMail, {
      TENANT_MAIL_PROD_PRODUCERS: ` ${PRODUCER_ACCOUNT}, ${PRODUCER_ROLE} ,`,
    });
    expect(configs.prod.producers).toEqual([PRODUCER_ACCOUNT, PRODUCER_ROLE]);
    expect(configs.dev.producers).toEqual([]);
  });

  it('accepts role ARNs with a path and in other partitions, once each', () => {
    const roles = ['arn:aws-us-gov:iam::123456789012:role/publisher', 'arn:aws:iam::123456789012:role/a/b/c'];
    expect(resolveScopeConfig('dev', { ...valid, producers: [...roles, ...roles] }).producers).toEqual(roles);
  });

  it.each([
    [
      '12345',
      'tenantMail.scopes.dev.producers entry "12345" is neither a 12-digit AWS account id nor an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
    ],
    [
      'arn:aws:iam::123456789012:user/bob',
      'tenantMail.scopes.dev.producers entry "arn:aws:iam::123456789012:user/bob" is neither a 12-digit AWS account id nor an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
    ],
    [
      'arn:aws:sqs:eu-west-1:123456789012:billing',
      'tenantMail.scopes.dev.producers entry "arn:aws:sqs:eu-west-1:123456789012:billing" is neither a 12-digit AWS account id nor an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
    ],
  ])('fails synthesis with an exact message for the producer %s', (producer, message) => {
    expect(() =>
      buildApp(
        { context: { ...contextWith({}), 'aws:cdk:bundling-stacks': [] } },
        { TENANT_MAIL_DEV_PRODUCERS: producer },
      ),
    ).toThrow(message);
    expect(() => resolveScopeConfig('dev', { ...valid, producers: [producer] })).toThrow(message);
  });

  it('refuses more producers than an SQS queue policy can name', () => {
    const accounts = (n: number) => Array.from({ length: n }, (_, i) => String(100000000000 + i));
    expect(resolveScopeConfig('dev', { ...valid, producers: accounts(49) }).producers).toHaveLength(49);
    expect(() => resolveScopeConfig('dev', { ...valid, producers: accounts(50) })).toThrow(
      'tenantMail.scopes.dev.producers lists 50 principals; an SQS queue policy names at most 50 and the TLS-only rule takes one, so at most 49 (list an account id instead of its roles)',
    );
  });

  it.each([[42], [{ account: PRODUCER_ACCOUNT }], [[PRODUCER_ACCOUNT, 7]]])(
    'fails synthesis when producers is not a list of strings: %j',
    (producers) => {
      expect(() => resolveScopeConfig('dev', { ...valid, producers })).toThrow(
        'tenantMail.scopes.dev.producers must be a list of AWS account ids and/or IAM role ARNs',
      );
    },
  );
});
