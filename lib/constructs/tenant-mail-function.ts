import { dirname, join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type CfnFunction, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { packageRoot } from '../config/package-root';
import { TABLES, type TableName, type TableSchema } from '../schema/tables';

const TABLE_READ_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
];
const TABLE_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

export interface TenantMailFunctionProps {
  /** Handler file under `lambdas/handlers/`, e.g. `send-email.handler.ts`. */
  readonly handlerFile: string;
  /** @default 30 seconds */
  readonly timeout?: Duration;
  /** @default 512 MB (arm64 scales CPU with memory; 512 keeps MIME building and TLS quick) */
  readonly memorySize?: number;
  /** Settings every scope function gets, e.g. `SCOPE`. */
  readonly environment?: Record<string, string>;
  /** @default one month */
  readonly logRetention?: RetentionDays;
  readonly removalPolicy?: RemovalPolicy;
}

/** How a function may use a table; each maps to the narrowest grant that allows it. */
export type TableAccess = 'read' | 'write';

/**
 * Modules a function loads only when it first needs them, by handler file: the handler (or its wiring beside it in
 * `lambdas/handlers/`) `require`s `./<module>` at run time, and each is bundled from `lambdas/handlers/<module>.ts`
 * into `<module>.js` beside the function's `index.js` (the code it shares with `index.js` is bundled again). A cold
 * start neither reads nor evaluates them. The sender has two: its relay transport (nodemailer's SMTP client serves
 * only tenants on `external-smtp`) and its send lanes (the SQS client, used only to defer an email).
 */
export const LAZY_MODULES: Readonly<Record<string, readonly string[]>> = {
  'send-email.handler.ts': ['send-email.relay', 'send-email.lanes'],
};

/**
 * How every function is bundled (esbuild options; the construct maps them onto NodejsFunction's): minified CommonJS
 * for Node 24, the AWS SDK bundled too (pinned versions, only the clients a function imports), a source map without
 * the sources beside the code, the {@link LAZY_MODULES} left out (bundled on their own), and the SDK's default
 * credential chain replaced by its environment link, which is how Lambda hands a function its role's credentials
 * (lambdas/shared/lambda-credentials.ts). The bundle-budget test and the bundle benchmark build with exactly these.
 */
export const LAMBDA_BUNDLE = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  target: 'node24',
  mainFields: ['module', 'main'],
  external: Object.values(LAZY_MODULES).flatMap((modules) => modules.map((module) => `./${module}`)),
  alias: {
    '@aws-sdk/credential-provider-node': join(packageRoot(), 'lambdas', 'shared', 'lambda-credentials.ts'),
  },
} as const;

/** {@link LAMBDA_BUNDLE}'s aliases as esbuild's `--alias:<package>=<path>` values. */
const aliasArgs = (): string[] => Object.entries(LAMBDA_BUNDLE.alias).map(([from, to]) => `${from}=${to}`);

/** The esbuild command-line flags of {@link LAMBDA_BUNDLE}, for the bundles NodejsFunction does not make itself. */
function lambdaBundleFlags(): string[] {
  return [
    '--bundle',
    `--platform=${LAMBDA_BUNDLE.platform}`,
    `--format=${LAMBDA_BUNDLE.format}`,
    ...(LAMBDA_BUNDLE.minify ? ['--minify'] : []),
    ...(LAMBDA_BUNDLE.sourcemap ? ['--sourcemap'] : []),
    `--sources-content=${LAMBDA_BUNDLE.sourcesContent}`,
    `--target=${LAMBDA_BUNDLE.target}`,
    `--main-fields=${LAMBDA_BUNDLE.mainFields.join(',')}`,
    ...LAMBDA_BUNDLE.external.map((module) => `--external:${module}`),
    ...aliasArgs().map((alias) => `--alias:${alias}`),
  ];
}

/**
 * Shell commands that bundle a function's {@link LAZY_MODULES} into `outputDir`, with the esbuild package this
 * code resolves (the one NodejsFunction bundles with when it bundles locally; there is no Docker path for them).
 */
