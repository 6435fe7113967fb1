import { Agent, createServer, type IncomingHttpHeaders, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as it went to the emulator, and its answer. */
export interface Exchange {
  /** `X-Amz-Target` (JSON protocols: DynamoDB, SQS) or the query `Action` (SNS), e.g. `DynamoDB_20120810.PutItem`. */
  readonly target: string;
  readonly body: Buffer;
  readonly status: number;
  readonly response: Buffer;
}

export interface MeteringProxy {
  /** Point a client's (or a function's `AWS_ENDPOINT_URL_*`) endpoint here. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * An HTTP proxy on 127.0.0.1 in front of an emulator that sees every request a client sends (from any thread or
 * process), for benchmarks that must charge what AWS would: `before` runs ahead of forwarding (e.g. reading the
 * item a write replaces), `after` once the answer is back and before the client gets it, so a later request of
 * the same client never overtakes the bookkeeping of an earlier one.
 */
export async function startMeteringProxy<State>(
  upstream: string,
  hooks: {
    readonly before?: (target: string, body: Buffer) => Promise<State>;
    readonly after: (exchange: Exchange, state: State | undefined) => Promise<void> | void;
  },
): Promise<MeteringProxy> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const name = targetOf(incoming.headers, body);
      void (async () => {
        const state = hooks.before ? await hooks.before(name, body) : undefined;
        const answer = await forward(
          target,
          agent,
          incoming.method ?? 'POST',
          incoming.url ?? '/',
          incoming.headers,
          body,
        );
        await hooks.after({ target: name, body, status: answer.status, response: answer.body }, state);
        outgoing.writeHead(answer.status, answer.headers);
        outgoing.end(answer.body);
      })().catch((error: unknown) => {
        outgoing.writeHead(502, { 'content-type': 'text/plain' });
        outgoing.end(`metering proxy: ${String(error)}`);
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      agent.destroy();
    },
  };
}

function targetOf(headers: IncomingHttpHeaders, body: Buffer): string {
  const header = headers['x-amz-target'];
  if (typeof header === 'string') return header;
  return new URLSearchParams(body.toString('utf8')).get('Action') ?? 'unknown';
}

function forward(
  upstream: URL,
  agent: Agent,
  method: string,
  path: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method,
        path,
        agent,
        headers: { ...headers, host: upstream.host, 'content-length': String(body.length) },
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const { 'transfer-encoding': _chunked, ...rest } = answer.headers;
          resolve({ status: answer.statusCode ?? 502, headers: rest, body: Buffer.concat(chunks) });
        });
        answer.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
