import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ScopeConfig } from '../config/scope-config';
import { DataTables } from '../constructs/data-tables';
import { StatusEventBus } from '../constructs/status-event-bus';

export interface StatefulStackProps extends StackProps {
  readonly config: ScopeConfig;
  readonly namePrefix: string;
}

/**
 * Long-lived data of one scope: tables and their key, and the status-event bus the platform's rules hang on.
 * Deployed rarely, retained in prod.
 */
export class StatefulStack extends Stack {
  public readonly data: DataTables;
  public readonly statusEvents: StatusEventBus;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    this.data = new DataTables(this, 'Data', {
      namePrefix: props.namePrefix,
      retainData: props.config.retainData,
    });
    this.statusEvents = new StatusEventBus(this, 'StatusEvents', {
      scope: props.config.scope,
      exportPrefix: props.namePrefix,
      removalPolicy: props.config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
  }
}
