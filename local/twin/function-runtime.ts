import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../emulators/local-aws';

/** A function as its template declares it, ready to run from its bundled asset. */
export interface FunctionSpec {
  /** The function's name (the twin uses the template's logical id). */
  readonly name: string;
  /** Folder of the bundled asset (`index.js`), exactly what `cdk deploy` uploads. */
  readonly assetDirectory: string;
  /** The template's `Handler`, e.g. `index.handler`. */
  readonly handler: string;
  /** The function's environment: its template variables (resolved) plus the twin's endpoint variables. */
  readonly environment: Readonly<Record<string, string>>;
  /** The template's `Timeout`. @default 3 (Lambda's default) */
  readonly timeoutSeconds?: number;
  /** The template's `MemorySize`. @default 128 (Lambda's default) */
  readonly memoryMb?: number;
  /**
   * Extra CA certificates (PEM) the environment trusts besides Node's bundled roots, as `NODE_EXTRA_CA_CERTS`
   * would add them (the local relay's self-signed certificate). Set in the worker before the bundle loads, so
   * the caller's process and the function's code stay untouched. @default none
   */
  readonly extraCaCertificates?: readonly string[];
}

/** An invocation that ran past the function's timeout; its environment was discarded, as Lambda does. */
export class FunctionTimeoutError extends Error {
  constructor(functionName: string, timeoutSeconds: number) {
    super(`${functionName}: Task timed out after ${timeoutSeconds.toFixed(2)} seconds`);
    this.name = 'FunctionTimeoutError';
  }
}

/** The execution environment ended during an invocation (out of memory, uncaught exception, stopped). */
export class FunctionRuntimeExitError extends Error {
  constructor(functionName: string, reason: string, options?: { cause?: unknown }) {
    super(`${functionName}: Runtime exited: ${reason}`, options);
    this.name = 'FunctionRuntimeExitError';
  }
}

export interface LambdaFunction {
  readonly name: string;
  /** Runs one invocation in an idle execution environment, or a new one (a cold start); resolves with its result. */
  invoke(event: unknown): Promise<unknown>;
  /** Environments started so far (cold starts). */
  readonly coldStarts: number;
  /** Ends every execution environment; invocations still running fail. */
  stop(): Promise<void>;
}

/** Lambda's limit on the init phase of an environment. */
const INIT_TIMEOUT_MS = 10_000;
const WORKER_FILE = join(__dirname, 'lambda-worker.cjs');

interface Environment {
  readonly worker: Worker;
  /** Settles the running invocation (or the init) when the environment dies. */
  onExit?: (error: Error) => void;
}

/**
 * Runs a function as Lambda runs it: each concurrent invocation in its own execution environment (a worker
 * thread whose `process.env` is exactly the function's environment and whose heap is limited to its memory
 * size), reused warm one invocation at a time, discarded when an invocation times out or the runtime dies.
 * The emulators stay in the main thread, so a function that spins the CPU never stalls them.
 */
