import { resolve } from 'node:path';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBBatchResponse, SQSBatchResponse } from 'aws-lambda';
import { LOCAL_ACCOUNT, LOCAL_CREDENTIALS, LOCAL_REGION } from '../emulators/local-aws';
import type { EventPattern } from '../eventbridge/event-pattern';
import type { CfnTemplate } from './cloud-assembly';
import { createLambdaFunction, type LambdaFunction } from './function-runtime';
import type { ProvisionedScope } from './provision';
import { nextRun, parseSchedule, type Schedule } from './schedule';
import { createSqsPoller } from './sqs-poller';
import { createStreamPoller } from './stream-poller';

/**
 * Lambda's SQS event source mapping, without a `MaximumConcurrency`, starts with five concurrent batches and
 * scales up from there; the twin stays at that starting point.
 */
export const DEFAULT_SQS_CONCURRENCY = 5;

export interface RunningFunction {
  readonly logicalId: string;
  readonly handlerFile: string;
  readonly runtime: LambdaFunction;
}

/** Something that invokes a function: an SQS event source mapping or an EventBridge schedule. */
export interface FunctionTrigger {
  readonly description: string;
  start(): void;
  stop(): Promise<void>;
}

export interface RunningFunctions {
  readonly functions: readonly RunningFunction[];
  readonly triggers: readonly FunctionTrigger[];
  /** Starts every event source mapping's poller and every schedule. */
  start(): void;
  /** Stops the triggers (waiting for running invocations), then every execution environment. */
  stop(): Promise<void>;
}

export interface RunFunctionsOptions {
  /** Variables every function gets besides its template's: the emulator endpoints and local credentials. */
  readonly endpointEnv: Readonly<Record<string, string>>;
  /** CA certificates (PEM) every function trusts besides Node's bundled roots. @default none */
  readonly extraCaCertificates?: readonly string[];
  readonly onError: (error: unknown) => void;
  /** Told after every SQS-triggered invocation: what Lambda bills (duration, configured memory). */
  readonly onInvoked?: (invocation: {
    readonly functionName: string;
    readonly memoryMb: number;
    readonly ms: number;
  }) => void;
}

type Resource = { readonly Type: string; readonly Properties?: Record<string, unknown> };
type RuleTarget = { readonly Arn?: { readonly 'Fn::GetAtt'?: [string, string] }; readonly Input?: string };

/**
 * Runs the functions of a scope's templates as Lambda would: each from its bundled asset in its own
 * execution environments (worker threads, see function-runtime.ts) with exactly its template's environment,
 * timeout and memory size; each SQS event source mapping polled with its batch size and maximum concurrency;
 * each EventBridge schedule (`rate(...)` and `cron(...)`, UTC) invoking its target with the rule's input.
 */
