import { Stage, type StageProps } from 'aws-cdk-lib';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { resourcePrefix } from '../config/names';
import type { ScopeConfig } from '../config/scope-config';
import { StatefulStack } from '../stacks/stateful-stack';
import { StatelessStack } from '../stacks/stateless-stack';

export interface ScopeStageProps extends StageProps {
  readonly config: ScopeConfig;
}

/**
 * One verification scope (`prod` or `dev`) deployed into its own account and region: identities verified
 * here serve this scope's environments and no other. Deploy with `npx cdk deploy '<scope>/*'`.
 */
export class ScopeStage extends Stage {
  public readonly stateful: StatefulStack;
  public readonly stateless: StatelessStack;

  constructor(scope: Construct, id: string, props: ScopeStageProps) {
    const { config } = props;
    super(scope, id, { ...props, env: { account: config.account, region: config.region } });
    const namePrefix = resourcePrefix(config.scope);
    this.stateful = new StatefulStack(this, 'Stateful', {
      config,
      namePrefix,
      stackName: `${namePrefix}-stateful`,
    });
    this.stateless = new StatelessStack(this, 'Stateless', {
      config,
      namePrefix,
      stackName: `${namePrefix}-stateless`,
      tables: this.stateful.data.tables,
      statusEventBus: this.stateful.statusEvents.bus,
    });
  }

  /**
   * Lets a producer of the same CDK app (a role or function in any of its stacks) publish events to this scope:
   * `sqs:SendMessage` on the events queue. A producer in another account must also be listed in the scope's
   * `producers` setting, which admits it in the queue's resource policy.
   */
  public grantPublish(grantable: IGrantable): Grant {
    return this.stateless.grantPublish(grantable);
  }
}
