import { createServer, type Server } from 'node:net';
import {
  type DynamoDbLocal,
  PortTakenError,
  startDynamoDbLocal,
} from '../../../local/emulators/dynamodb-local';
import { freePort, onFreePort } from '../../../local/emulators/free-port';

describe('DynamoDB Local on a free port', () => {
  let squatter: Server;
  let taken = 0;
  let started: DynamoDbLocal | undefined;

  beforeAll(async () => {
    // Another process holding the port the probe said was free (it hangs up on anyone who connects).
    squatter = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const address = squatter.address();
    taken = typeof address === 'object' && address ? address.port : 0;
  });

  afterAll(async () => {
    await started?.stop();
    await new Promise((resolve) => squatter.close(resolve));
  });

  it('fails with PortTakenError when its port is taken', async () => {
    await expect(startDynamoDbLocal({ port: taken })).rejects.toThrow(PortTakenError);
  }, 180_000);

  it('starts on another port when the probed one was taken before the JVM bound it', async () => {
    const picked: number[] = [];
    const ports = [taken];
    started = await onFreePort((port) => startDynamoDbLocal({ port }), {
      isPortTaken: (error) => error instanceof PortTakenError,
      pick: async () => {
        const port = ports.shift() ?? (await freePort());
        picked.push(port);
        return port;
      },
    });
    expect(picked).toHaveLength(2);
    expect(picked[0]).toBe(taken);
    expect(started.port).toBe(picked[1]);
    expect(started.endpoint).toBe(`http://127.0.0.1:${picked[1]}`);
  }, 180_000);
});