export function runFunctions(
  templates: readonly CfnTemplate[],
  assemblyDirectory: string,
  scope: ProvisionedScope,
  sqs: SQSClient,
  options: RunFunctionsOptions,
): RunningFunctions {
  const resources = templates.flatMap((template) => Object.entries(template.Resources ?? {}));
  const byId = new Map<string, Resource>(resources);
  const functions = new Map<string, RunningFunction>();

  const functionFor = (logicalId: string): RunningFunction => {
    const existing = functions.get(logicalId);
    if (existing) return existing;
    const fn = byId.get(logicalId) as (Resource & { Metadata?: Record<string, unknown> }) | undefined;
    const assetPath = fn?.Metadata?.['aws:asset:path'];
    const handlerFile = fn?.Metadata?.['tenant-mail:handler'];
    if (fn?.Type !== 'AWS::Lambda::Function' || typeof handlerFile !== 'string')
      throw new Error(`${logicalId} is not a tenant-mail function`);
    if (typeof assetPath !== 'string')
      throw new Error(`function ${logicalId} has no bundled asset: synthesize with bundling`);
    const props = fn.Properties ?? {};
    const variables = scope.resolve(
      (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {},
    ) as Record<string, unknown>;
    const running: RunningFunction = {
      logicalId,
      handlerFile,
      runtime: createLambdaFunction({
        name: logicalId,
        assetDirectory: resolve(assemblyDirectory, assetPath),
        handler: String(props.Handler ?? 'index.handler'),
        environment: {
          ...Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, String(value)])),
          ...options.endpointEnv,
        },
        ...(props.Timeout !== undefined ? { timeoutSeconds: Number(props.Timeout) } : {}),
        ...(props.MemorySize !== undefined ? { memoryMb: Number(props.MemorySize) } : {}),
        ...(options.extraCaCertificates ? { extraCaCertificates: options.extraCaCertificates } : {}),
      }),
    };
    functions.set(logicalId, running);
    return running;
  };

  const triggers: FunctionTrigger[] = [];
  let streams: DynamoDBStreamsClient | undefined;
  for (const [id, mapping] of resources) {
    if (mapping.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    const props = mapping.Properties ?? {};
    if (props.Enabled === false) continue;
    const fn = functionFor(String((props.FunctionName as { Ref?: string } | undefined)?.Ref));
    const sourceArn = String(scope.resolve(props.EventSourceArn));
    if (sourceArn.includes(':table/') && sourceArn.includes('/stream/')) {
      streams ??= new DynamoDBStreamsClient({
        endpoint: options.endpointEnv.AWS_ENDPOINT_URL_DYNAMODB,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      });
      triggers.push(streamTrigger(id, props, sourceArn, fn, streams, scope, sqs, options.onError));
      continue;
    }
    const queueArn = sourceArn;
    const queue = [...scope.resources.values()].find((resource) => resource.attributes.Arn === queueArn);
    if (!queue) throw new Error(`event source mapping ${id} reads ${queueArn}, which was not provisioned`);
    const scaling = props.ScalingConfig as { MaximumConcurrency?: number } | undefined;
    const maxConcurrency = scaling?.MaximumConcurrency ?? DEFAULT_SQS_CONCURRENCY;
    const batchSize = Number(props.BatchSize ?? 10);
    const memoryMb = Number(byId.get(fn.logicalId)?.Properties?.MemorySize ?? 128);
    const poller = createSqsPoller(
      sqs,
      async (event) => {
        const started = performance.now();
        try {
          return (await fn.runtime.invoke(event)) as SQSBatchResponse | undefined;
        } finally {
          options.onInvoked?.({ functionName: fn.logicalId, memoryMb, ms: performance.now() - started });
        }
      },
      {
        queueUrl: queue.ref,
        queueArn,
        batchSize,
        maxConcurrency,
        maximumBatchingWindowSeconds: Number(props.MaximumBatchingWindowInSeconds ?? 0),
        functionName: fn.logicalId,
        onError: options.onError,
      },
    );
    triggers.push({
      description: `${queue.attributes.QueueName} → ${fn.handlerFile} (batch ${batchSize}, concurrency ${maxConcurrency})`,
      start: () => poller.start(),
      stop: () => poller.stop(),
    });
  }

  for (const [id, rule] of resources) {
    if (rule.Type !== 'AWS::Events::Rule') continue;
    const props = rule.Properties ?? {};
    if (typeof props.ScheduleExpression !== 'string' || props.State === 'DISABLED') continue;
    const schedule = parseSchedule(props.ScheduleExpression);
    const ruleArn = `arn:aws:events:${LOCAL_REGION}:${LOCAL_ACCOUNT}:rule/${String(props.Name ?? id)}`;
    for (const target of (props.Targets ?? []) as RuleTarget[]) {
      const logicalId = target.Arn?.['Fn::GetAtt']?.[0];
      if (!logicalId || byId.get(logicalId)?.Type !== 'AWS::Lambda::Function') continue;
      triggers.push(
        scheduleTrigger({
          expression: props.ScheduleExpression,
          schedule,
          fn: functionFor(logicalId),
          ruleArn,
          input: target.Input,
          onError: options.onError,
        }),
      );
    }
  }

  return {
    functions: [...functions.values()],
    triggers,
    start() {
      for (const trigger of triggers) trigger.start();
    },
    async stop() {
      await Promise.all(triggers.map((trigger) => trigger.stop()));
      await Promise.all([...functions.values()].map((fn) => fn.runtime.stop()));
      streams?.destroy();
    },
  };
}

