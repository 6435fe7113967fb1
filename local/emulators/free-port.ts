import { createServer } from 'node:net';

/** Asks the OS for a free TCP port on 127.0.0.1 (for servers that cannot take port 0 themselves). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export interface OnFreePortOptions {
  /** Whether a failed start means the port was taken (then another port is tried). */
  readonly isPortTaken: (error: unknown) => boolean;
  /** Where ports come from. @default {@link freePort} */
  readonly pick?: () => Promise<number>;
  /** @default 5 */
  readonly attempts?: number;
}

/**
 * Starts a server on a probed free port, and on another one when the port was taken between the probe and
 * the server's own bind (another process can win that race; under parallel test runs it does).
 */
export async function onFreePort<T>(
  start: (port: number) => Promise<T>,
  options: OnFreePortOptions,
): Promise<T> {
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await (options.pick ?? freePort)());
    } catch (error) {
      if (!options.isPortTaken(error) || attempt >= attempts) throw error;
    }
  }
}
