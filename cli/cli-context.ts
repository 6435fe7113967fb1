import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoMessageLedger } from '../lambdas/adapters/message-ledger/dynamo-message-ledger';
import { SqsSendLanes } from '../lambdas/adapters/sqs-send-lanes';
import type { Scope } from '../lambdas/domain/scope';
import { resourcePrefix } from '../lib/config/names';
import type { TableName } from '../lib/schema/tables';
import { LOCAL_CREDENTIALS } from '../local/emulators/local-aws';

/** What `npm start` writes to `.local/endpoints.json`. */
export interface LocalEndpoints {
  readonly scope: Scope;
  readonly region: string;
  readonly dynamodb: string;
  readonly sqs: string;
  readonly sns: string;
  readonly ses: string;
  readonly dns: string;
  readonly queues: Record<string, string>;
  readonly viewer: string;
  /** The local Secrets Manager endpoint (tenant relay credentials). */
  readonly secretsManager?: string;
  /** Folder of the local secret store behind it. */
  readonly secretsDir?: string;
}

export interface CliOutput {
  /** Prints data: JSON with `--json`, otherwise the readable text. */
  result(data: unknown, text: () => string): void;
  info(text: string): void;
  error(text: string): void;
}

/** Everything a command needs: scope, output mode, and clients for the scope's AWS account or the local twin. */
export interface CliContext {
  readonly scope: Scope;
  readonly json: boolean;
  /** The local twin's endpoints when `--local`; undefined against AWS. */
  readonly local?: LocalEndpoints;
  readonly dynamodb: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  readonly ses: SESv2Client;
  readonly sqs: SQSClient;
  readonly secrets: SecretsManagerClient;
  readonly out: CliOutput;
  tableName(name: TableName): string;
  /** URL of one of the scope's queues by short name (`events`, `send`, `send-bulk`…). */
  queueUrl(name: string): Promise<string>;
  /** The scope's message ledger (the one writer of message records). */
  ledger(): DynamoMessageLedger;
  /** The scope's send lanes (the one writer to the send queues). */
  lanes(): Promise<SqsSendLanes>;
  /** Releases clients. */
  close(): void;
}

export interface CliContextOptions {
  readonly scope: Scope;
  readonly json: boolean;
  readonly local: boolean;
  readonly region?: string;
  readonly projectDir: string;
}

/**
 * Builds clients: with `--local`, pointed at the endpoints `npm start` wrote (and its scope must match);
 * otherwise the operator's own AWS credentials and region (the AWS SDK's usual resolution).
 */
export function createCliContext(options: CliContextOptions): CliContext {
  let local: LocalEndpoints | undefined;
  if (options.local) {
    const file = join(options.projectDir, '.local', 'endpoints.json');
    if (!existsSync(file))
      throw new Error(
        'no local twin is running: start it with `npm start` (it writes .local/endpoints.json)',
      );
    local = JSON.parse(readFileSync(file, 'utf8')) as LocalEndpoints;
    if (local.scope !== options.scope) {
      throw new Error(
        `the local twin runs the ${local.scope} scope; pass --scope ${local.scope} or restart it with --scope ${options.scope}`,
      );
    }
  }
  const base = local
    ? { region: local.region, credentials: LOCAL_CREDENTIALS }
    : options.region
      ? { region: options.region }
      : {};
  const dynamodb = new DynamoDBClient({ ...base, ...(local ? { endpoint: local.dynamodb } : {}) });
  const ses = new SESv2Client({ ...base, ...(local ? { endpoint: local.ses } : {}) });
  const sqs = new SQSClient({ ...base, ...(local ? { endpoint: local.sqs } : {}) });
  const secrets = new SecretsManagerClient({
    ...base,
    ...(local?.secretsManager ? { endpoint: local.secretsManager } : {}),
  });
  const prefix = resourcePrefix(options.scope);
  const documents = DynamoDBDocumentClient.from(dynamodb, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const json = options.json;
  return {
    scope: options.scope,
    json,
    ...(local ? { local } : {}),
    dynamodb,
    documents,
    ses,
    sqs,
    secrets,
    out: {
      result: (data, text) => console.log(json ? JSON.stringify(data, null, 2) : text()),
      info: (text) => {
        if (!json) console.log(text);
      },
      error: (text) => console.error(text),
    },
    tableName: (name) => `${prefix}-${name}`,
    ledger: () => new DynamoMessageLedger(documents, { tableName: `${prefix}-messages` }),
    async lanes() {
      return new SqsSendLanes(sqs, {
        queueUrls: { transactional: await this.queueUrl('send'), bulk: await this.queueUrl('send-bulk') },
      });
    },
    async queueUrl(name) {
      const queueName = `${prefix}-${name}`;
      const known = local?.queues[queueName];
      if (known) return known;
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
      if (!QueueUrl) throw new Error(`queue ${queueName} not found`);
      return QueueUrl;
    },
    close() {
      dynamodb.destroy();
      ses.destroy();
      sqs.destroy();
      secrets.destroy();
    },
  };
}

/** Renders rows as an aligned text table for people. */
export function formatTable(rows: readonly object[], columns: readonly string[]): string {
  if (rows.length === 0) return '(none)';
  const cell = (value: unknown) => (value === undefined || value === null ? '' : String(value));
  const widths = columns.map((column) =>
    Math.max(column.length, ...rows.map((row) => cell((row as Record<string, unknown>)[column]).length)),
  );
  const line = (values: readonly string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((c) => c.toUpperCase())),
    ...rows.map((row) => line(columns.map((c) => cell((row as Record<string, unknown>)[c])))),
  ].join('\n');
}
