import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SCOPES, type Scope } from '../lambdas/domain/scope';
import { packageRoot } from '../lib/config/package-root';
import { runDemo } from './demo/run-demo';
import { startTwin } from './twin/start-twin';

const USAGE = `Usage: npm start -- [--scope dev|prod|all] [--fresh] [--demo] [--verbose] [--data-dir DIR]

Runs tenant-mail locally on embedded emulators (no AWS account): DynamoDB Local, fauxqs (SQS/SNS), the
tenant-mail SES emulator and a local DNS server, all on 127.0.0.1, provisioned from the synthesized stack.
  --scope     which verification scope's stack to run; all runs prod and dev side by side (default dev)
  --fresh     forget data kept from earlier runs
  --demo      set up two demo tenants and publish a bill run and simulator events, with a live summary
              (in the dev scope when --scope all)
  --verbose   show the functions' INFO logs (JSON, as in CloudWatch)
  --data-dir  where data and endpoints.json are kept (default .local in the project)`;

/** `npm start`: the twin of `startTwin()` (tenant-mail/local) kept in .local, with its endpoints printed. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scope: { type: 'string', default: 'dev' },
      fresh: { type: 'boolean', default: false },
      demo: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const scope = values.scope as Scope | 'all';
  if (scope !== 'all' && !(SCOPES as readonly string[]).includes(scope))
    throw new Error(`--scope must be one of ${SCOPES.join(', ')}, all\n\n${USAGE}`);

  const twin = await startTwin({
    scope,
    dataDir: values['data-dir'] ?? join(packageRoot(), '.local'),
    fresh: values.fresh,
    verbose: values.verbose,
    onProgress: (text) => process.stdout.write(`• ${text}\n`),
  });
  for (const running of Object.values(twin.scopes)) {
    const { endpoints } = running;
    console.log(`
tenant-mail (${endpoints.scope} scope) is running locally. Endpoints: ${twin.endpointsFile.path}
  send queue   ${endpoints.queues[`tenant-mail-${endpoints.scope}-send`]}
  functions    ${running.functions.join(', ')}
  viewer       ${endpoints.viewer}   (emails, status timelines, DKIM results, per-tenant counters)
  SES store    ${endpoints.sesMessages}   (every email SES accepted, raw MIME with headers)`);
  }
  console.log(`  SMTP relay   127.0.0.1:${twin.relay.port} (user ${twin.relay.user}), standing in for a tenant's own server
  relay CA     ${twin.relay.caFile}

Try it (in another terminal):
  npm run send:example      # seeds a demo tenant and queues one email
  npx tenant-mail tenant list --local --scope ${twin.scope}        # the operator CLI against this local stack
Press Ctrl-C to stop.`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping…');
    await twin.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  if (values.demo) {
    await runDemo({
      scope: twin.scope,
      dataDir: twin.dataDir,
      dns: twin.emulators.dns,
      ses: twin.aws.ses,
      documents: DynamoDBDocumentClient.from(twin.aws.dynamodb),
      sqs: twin.aws.sqs,
      relay: twin.emulators.relay,
      relayUser: twin.relay.user,
      relayPassword: twin.relay.password,
      secrets: twin.emulators.secretsManager,
      queues: twin.endpoints.queues,
      tables: {
        messages: `tenant-mail-${twin.scope}-messages`,
        suppressions: `tenant-mail-${twin.scope}-suppressions`,
      },
    });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
