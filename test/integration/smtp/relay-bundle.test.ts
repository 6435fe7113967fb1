import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { build } from 'esbuild';
import { LAMBDA_BUNDLE } from '../../../lib/constructs/tenant-mail-function';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import { startSecretsManagerEmulator } from '../../../local/secrets/secrets-manager-emulator';
import { type SmtpRelay, startSmtpRelay } from '../../support/smtp-relay';
import { rawMessage, relaySettings, SECRET_REF } from './relay-test-kit';

/** Requires the bundled relay module as the sender's `index.js` does, sends one email, prints the outcome. */
const SEND = `
const [file, settings, message] = process.argv.slice(1);
require(file)
  .createRelaySender()
  .send('tenant-a#developer-sandbox', JSON.parse(settings), JSON.parse(message))
  .then(
    (outcome) => process.stdout.write(JSON.stringify(outcome), () => process.exit(0)),
    (error) => process.stdout.write(JSON.stringify({ error: String(error) }), () => process.exit(0)),
  );
`;

describe('the sender relay module, bundled as deployed', () => {
  let dir: string;
  let relay: SmtpRelay;
  let secrets: Awaited<ReturnType<typeof startSecretsManagerEmulator>>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tenant-mail-relay-bundle-'));
    relay = await startSmtpRelay();
    relay.setPassword('relay-user', 'relay-pass');
    secrets = await startSecretsManagerEmulator({ folder: join(dir, 'secrets') });
    const client = new SecretsManagerClient({
      endpoint: secrets.url,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    await client.send(new CreateSecretCommand({ Name: SECRET_REF, SecretString: 'relay-pass' }));
    client.destroy();
    await writeFile(join(dir, 'relay-ca.pem'), relay.ca);
    await build({
      ...LAMBDA_BUNDLE,
      alias: { ...LAMBDA_BUNDLE.alias },
      mainFields: [...LAMBDA_BUNDLE.mainFields],
      external: [...LAMBDA_BUNDLE.external],
      entryPoints: [join(__dirname, '..', '..', '..', 'lambdas', 'handlers', 'send-email.relay.ts')],
      outfile: join(dir, 'send-email.relay.js'),
      logLevel: 'error',
    });
  });

  afterAll(async () => {
    await relay.close();
    await secrets.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the relay password from Secrets Manager with its own SDK client and sends through the relay', async () => {
    const before = relay.messages.length;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '-e',
        SEND,
        join(dir, 'send-email.relay.js'),
        JSON.stringify(relaySettings(relay)),
        JSON.stringify({
          envelopeFrom: 'billing@tenant-a.example',
          recipients: ['ada@example.com'],
          raw: rawMessage(['ada@example.com']).raw,
        }),
      ],
      {
        // What a Lambda function has: credentials and region in the environment, nothing else of ours.
        env: {
          PATH: process.env.PATH ?? '',
          AWS_REGION: LOCAL_REGION,
          AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
          AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
          NODE_EXTRA_CA_CERTS: join(dir, 'relay-ca.pem'),
        },
      },
    );

    expect(JSON.parse(stdout)).toMatchObject({ kind: 'sent' });
    expect(relay.messages.slice(before).map((message) => message.recipients)).toEqual([['ada@example.com']]);
  });
});
