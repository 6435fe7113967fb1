import { Arn, Aws, CfnOutput, Token } from 'aws-cdk-lib';
import {
  AccountPrincipal,
  ArnPrincipal,
  Grant,
  type IGrantable,
  type IPrincipal,
  PolicyStatement,
} from 'aws-cdk-lib/aws-iam';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { Scope } from '../../lambdas/domain/scope';
import { isAccountId } from '../config/scope-config';

export interface ProducerAccessProps {
  readonly scope: Scope;
  /** The scope's events queue (SSE-SQS: a producer needs no key grant to send to it). */
  readonly eventsQueue: Queue;
  /** Physical name of the events queue; `grantPublish` builds its ARN from it, never from a token. */
  readonly eventsQueueName: string;
  /** Prefix of the stack outputs' export names (`<prefix>-events-queue-url`, `<prefix>-events-queue-arn`). */
  readonly exportPrefix: string;
  /** Region of the scope's deployment (always known: the scope config requires it). */
  readonly region: string;
  /** Account of the scope's deployment; unset means "the account the producer's stack deploys to". */
  readonly account?: string;
  /**
   * 12-digit account ids and/or IAM role ARNs (validated by the scope config) the queue's resource policy
   * lets send. @default []
   */
  readonly producers?: readonly string[];
}

/**
 * How platform producers reach a scope's events queue: the queue's resource policy admits the configured
 * producers (`sqs:SendMessage`, which also authorises `SendMessageBatch`), the queue URL and ARN are published
 * as stack outputs and SSM parameters, and {@link grantPublish} grants a principal of the same CDK app.
 */
export class ProducerAccess extends Construct {
  /** `/tenant-mail/<scope>/events-queue-url`: where a producer in the scope's account finds the queue. */
  public readonly queueUrlParameter: StringParameter;
  /** `/tenant-mail/<scope>/events-queue-arn`. */
  public readonly queueArnParameter: StringParameter;
  private readonly props: ProducerAccessProps;

  constructor(scope: Construct, id: string, props: ProducerAccessProps) {
    super(scope, id);
    this.props = props;
    const { eventsQueue, producers = [] } = props;
    if (producers.length > 0) {
      eventsQueue.addToResourcePolicy(
        new PolicyStatement({
          sid: 'ProducersMaySendEvents',
          principals: producers.map(principalOf),
          actions: ['sqs:SendMessage'],
          resources: [eventsQueue.queueArn],
        }),
      );
    }
    new CfnOutput(this, 'EventsQueueUrl', {
      description: `Where producers send ${props.scope} platform events (CloudEvents JSON, SQS SendMessage)`,
      value: eventsQueue.queueUrl,
      exportName: `${props.exportPrefix}-events-queue-url`,
    });
    new CfnOutput(this, 'EventsQueueArn', {
      description: `ARN of the ${props.scope} events queue (for producers' IAM policies)`,
      value: eventsQueue.queueArn,
      exportName: `${props.exportPrefix}-events-queue-arn`,
    });
    this.queueUrlParameter = new StringParameter(this, 'EventsQueueUrlParameter', {
      parameterName: `/tenant-mail/${props.scope}/events-queue-url`,
      description: `URL of the tenant-mail ${props.scope} events queue`,
      stringValue: eventsQueue.queueUrl,
    });
    this.queueArnParameter = new StringParameter(this, 'EventsQueueArnParameter', {
      parameterName: `/tenant-mail/${props.scope}/events-queue-arn`,
      description: `ARN of the tenant-mail ${props.scope} events queue`,
      stringValue: eventsQueue.queueArn,
    });
  }

  /**
   * Lets a principal of the same CDK app publish events: `sqs:SendMessage` on the events queue, added to the
   * principal's own policy. The queue ARN is built from the scope's name, region and account, not referenced
   * from this stack, so the producer may live in any stack or stage of the app. A producer in another account
   * must also be admitted by the queue's policy: list its account or role in the scope's `producers`.
   */
  public grantPublish(grantable: IGrantable): Grant {
    const { account, producers = [] } = this.props;
    const principalAccount = grantable.grantPrincipal.principalAccount;
    if (
      account !== undefined &&
      principalAccount !== undefined &&
      !Token.isUnresolved(principalAccount) &&
      principalAccount !== account &&
      !producers.some((producer) => accountOf(producer) === principalAccount)
    ) {
      throw new Error(
        `grantPublish: the grantee is in account ${principalAccount}, not the ${this.props.scope} scope's account ${account}; add ${principalAccount} (or the role's ARN) to tenantMail.scopes.${this.props.scope}.producers so the events queue's policy admits it`,
      );
    }
    return Grant.addToPrincipal({
      grantee: grantable,
      actions: ['sqs:SendMessage'],
      resourceArns: [this.eventsQueueArn()],
    });
  }

  /** Pseudo parameters resolve in the stack that uses the ARN: no cross-stack (or cross-stage) reference. */
  private eventsQueueArn(): string {
    return Arn.format({
      partition: Aws.PARTITION,
      service: 'sqs',
      region: this.props.region,
      account: this.props.account ?? Aws.ACCOUNT_ID,
      resource: this.props.eventsQueueName,
    });
  }
}

function principalOf(producer: string): IPrincipal {
  return isAccountId(producer) ? new AccountPrincipal(producer) : new ArnPrincipal(producer);
}

/** The account a producer entry names: the id itself, or the account field of a role ARN. */
function accountOf(producer: string): string | undefined {
  return isAccountId(producer) ? producer : producer.split(':')[4];
}
