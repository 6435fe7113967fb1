import { resolve } from 'node:path';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { CfnTemplate } from './cloud-assembly';
import type { ProvisionedScope } from './provision';
import { createSqsPoller, type SqsHandler, type SqsPoller } from './sqs-poller';

export interface RunningFunction {
  readonly logicalId: string;
  readonly handlerFile: string;
  readonly poller: Pick<SqsPoller, 'start' | 'stop'>;
}

type ScheduledHandler = (event: unknown, context: unknown) => Promise<unknown>;

/** `rate(5 minutes)` → milliseconds; cron schedules are not run locally. */
export function rateMs(expression: unknown): number | undefined {
  const match =
    typeof expression === 'string'
      ? /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression)
      : null;
  if (!match) return undefined;
  const unit = match[2]?.startsWith('minute')
    ? 60_000
    : match[2]?.startsWith('hour')
      ? 3_600_000
      : 86_400_000;
  return Number(match[1]) * unit;
}

/**
 * Runs every function of the templates that has an SQS event source mapping: its bundled asset with the
 * environment the template gives it, resolved to the local resources, polled with the mapping's batch size
 * and maximum concurrency (capped at 4 on a laptop). Functions an EventBridge rule invokes on a `rate(...)`
 * schedule (the sweeper, the identity refresher) run once at start and then at that rate; cron rules are skipped.
 */
export async function runFunctions(
  templates: readonly CfnTemplate[],
  assemblyDirectory: string,
  scope: ProvisionedScope,
  sqs: SQSClient,
  endpointEnv: Record<string, string>,
  onError: (error: unknown) => void,
): Promise<RunningFunction[]> {
  const resources = templates.flatMap((template) => Object.entries(template.Resources ?? {}));
  const running: RunningFunction[] = [];
  /** A function's bundled asset (exactly what `cdk deploy` uploads), loaded with its template environment. */
  const load = (logicalId: string | undefined) => {
    const fn = resources.find(([id]) => id === logicalId)?.[1] as
      | { Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
      | undefined;
    const handlerFile = fn?.Metadata?.['tenant-mail:handler'];
    if (!fn || typeof handlerFile !== 'string') return undefined;
    const variables = scope.resolve(
      (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {},
    ) as Record<string, unknown>;
    // Cold start: the module reads its configuration when imported, so set its environment first.
    for (const [name, value] of Object.entries({ ...variables, ...endpointEnv }))
      process.env[name] = String(value);
    const assetPath = fn.Metadata?.['aws:asset:path'];
    if (typeof assetPath !== 'string')
      throw new Error(`function ${logicalId} has no bundled asset: synthesize with bundling`);
    return { handlerFile, module: require(resolve(assemblyDirectory, assetPath, 'index.js')) as unknown };
  };
  for (const [id, mapping] of resources) {
    if (mapping.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    const props = mapping.Properties ?? {};
    const functionRef = props.FunctionName as { Ref?: string } | undefined;
    const loaded = load(functionRef?.Ref);
    if (!loaded) throw new Error(`event source mapping ${id} has no runnable function`);
    const { handlerFile } = loaded;
    const module = loaded.module as { handler: SqsHandler };
    const queueArn = String(scope.resolve(props.EventSourceArn));
    const queue = [...scope.resources.values()].find((resource) => resource.attributes.Arn === queueArn);
    if (!queue) throw new Error(`event source mapping ${id} reads ${queueArn}, which was not provisioned`);
    const scaling = props.ScalingConfig as { MaximumConcurrency?: number } | undefined;
    const poller = createSqsPoller(sqs, module.handler, {
      queueUrl: queue.ref,
      queueArn,
      batchSize: Number(props.BatchSize ?? 10),
      maxConcurrency: Math.min(scaling?.MaximumConcurrency ?? 2, 4),
      functionName: id,
      onError,
    });
    running.push({ logicalId: String(functionRef?.Ref), handlerFile, poller });
  }
  for (const [id, rule] of resources) {
    if (rule.Type !== 'AWS::Events::Rule') continue;
    const props = rule.Properties ?? {};
    const every = rateMs(props.ScheduleExpression);
    const target = (props.Targets as { Arn?: { 'Fn::GetAtt'?: [string, string] } }[] | undefined)?.[0];
    const logicalId = target?.Arn?.['Fn::GetAtt']?.[0];
    const loaded = every === undefined ? undefined : load(logicalId);
    if (every === undefined || !loaded) continue;
    const { handlerFile } = loaded;
    const module = loaded.module as { handler: ScheduledHandler };
    let timer: NodeJS.Timeout | undefined;
    let inFlight: Promise<unknown> = Promise.resolve();
    const invoke = () => {
      inFlight = inFlight
        .then(() => module.handler({ source: 'aws.events', 'detail-type': 'Scheduled Event', id }, {}))
        .catch(onError);
    };
    running.push({
      logicalId: String(logicalId),
      handlerFile,
      poller: {
        // Once at start (a restarted twin finishes what a crash left), then on the rule's rate.
        start() {
          invoke();
          timer = setInterval(invoke, every);
        },
        async stop() {
          if (timer) clearInterval(timer);
          await inFlight;
        },
      },
    });
  }
  return running;
}
