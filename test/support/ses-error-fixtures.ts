import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** One recorded SES v2 error answer: an HTTP response, or a network failure to reproduce. */
export interface SesErrorFixture {
  /** File name without `.json`. */
  readonly name: string;
  /** Public page the shape comes from. */
  readonly source: string;
  readonly response?: {
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    readonly body: string;
  };
  /** `reset`: the socket is destroyed after the request; `refused`: nothing listens; `timeout`: no answer. */
  readonly network?: 'reset' | 'refused' | 'timeout';
}

const FOLDER = join(__dirname, '..', 'fixtures', 'ses-errors');

/** Every fixture of `test/fixtures/ses-errors/`, by file name. */
export function sesErrorFixtures(): Map<string, SesErrorFixture> {
  const fixtures = new Map<string, SesErrorFixture>();
  for (const file of readdirSync(FOLDER).filter((entry) => entry.endsWith('.json'))) {
    const name = file.slice(0, -'.json'.length);
    const parsed = JSON.parse(readFileSync(join(FOLDER, file), 'utf8')) as Omit<SesErrorFixture, 'name'>;
    fixtures.set(name, { name, ...parsed });
  }
  return fixtures;
}

/**
 * An HTTP server on 127.0.0.1 that answers every request with one fixture: its recorded status, headers and
 * body, or the network failure it describes. `url` of a `refused` fixture points at a port that was free a
 * moment ago and is closed again.
 */
export async function startReplayServer(fixture: SesErrorFixture): Promise<{
  readonly url: string;
  stop(): Promise<void>;
}> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (fixture.network === 'reset') {
        req.socket.destroy();
        return;
      }
      if (fixture.network === 'timeout') return; // never answers; the client's requestTimeout fires
      const { response } = fixture;
      if (!response) throw new Error(`${fixture.name} has neither response nor network`);
      res.writeHead(response.status, { ...response.headers });
      res.end(response.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  if (fixture.network === 'refused') await close();
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (server.listening) await close();
    },
  };
}
