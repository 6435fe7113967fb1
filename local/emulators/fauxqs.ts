import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as Fauxqs from 'fauxqs' with { 'resolution-mode': 'import' };
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
 * Starts fauxqs (SQS + SNS) in this process. fauxqs 2.4 hard-codes `0.0.0.0` as its listen address; our
 * rule is loopback only, so for the duration of the start we rewrite that one host to 127.0.0.1.
 */
export async function startLocalFauxqs(options: FauxqsOptions = {}): Promise<FauxqsServer> {
  const { startFauxqs } = loadFauxqs();
  const server = await listeningOnLoopback(() =>
    startFauxqs({
      port: options.port ?? 0,
      logger: false,
      defaultRegion: LOCAL_REGION,
      host: '127.0.0.1',
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    }),
  );
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    port: server.port,
    stop: async () => {
      await server.stop();
    },
  };
}

async function listeningOnLoopback<T>(start: () => Promise<T>): Promise<T> {
  const net = await import('node:net');
  const original = net.Server.prototype.listen;
  net.Server.prototype.listen = function patched(this: import('node:net').Server, ...args: unknown[]) {
    const [first] = args;
    if (first && typeof first === 'object' && (first as { host?: string }).host === '0.0.0.0') {
      args[0] = { ...(first as object), host: '127.0.0.1' };
    }
    return (original as (...a: unknown[]) => import('node:net').Server).apply(this, args);
  } as typeof original;
  try {
    return await start();
  } finally {
    net.Server.prototype.listen = original;
  }
}

/**
 * fauxqs is ESM-only and exports only an `import` condition, which Jest's CommonJS global setup cannot
 * resolve. Node 24 can `require()` an ES module by path, so resolve its entry point ourselves.
 */
function loadFauxqs(): typeof Fauxqs {
  for (const dir of require.resolve.paths('fauxqs') ?? []) {
    const manifest = join(dir, 'fauxqs', 'package.json');
    if (!existsSync(manifest)) continue;
    const { main } = JSON.parse(readFileSync(manifest, 'utf8')) as { main: string };
    return require(join(dir, 'fauxqs', main)) as typeof Fauxqs;
  }
  throw new Error('fauxqs is not installed: run `npm ci`');
}
