import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ScopeConfig } from '../config/scope-config';
import { DataTables } from '../constructs/data-tables';

export interface StatefulStackProps extends StackProps {
  readonly config: ScopeConfig;
  readonly namePrefix: string;
}

/** Long-lived data of one scope: tables and their key. Deployed rarely, retained in prod. */
export class StatefulStack extends Stack {
  public readonly data: DataTables;

  constructor(scope: Construct, id: string, props: StatefulStackProps) {
    super(scope, id, props);
    this.data = new DataTables(this, 'Data', {
      namePrefix: props.namePrefix,
      retainData: props.config.retainData,
    });
  }
}
