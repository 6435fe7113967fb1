import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { LAMBDA_BUNDLE } from '../../../lib/constructs/tenant-mail-function';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import { testAws } from '../../support/env';

/** A DynamoDB call made the way every function makes it: a client built with `{}`, credentials from the chain. */
const ENTRY = `
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
new DynamoDBClient({}).send(new ListTablesCommand({ Limit: 1 })).then(
  (output) => process.stdout.write(JSON.stringify({ ok: Array.isArray(output.TableNames) })),
  (error) => process.stdout.write(JSON.stringify({ ok: false, name: error.name, message: error.message })),
);
`;

describe('credentials inside the Lambda bundles', () => {
  let dir: string;
  let bundle: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tenant-mail-credentials-'));
    writeFileSync(join(dir, 'entry.ts'), ENTRY);
    bundle = join(dir, 'index.js');
    await build({
      ...LAMBDA_BUNDLE,
      mainFields: [...LAMBDA_BUNDLE.mainFields],
      external: [...LAMBDA_BUNDLE.external],
      entryPoints: [join(dir, 'entry.ts')],
      // The entry lives outside the repository: resolve the SDK from here.
      nodePaths: [join(__dirname, '..', '..', '..', 'node_modules')],
      outfile: bundle,
      logLevel: 'error',
    });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the bundle in a fresh `node` with only the variables given (as Lambda's environment would be). */
  const run = (env: Record<string, string>) =>
    JSON.parse(
      execFileSync(process.execPath, [bundle], {
        env: {
          PATH: process.env.PATH ?? '',
          AWS_REGION: LOCAL_REGION,
          AWS_ENDPOINT_URL_DYNAMODB: testAws.dynamodb.endpoint,
          ...env,
        },
        encoding: 'utf8',
      }),
    ) as { ok: boolean; name?: string; message?: string };

  it("signs with the role credentials Lambda puts in the function's environment", () => {
    expect(
      run({
        AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
        AWS_SESSION_TOKEN: 'session-token',
      }),
    ).toEqual({ ok: true });
  });

  it('fails at once without them, instead of probing config files and instance metadata', () => {
    expect(run({ AWS_EC2_METADATA_DISABLED: 'true' })).toEqual({
      ok: false,
      name: 'CredentialsProviderError',
      message: 'Unable to find environment variable credentials.',
    });
  });
});
