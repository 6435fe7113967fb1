// fauxqs (SQS + SNS) in a worker thread of the process that starts it, run by fauxqs.ts. Plain CommonJS loaded by
// Node itself, so fauxqs (ESM-only) loads the same way under tsx, Jest (whose own require refuses ES modules) and
// plain Node, and its HTTP serving never waits on the main thread.
const net = require('node:net');
const { parentPort, workerData } = require('node:worker_threads');

// fauxqs 2.4 hard-codes 0.0.0.0 as its listen address; our rule is loopback only. This thread's net module is its
// own, so rewriting that one host here touches nothing else.
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function loopbackOnly(...args) {
  const [first] = args;
  if (first && typeof first === 'object' && first.host === '0.0.0.0')
    args[0] = { ...first, host: '127.0.0.1' };
  return listen.apply(this, args);
};

(async () => {
  const { startFauxqs } = require(workerData.entry);
  const server = await startFauxqs({
    port: workerData.port,
    logger: false,
    defaultRegion: workerData.region,
    host: '127.0.0.1',
    ...(workerData.dataDir ? { dataDir: workerData.dataDir } : {}),
  });
  parentPort.once('message', async () => {
    await server.stop();
    parentPort.postMessage({ stopped: true });
  });
  parentPort.postMessage({ port: server.port });
})().catch((error) =>
  parentPort.postMessage({ error: error instanceof Error ? error.stack : String(error) }),
);
