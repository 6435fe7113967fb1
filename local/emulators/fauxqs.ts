import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { LOCAL_REGION } from './local-aws';

export interface FauxqsServer {
  /** Endpoint for SQS and SNS clients. */
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface FauxqsOptions {
  /** @default 0 (a free port) */
  readonly port?: number;
  /** Folder for SQLite persistence; in memory when absent. */
  readonly dataDir?: string;
}

/**
 * Starts fauxqs (SQS + SNS) on 127.0.0.1 in a worker thread of this process (see fauxqs-worker.cjs); `stop()` ends
 * the server and the thread.
 */
export async function startLocalFauxqs(options: FauxqsOptions = {}): Promise<FauxqsServer> {
  const worker = new Worker(join(__dirname, 'fauxqs-worker.cjs'), {
    workerData: {
      entry: fauxqsEntry(),
      port: options.port ?? 0,
      region: LOCAL_REGION,
      dataDir: options.dataDir,
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`fauxqs exited with code ${code} while starting`)));
    worker.once('message', (message: { port?: number; error?: string }) =>
      message.port ? resolve(message.port) : reject(new Error(`fauxqs did not start: ${message.error}`)),
    );
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  worker.removeAllListeners();
  worker.on('error', () => undefined);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: async () => {
      const stopped = new Promise((resolve) => worker.once('message', resolve));
      worker.postMessage('stop');
      await Promise.race([stopped, new Promise((resolve) => worker.once('exit', resolve))]);
      await worker.terminate();
    },
  };
}

/**
 * fauxqs is ESM-only and exports only an `import` condition, which `require.resolve` cannot resolve: find its
 * entry point ourselves (Node 24 then `require()`s the ES module by path, in the worker).
 */
function fauxqsEntry(): string {
  for (const dir of require.resolve.paths('fauxqs') ?? []) {
    const manifest = join(dir, 'fauxqs', 'package.json');
    if (!existsSync(manifest)) continue;
    const { main } = JSON.parse(readFileSync(manifest, 'utf8')) as { main: string };
    return join(dir, 'fauxqs', main);
  }
  throw new Error(
    'fauxqs is not installed: run `npm ci` (a platform using tenant-mail/local: `npm i -D fauxqs`)',
  );
}
