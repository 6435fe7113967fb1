import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  StreamViewType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { type IndexSchema, TABLES, type TableName } from '../schema/tables';

export interface DataTablesProps {
  /** Prefix of every physical table name, e.g. `tenant-mail-prod`. */
  readonly namePrefix: string;
  /** Keep the tables and the key when the stack is deleted. */
  readonly retainData: boolean;
}

/**
 * The long-lived data of one scope: a customer-managed KMS key (rotated yearly) and one on-demand table per
 * entry of {@link TABLES}, encrypted with that key, with point-in-time recovery and TTL where the schema asks.
 */
export class DataTables extends Construct {
  public readonly key: Key;
  public readonly tables: Record<TableName, Table>;

  constructor(scope: Construct, id: string, props: DataTablesProps) {
    super(scope, id);
    const removalPolicy = props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.key = new Key(this, 'DataKey', {
      description: `${props.namePrefix} tables`,
      enableKeyRotation: true,
      removalPolicy,
    });
    const tables = {} as Record<TableName, Table>;
    for (const [name, schema] of Object.entries(TABLES) as [TableName, (typeof TABLES)[TableName]][]) {
      const sortKey = 'sortKey' in schema ? schema.sortKey : undefined;
      const table = new Table(this, `${name[0]?.toUpperCase()}${name.slice(1)}Table`, {
        tableName: `${props.namePrefix}-${name}`,
        partitionKey: { name: schema.partitionKey, type: AttributeType.STRING },
        ...(sortKey ? { sortKey: { name: sortKey, type: AttributeType.STRING } } : {}),
        billingMode: BillingMode.PAY_PER_REQUEST,
        encryption: TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: this.key,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        ...('timeToLiveAttribute' in schema ? { timeToLiveAttribute: schema.timeToLiveAttribute } : {}),
        ...('stream' in schema ? { stream: StreamViewType[schema.stream] } : {}),
        deletionProtection: props.retainData,
        removalPolicy,
      });
      for (const index of 'globalIndexes' in schema ? schema.globalIndexes : []) {
        const indexSortKey = 'sortKey' in index ? index.sortKey : undefined;
        table.addGlobalSecondaryIndex({
          indexName: index.indexName,
          partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
          ...(indexSortKey ? { sortKey: { name: indexSortKey, type: AttributeType.STRING } } : {}),
          ...projectionOf(index),
        });
      }
      tables[name] = table;
    }
    this.tables = tables;
  }
}

function projectionOf(
  index: IndexSchema,
): { projectionType: ProjectionType; nonKeyAttributes?: string[] } | Record<string, never> {
  if (!index.include) return {};
  if (index.include.length === 0) return { projectionType: ProjectionType.KEYS_ONLY };
  return { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.include] };
}
