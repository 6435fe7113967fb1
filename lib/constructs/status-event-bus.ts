import { Arn, Aws, CfnOutput, type RemovalPolicy } from 'aws-cdk-lib';
import { EventBus, type EventPattern, type IEventBus } from 'aws-cdk-lib/aws-events';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import {
  type NotableStatus,
  STATUS_EVENT_DETAIL_TYPE,
  STATUS_EVENT_SOURCE,
} from '../../lambdas/domain/message/status-events';
import type { Environment, Scope } from '../../lambdas/domain/scope';
import { statusEventBusName } from '../config/names';

export interface StatusEventBusProps {
  readonly scope: Scope;
  /** Prefix of the stack outputs' export names (`<prefix>-status-event-bus-name`, `…-arn`). */
  readonly exportPrefix: string;
  /** @default the stack's (RETAIN keeps the platform's rules' bus when the stack goes) */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The scope's status-event bus, `tenant-mail.<scope>`, in the stateful stack: the platform's rules hang on it,
 * so it outlives redeployments of the compute. Its name and ARN are stack outputs and SSM parameters
 * (`/tenant-mail/<scope>/status-event-bus-name`, `…-arn`), like the events queue's.
 */
export class StatusEventBus extends Construct {
  public readonly bus: EventBus;
  public readonly busNameParameter: StringParameter;
  public readonly busArnParameter: StringParameter;

  constructor(scope: Construct, id: string, props: StatusEventBusProps) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', {
      eventBusName: statusEventBusName(props.scope),
      description: `tenant-mail ${props.scope}: Email Status Changed events (docs/events.md, "Events out")`,
    });
    if (props.removalPolicy) this.bus.applyRemovalPolicy(props.removalPolicy);
    new CfnOutput(this, 'StatusEventBusName', {
      description: `EventBridge bus of the ${props.scope} scope's status events (rules: source tenant-mail)`,
      value: this.bus.eventBusName,
      exportName: `${props.exportPrefix}-status-event-bus-name`,
    });
    new CfnOutput(this, 'StatusEventBusArn', {
      description: `ARN of the ${props.scope} status-event bus`,
      value: this.bus.eventBusArn,
      exportName: `${props.exportPrefix}-status-event-bus-arn`,
    });
    this.busNameParameter = new StringParameter(this, 'StatusEventBusNameParameter', {
      parameterName: `/tenant-mail/${props.scope}/status-event-bus-name`,
      description: `Name of the tenant-mail ${props.scope} status-event bus`,
      stringValue: this.bus.eventBusName,
    });
    this.busArnParameter = new StringParameter(this, 'StatusEventBusArnParameter', {
      parameterName: `/tenant-mail/${props.scope}/status-event-bus-arn`,
      description: `ARN of the tenant-mail ${props.scope} status-event bus`,
      stringValue: this.bus.eventBusArn,
    });
  }
}

/**
 * The status-event bus of a tenant-mail scope, for a platform stack in the scope's account and region that adds
 * its own rules (`new Rule(stack, id, { eventBus, … })`). Built from the fixed name: no cross-stack reference.
 */
export function importStatusEventBus(scope: Construct, id: string, tenantMailScope: Scope): IEventBus {
  return EventBus.fromEventBusArn(
    scope,
    id,
    Arn.format({
      partition: Aws.PARTITION,
      service: 'events',
      region: Aws.REGION,
      account: Aws.ACCOUNT_ID,
      resource: 'event-bus',
      resourceName: statusEventBusName(tenantMailScope),
    }),
  );
}

/** Which status events a rule wants; every field is optional (absent: every value matches). */
export interface StatusEventFilter {
  readonly tenantIds?: readonly string[];
  readonly environments?: readonly Environment[];
  readonly statuses?: readonly NotableStatus[];
}

/** The event pattern of a rule on the status-event bus: our source and detail-type, and the filter's fields. */
export function statusEventPattern(filter: StatusEventFilter = {}): EventPattern {
  const detail: Record<string, string[]> = {};
  if (filter.tenantIds?.length) detail.tenantId = [...filter.tenantIds];
  if (filter.environments?.length) detail.environment = [...filter.environments];
  if (filter.statuses?.length) detail.status = [...filter.statuses];
  return {
    source: [STATUS_EVENT_SOURCE],
    detailType: [STATUS_EVENT_DETAIL_TYPE],
    ...(Object.keys(detail).length ? { detail } : {}),
  };
}
