import { Arn, ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  ConfigurationSet,
  ConfigurationSetTlsPolicy,
  EmailIdentity,
  EmailSendingEvent,
  EventDestination,
  Identity,
  SuppressionReasons,
} from 'aws-cdk-lib/aws-ses';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { nagArn } from '../config/nag';

export interface SesSendingProps {
  /** Physical name of the SNS topic SES publishes sending events to. */
  readonly feedbackTopicName: string;
  /** Physical configuration-set name, derived from the stage. */
  readonly configurationSetName: string;
  /** The platform's sending domain for the `default` method, verified here with Easy DKIM. */
  readonly senderDomain: string;
  /** Customer-managed key of the feedback topic; its policy must let SES use it (see `TopicKey`). */
  readonly topicKey: IKey;
}

/**
 * This scope's SES resources: the configuration set every message goes through (TLS required, reputation
 * metrics, account suppression for bounces and complaints) and the platform's own domain identity.
 * Tenant identities are created at run time by the operator CLI, so they are not declared here.
 */
export class SesSending extends Construct {
  public readonly configurationSet: ConfigurationSet;
  public readonly platformIdentity: EmailIdentity;
  /** SES sending events (send, delivery, bounce, complaint…) for this configuration set. */
  public readonly feedbackTopic: Topic;

  constructor(scope: Construct, id: string, props: SesSendingProps) {
    super(scope, id);
    this.configurationSet = new ConfigurationSet(this, 'ConfigurationSet', {
      configurationSetName: props.configurationSetName,
      tlsPolicy: ConfigurationSetTlsPolicy.REQUIRE,
      reputationMetrics: true,
      sendingEnabled: true,
      suppressionReasons: SuppressionReasons.BOUNCES_AND_COMPLAINTS,
    });
    this.feedbackTopic = new Topic(this, 'FeedbackTopic', {
      topicName: props.feedbackTopicName,
      masterKey: props.topicKey,
      enforceSSL: true,
    });
    // Only SES, sending for this account's configuration set, may publish.
    const stack = Stack.of(this);
    this.feedbackTopic.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('ses.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.feedbackTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': configurationSetArn(stack, props.configurationSetName) },
        },
      }),
    );
    this.configurationSet.addEventDestination('Feedback', {
      configurationSetEventDestinationName: 'feedback-sns',
      destination: EventDestination.snsTopic(this.feedbackTopic),
      events: [
        EmailSendingEvent.SEND,
        EmailSendingEvent.DELIVERY,
        EmailSendingEvent.BOUNCE,
        EmailSendingEvent.COMPLAINT,
        EmailSendingEvent.DELIVERY_DELAY,
        EmailSendingEvent.REJECT,
        EmailSendingEvent.RENDERING_FAILURE,
      ],
    });
    this.platformIdentity = new EmailIdentity(this, 'PlatformIdentity', {
      identity: Identity.domain(props.senderDomain),
      configurationSet: this.configurationSet,
    });
  }

  /**
   * Permission to send through this scope's identities (the platform's and the tenants' verified ones, which
   * live in this account and region only) and its configuration set, and reading the account's sending quota.
   */
  grantSend(grantee: IGrantable): void {
    const stack = Stack.of(this);
    const sesArn = (resource: string, resourceName: string) =>
      Arn.format({ service: 'ses', resource, resourceName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, stack);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [
          sesArn('identity', '*'),
          sesArn('configuration-set', this.configurationSet.configurationSetName),
        ],
      }),
    );
    // The sender paces itself to the account's maximum send rate, read with GetAccount (an account-level
    // action with no resource type: IAM accepts only "*" for it).
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['ses:GetAccount'], resources: ['*'] }),
    );
    const principal = grantee.grantPrincipal;
    if (!Construct.isConstruct(principal)) return;
    Validations.of(principal).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ses:GetAccount (read the maximum send rate the sender paces to) is an account-level action without resource types; IAM accepts only "*" for it.',
    });
    Validations.of(principal).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArn(stack, 'ses', 'identity/*')}]`,
      reason:
        "Tenant identities are verified at run time by the operator CLI, so they cannot be listed at deploy time; the ARN is limited to this scope's account and region, which is the verification scope.",
    });
  }
}

/** The ARN of a configuration set of this stack's account and region (SES's `aws:SourceArn` when it publishes). */
export function configurationSetArn(stack: Stack, name: string): string {
  return Arn.format(
    {
      service: 'ses',
      resource: 'configuration-set',
      resourceName: name,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    },
    stack,
  );
}
