import { Arn, ArnFormat, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { configurationSetArn } from './ses-sending';

export interface TopicKeyProps {
  /** Key description, e.g. `tenant-mail-prod SNS topics`. */
  readonly description: string;
  /** The configuration set whose events SES publishes to a topic under this key. */
  readonly configurationSetName: string;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The customer-managed key of a scope's SNS topics (SES feedback, alarms). The AWS-managed `alias/aws/sns`
 * key cannot be used by other AWS services, so SES event publishing and CloudWatch alarm actions would be
 * refused and every bounce, complaint and alarm silently lost. This key's policy lets SES (for this account's
 * configuration set only) and CloudWatch (for this account's alarms) generate data keys and decrypt.
 */
export class TopicKey extends Construct {
  public readonly key: Key;

  constructor(scope: Construct, id: string, props: TopicKeyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.key = new Key(this, 'Key', {
      description: props.description,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
      pendingWindow: Duration.days(30),
    });
    // Each service may use the key only for this account's own resources of the kind it publishes for.
    const publishers = [
      [
        'SesPublishesConfigurationSetEvents',
        'ses.amazonaws.com',
        configurationSetArn(stack, props.configurationSetName),
      ],
      [
        'CloudWatchPublishesAlarms',
        'cloudwatch.amazonaws.com',
        Arn.format(
          {
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          },
          stack,
        ),
      ],
    ] as const;
    for (const [sid, service, sourceArn] of publishers) {
      this.key.addToResourcePolicy(
        new PolicyStatement({
          sid,
          principals: [new ServicePrincipal(service)],
          actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
          resources: ['*'],
          conditions: {
            StringEquals: { 'aws:SourceAccount': stack.account },
            ArnLike: { 'aws:SourceArn': sourceArn },
          },
        }),
      );
    }
  }
}
