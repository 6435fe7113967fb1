import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildPlatformApp, REPORTING_ACCOUNT } from '../src/platform-app';

describe('the platform CDK app with tenant-mail', () => {
  const { app, mail, billing } = buildPlatformApp();

  it('synthesizes, bundling the functions from the installed package', () => {
    const assembly = app.synth();
    const sender = Template.fromStack(mail.stateless).findResources('AWS::Lambda::Function', {
      Properties: { Runtime: 'nodejs24.x', Architectures: ['arm64'] },
    });
    expect(Object.keys(sender).length).toBeGreaterThanOrEqual(5);
    expect(assembly.stacks.map((stack) => stack.stackName)).toEqual(expect.arrayContaining(['Billing']));
  });

  it('admits the reporting account in the events queue policy', () => {
    Template.fromStack(mail.stateless).hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'ProducersMaySendEvents',
            Action: 'sqs:SendMessage',
            // An account principal as CloudFormation receives it.
            Principal: {
              AWS: {
                'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${REPORTING_ACCOUNT}:root`]],
              },
            },
          }),
        ]),
      },
    });
  });

  it("grants the billing service's role sending to the events queue", () => {
    Template.fromStack(billing).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: 'sqs:SendMessage', Effect: 'Allow' })]),
      },
    });
  });
});
