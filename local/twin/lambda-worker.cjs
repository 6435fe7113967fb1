// One Lambda execution environment of the local twin, run as a worker thread by function-runtime.ts.
// Plain CommonJS so it loads the same way under tsx, Jest and plain Node: it only requires the function's
// bundled asset (what `cdk deploy` uploads) and answers invocations one at a time, as a Lambda sandbox does.
const { parentPort, workerData } = require('node:worker_threads');

if (workerData.sourceMaps) process.setSourceMapsEnabled(true);
// What NODE_EXTRA_CA_CERTS does for a process, for this thread only (Node ≥ 22.19 / 24.5): the bundled roots
// plus the twin's extra CAs, so the deployed bundle verifies the local relay's certificate unchanged.
if (workerData.extraCaCertificates.length > 0) {
  const tls = require('node:tls');
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), ...workerData.extraCaCertificates]);
}

let handler;
let initError;
try {
  // Init phase: the module reads its configuration (process.env is this function's environment only).
  handler = require(workerData.entry)[workerData.exportName];
  if (typeof handler !== 'function') throw new Error(`${workerData.handler} is not a function`);
} catch (error) {
  initError = error;
}
parentPort.postMessage({ ready: true });

const describe = (error) =>
  error instanceof Error
    ? { name: error.name, message: error.message, stack: error.stack }
    : { name: 'Error', message: String(error) };

parentPort.on('message', async (invocation) => {
  if (initError) {
    parentPort.postMessage({ id: invocation.id, error: describe(initError) });
    return;
  }
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: workerData.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: workerData.functionArn,
    memoryLimitInMB: String(workerData.memoryMb),
    awsRequestId: invocation.requestId,
    logGroupName: `/aws/lambda/${workerData.functionName}`,
    logStreamName: workerData.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, invocation.deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  try {
    const result = await handler(invocation.event, context);
    parentPort.postMessage({ id: invocation.id, result });
  } catch (error) {
    parentPort.postMessage({ id: invocation.id, error: describe(error) });
  }
});