function lazyModuleCommands(handlerFile: string, outputDir: string): string[] {
  const modules = LAZY_MODULES[handlerFile] ?? [];
  if (modules.length === 0) return [];
  let esbuild: string;
  try {
    esbuild = join(dirname(require.resolve('esbuild/package.json')), 'bin', 'esbuild');
  } catch (error) {
    throw new Error(
      `${handlerFile} loads ${modules.join(', ')} lazily; bundling them needs the esbuild package installed beside tenant-mail`,
      { cause: error },
    );
  }
  const quote = (value: string) => `'${value.replaceAll("'", "'\\''")}'`;
  return modules.map((module) =>
    [
      quote(esbuild),
      quote(join(packageRoot(), 'lambdas', 'handlers', `${module}.ts`)),
      ...lambdaBundleFlags().map(quote),
      '--log-level=warning',
      quote(`--outfile=${join(outputDir, `${module}.js`)}`),
    ].join(' '),
  );
}

/**
 * The one way we build a Lambda function: Node.js 24 on arm64, bundled by the local esbuild (minified,
 * tree-shaken, source maps on), JSON logs in a log group with a retention, and binding methods that set the
 * environment variable and the least-privilege grant together.
 */
export class TenantMailFunction extends NodejsFunction {
  /** The function's own role (sibling construct), where its policies and their acknowledgements live. */
  public readonly executionRole: Role;

  constructor(scope: Construct, id: string, props: TenantMailFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    // Our own role instead of AWSLambdaBasicExecutionRole: it may write to its own log group and nothing else.
    const role = new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    logGroup.grantWrite(role);
    super(scope, id, {
      role,
      // The TypeScript sources, also in the installed package, so a platform's synth bundles exactly this code.
      entry: join(packageRoot(), 'lambdas', 'handlers', props.handlerFile),
      handler: 'handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 512,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      // No `--enable-source-maps`: Node would read and parse the bundle's map (4 MiB for the sender) at every
      // cold start, ~150 ms measured (docs/benchmarks.md). The map ships beside the code to decode a stack trace
      // offline; set NODE_OPTIONS=--enable-source-maps on a function to have Node map traces at run time.
      environment: {
        POWERTOOLS_SERVICE_NAME: 'tenant-mail',
        ...props.environment,
      },
      bundling: {
        minify: LAMBDA_BUNDLE.minify,
        sourceMap: LAMBDA_BUNDLE.sourcemap,
        sourcesContent: LAMBDA_BUNDLE.sourcesContent,
        target: LAMBDA_BUNDLE.target,
        format: OutputFormat.CJS,
        mainFields: [...LAMBDA_BUNDLE.mainFields],
        externalModules: [...LAMBDA_BUNDLE.external],
        esbuildArgs: { '--alias': aliasArgs() },
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir, outputDir) => lazyModuleCommands(props.handlerFile, outputDir),
        },
      },
    });
    this.executionRole = role;
    // Names the source handler in the template, so the local twin runs the same code for this function.
    (this.node.defaultChild as CfnFunction).addMetadata('tenant-mail:handler', props.handlerFile);
  }

  /**
   * Sets `TABLE_<NAME>` and grants read, or read and write, on the table and its named indexes (no index
   * wildcard), plus use of the table's key. Written out rather than `grantReadWriteData` so that the policy
   * names each index of {@link TABLES} explicitly.
   */
  bindTable(name: TableName, table: ITable, access: TableAccess): this {
    this.addEnvironment(`TABLE_${name.toUpperCase()}`, table.tableName);
    const schema: TableSchema = TABLES[name];
    const indexes = (schema.globalIndexes ?? []).map((index) => `${table.tableArn}/index/${index.indexName}`);
    this.addToRolePolicy(
      new PolicyStatement({
        actions: access === 'read' ? TABLE_READ_ACTIONS : [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS],
        resources: [table.tableArn, ...indexes],
      }),
    );
    if (table.encryptionKey) {
      if (access === 'read') table.encryptionKey.grantDecrypt(this);
      else {
        table.encryptionKey.grantEncryptDecrypt(this);
        for (const action of ['kms:GenerateDataKey*', 'kms:ReEncrypt*']) {
          Validations.of(this.executionRole).acknowledge({
            id: `AwsSolutions-IAM5[Action::${action}]`,
            reason:
              "Encrypting items with the table's customer-managed key; the statement names that one key only.",
          });
        }
      }
    }
    return this;
  }

  /** Sets `<envName>` to the queue URL and grants sending to it. */
  bindQueueForSending(envName: string, queue: IQueue): this {
    this.addEnvironment(envName, queue.queueUrl);
    queue.grantSendMessages(this);
    return this;
  }
}