/** A DynamoDB Streams event source mapping: its batch size, filters, bisection, retries and on-failure queue. */
function streamTrigger(
  id: string,
  props: Record<string, unknown>,
  streamArn: string,
  fn: RunningFunction,
  streams: DynamoDBStreamsClient,
  scope: ProvisionedScope,
  sqs: SQSClient,
  onError: (error: unknown) => void,
): FunctionTrigger {
  const table = [...scope.resources.values()].find((resource) => resource.attributes.StreamArn === streamArn);
  if (!table) throw new Error(`event source mapping ${id} reads ${streamArn}, which was not provisioned`);
  const filters = (
    (props.FilterCriteria as { Filters?: { Pattern: string }[] } | undefined)?.Filters ?? []
  ).map((filter) => JSON.parse(filter.Pattern) as EventPattern);
  const destination = (props.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)
    ?.OnFailure?.Destination;
  const destinationArn = destination ? String(scope.resolve(destination)) : undefined;
  const failureQueue = [...scope.resources.values()].find(
    (resource) => resource.attributes.Arn === destinationArn,
  );
  const batchSize = Number(props.BatchSize ?? 100);
  const poller = createStreamPoller(
    streams,
    async (event) => (await fn.runtime.invoke(event)) as DynamoDBBatchResponse | undefined,
    {
      streamArn,
      startingPosition: props.StartingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON',
      batchSize,
      filters,
      bisectOnError: props.BisectBatchOnFunctionError === true,
      reportBatchItemFailures: ((props.FunctionResponseTypes ?? []) as string[]).includes(
        'ReportBatchItemFailures',
      ),
      ...(props.MaximumRetryAttempts !== undefined
        ? { maxRetryAttempts: Number(props.MaximumRetryAttempts) }
        : {}),
      ...(failureQueue ? { onFailure: { sqs, queueUrl: failureQueue.ref } } : {}),
      functionName: fn.logicalId,
      onError,
    },
  );
  return {
    description: `${table.ref} stream → ${fn.handlerFile} (batch ${batchSize}, ${filters.length} filter${filters.length === 1 ? '' : 's'})`,
    start: () => poller.start(),
    stop: () => poller.stop(),
  };
}

interface ScheduleTriggerOptions {
  readonly expression: string;
  readonly schedule: Schedule;
  readonly fn: RunningFunction;
  readonly ruleArn: string;
  /** The target's constant input (JSON text), if the rule has one. */
  readonly input: string | undefined;
  readonly onError: (error: unknown) => void;
}

/**
 * An EventBridge schedule invoking its target asynchronously: the rule's constant `Input` when it has one,
 * otherwise a `Scheduled Event`. A `rate` rule also fires once when the twin starts (a restarted twin finishes
 * what a crash left); a `cron` rule fires only at its times.
 */
export function scheduleTrigger(options: ScheduleTriggerOptions): FunctionTrigger {
  const { schedule, fn } = options;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const inFlight = new Set<Promise<unknown>>();
  const fire = (at: Date) => {
    const event = options.input
      ? (JSON.parse(options.input) as unknown)
      : {
          version: '0',
          id: crypto.randomUUID(),
          'detail-type': 'Scheduled Event',
          source: 'aws.events',
          account: LOCAL_ACCOUNT,
          time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
          region: LOCAL_REGION,
          resources: [options.ruleArn],
          detail: {},
        };
    const invocation = fn.runtime.invoke(event).catch(options.onError);
    inFlight.add(invocation);
    void invocation.finally(() => inFlight.delete(invocation));
  };
  const arm = (after: Date) => {
    const next = nextRun(schedule, after);
    if (!next || stopped) return;
    // setTimeout holds at most ~24.8 days; a later run re-arms on the way.
    const wait = Math.min(next.getTime() - Date.now(), 2 ** 31 - 1);
    timer = setTimeout(
      () => {
        if (Date.now() < next.getTime()) return arm(after);
        fire(next);
        arm(next);
      },
      Math.max(0, wait),
    );
  };
  return {
    description: `${options.expression} → ${fn.handlerFile}`,
    start() {
      const now = new Date();
      if (schedule.kind === 'rate') fire(now);
      arm(now);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await Promise.all(inFlight);
    },
  };
}