export function createLambdaFunction(spec: FunctionSpec): LambdaFunction {
  const timeoutSeconds = spec.timeoutSeconds ?? 3;
  const memoryMb = spec.memoryMb ?? 128;
  const idle: Environment[] = [];
  const all = new Set<Environment>();
  let coldStarts = 0;
  let nextId = 0;
  let stopped = false;

  const discard = (environment: Environment) => {
    all.delete(environment);
    const index = idle.indexOf(environment);
    if (index >= 0) idle.splice(index, 1);
    void environment.worker.terminate();
  };

  const start = (): Promise<Environment> => {
    coldStarts += 1;
    const worker = new Worker(WORKER_FILE, {
      env: lambdaEnvironment(spec, memoryMb),
      workerData: {
        entry: join(spec.assetDirectory, `${spec.handler.split('.')[0]}.js`),
        exportName: spec.handler.split('.').slice(1).join('.'),
        handler: spec.handler,
        functionName: spec.name,
        functionArn: functionArn(spec.name),
        memoryMb,
        logStreamName: `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${crypto.randomUUID().replaceAll('-', '')}`,
        sourceMaps: /--enable-source-maps/.test(spec.environment.NODE_OPTIONS ?? ''),
        extraCaCertificates: spec.extraCaCertificates ?? [],
      },
      resourceLimits: { maxOldGenerationSizeMb: memoryMb },
    });
    const environment: Environment = { worker };
    all.add(environment);
    const died = (error: Error) => {
      all.delete(environment);
      const index = idle.indexOf(environment);
      if (index >= 0) idle.splice(index, 1);
      environment.onExit?.(error);
    };
    worker.on('error', (error) =>
      died(new FunctionRuntimeExitError(spec.name, error.message, { cause: error })),
    );
    worker.on('exit', (code) => died(new FunctionRuntimeExitError(spec.name, `exit code ${code}`)));
    return new Promise<Environment>((resolve, reject) => {
      const timer = setTimeout(() => {
        discard(environment);
        reject(new FunctionRuntimeExitError(spec.name, `init did not finish in ${INIT_TIMEOUT_MS / 1000} s`));
      }, INIT_TIMEOUT_MS);
      environment.onExit = (error) => {
        clearTimeout(timer);
        reject(error);
      };
      // The worker says ready once its init phase (loading the bundle) is over; Lambda does not bill that to
      // the invocation's timeout, so neither does the twin.
      const onReady = (message: { ready?: boolean }) => {
        if (!message.ready) return;
        worker.off('message', onReady);
        clearTimeout(timer);
        environment.onExit = undefined;
        resolve(environment);
      };
      worker.on('message', onReady);
    });
  };

  const invoke = async (event: unknown): Promise<unknown> => {
    if (stopped) throw new FunctionRuntimeExitError(spec.name, 'the twin is stopping');
    const environment = idle.pop() ?? (await start());
    const id = nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const settle = (outcome: () => void) => {
        clearTimeout(timer);
        environment.worker.off('message', onMessage);
        environment.onExit = undefined;
        outcome();
      };
      const timer = setTimeout(() => {
        settle(() => reject(new FunctionTimeoutError(spec.name, timeoutSeconds)));
        discard(environment);
      }, timeoutSeconds * 1000);
      const onMessage = (message: { id: number; result?: unknown; error?: SerializedError }) => {
        if (message.id !== id) return;
        settle(() => {
          if (!stopped && all.has(environment)) idle.push(environment);
          if (message.error) reject(deserializeError(message.error));
          else resolve(message.result);
        });
      };
      environment.onExit = (error) => settle(() => reject(error));
      environment.worker.on('message', onMessage);
      environment.worker.postMessage({
        id,
        event,
        requestId: crypto.randomUUID(),
        deadline: Date.now() + timeoutSeconds * 1000,
      });
    });
  };

  return {
    name: spec.name,
    invoke,
    get coldStarts() {
      return coldStarts;
    },
    async stop() {
      stopped = true;
      const environments = [...all];
      idle.length = 0;
      await Promise.all(environments.map((environment) => environment.worker.terminate()));
    },
  };
}

/**
 * What a Lambda function's process sees in `process.env`: its own variables, the runtime's reserved ones, and
 * nothing else (not the twin's, not another function's).
 */
export function lambdaEnvironment(spec: FunctionSpec, memoryMb: number): Record<string, string> {
  return {
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: spec.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
    LAMBDA_TASK_ROOT: spec.assetDirectory,
    _HANDLER: spec.handler,
    ...spec.environment,
  };
}

export function functionArn(name: string): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${name}`;
}

interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

function deserializeError(serialized: SerializedError): Error {
  const error = new Error(serialized.message);
  error.name = serialized.name;
  if (serialized.stack) error.stack = serialized.stack;
  return error;
}
