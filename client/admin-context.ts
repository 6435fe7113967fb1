import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import { GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoMessageLedger } from '../lambdas/adapters/message-ledger/dynamo-message-ledger';
import { SqsSendLanes } from '../lambdas/adapters/sqs-send-lanes';
import { DynamoTenantStore } from '../lambdas/adapters/tenant-store';
import { ENVIRONMENTS, type Environment, SCOPE_ENVIRONMENTS, type Scope } from '../lambdas/domain/scope';
import { resourcePrefix } from '../lib/config/names';
import type { TableName } from '../lib/schema/tables';
import { AdminInputError } from './admin-errors';

/** The AWS SDK clients the admin client uses; the caller creates them (credentials, region, endpoints). */
export interface AdminAwsClients {
  readonly dynamodb: DynamoDBClient;
  readonly ses: SESv2Client;
  readonly sqs: SQSClient;
  readonly secrets: SecretsManagerClient;
}

/** Short names of the scope's queues. */
export type QueueName = 'events' | 'send' | 'send-bulk' | 'feedback' | (string & {});

export interface AdminClientOptions {
  /** The verification scope this deployment serves (`prod` or `dev`). */
  readonly scope: Scope;
  readonly clients: AdminAwsClients;
  /** Physical table names. @default `tenant-mail-<scope>-<name>` */
  readonly tables?: Partial<Record<TableName, string>>;
  /** Queue URLs by short name. @default looked up by name (`GetQueueUrl` of `tenant-mail-<scope>-<name>`) */
  readonly queues?: Partial<Record<string, string>>;
  /**
   * The platform's own sending domain(s) of the scope: tenants can never add them or their subdomains as
   * identities. @default none
   */
  readonly platformDomains?: readonly string[];
  /** DNS servers (`host` or `host:port`) for SPF/DMARC lookups and `identity doctor`. @default the system's */
  readonly dnsServers?: readonly string[];
  /** PEM of a CA to trust for tenant relays (`smtp test` against a relay with a private CA). @default none */
  readonly relayCa?: string;
  readonly now?: () => Date;
}

/** What every part of the admin client shares: scope, clients, names, the ledger and the send lanes. */
export class AdminContext {
  readonly scope: Scope;
  readonly documents: DynamoDBDocumentClient;
  readonly now: () => Date;
  private readonly queueUrls = new Map<string, string>();

  constructor(readonly options: AdminClientOptions) {
    this.scope = options.scope;
    this.documents = DynamoDBDocumentClient.from(options.clients.dynamodb, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.now = options.now ?? (() => new Date());
  }

  get clients(): AdminAwsClients {
    return this.options.clients;
  }

  tableName(name: TableName): string {
    return this.options.tables?.[name] ?? `${resourcePrefix(this.scope)}-${name}`;
  }

  async queueUrl(name: QueueName): Promise<string> {
    const given = this.options.queues?.[name] ?? this.queueUrls.get(name);
    if (given) return given;
    const queueName = `${resourcePrefix(this.scope)}-${name}`;
    const { QueueUrl } = await this.clients.sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
    if (!QueueUrl) throw new Error(`queue ${queueName} not found`);
    this.queueUrls.set(name, QueueUrl);
    return QueueUrl;
  }

  tenantStore(): DynamoTenantStore {
    return new DynamoTenantStore(this.documents, {
      tableName: this.tableName('tenants'),
      cacheTtlSeconds: 0,
    });
  }

  /** The scope's message ledger (the one writer of message records). */
  ledger(): DynamoMessageLedger {
    return new DynamoMessageLedger(this.documents, { tableName: this.tableName('messages') });
  }

  /** The scope's send lanes (the one writer to the send queues). */
  async lanes(): Promise<SqsSendLanes> {
    return new SqsSendLanes(this.clients.sqs, {
      queueUrls: { transactional: await this.queueUrl('send'), bulk: await this.queueUrl('send-bulk') },
    });
  }

  /** An environment name checked against the scope: the one place every operation does it. */
  environment(value: string): Environment {
    if (!(ENVIRONMENTS as readonly string[]).includes(value))
      throw new AdminInputError(
        `environment must be one of ${ENVIRONMENTS.join(', ')}`,
        'INVALID_ENVIRONMENT',
      );
    if (!SCOPE_ENVIRONMENTS[this.scope].includes(value as Environment)) {
      throw new AdminInputError(
        `the ${this.scope} scope serves ${SCOPE_ENVIRONMENTS[this.scope].join(', ')}; ${value} belongs to the other scope (--scope ${this.scope === 'prod' ? 'dev' : 'prod'})`,
        'ENVIRONMENT_NOT_SERVED',
      );
    }
    return value as Environment;
  }
}
