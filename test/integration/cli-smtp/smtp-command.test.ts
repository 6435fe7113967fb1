import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoTenantStore } from '../../../lambdas/adapters/tenant-store';
import { tenantSmtpSecretName } from '../../../lambdas/domain/smtp/smtp-settings';
import { LOCAL_REGION } from '../../../local/emulators/local-aws';
import { type CliHarness, createCliHarness } from '../../support/cli-harness';
import { testAws, testStack } from '../../support/env';
import { type SmtpRelay, startSmtpRelay } from '../../support/smtp-relay';

const run = Date.now().toString(36);
const tenantId = `cli-smtp-${run}`;
const secretName = tenantSmtpSecretName('dev', tenantId);

/**
 * A Secrets Manager endpoint on 127.0.0.1 speaking the JSON protocol for CreateSecret, PutSecretValue and
 * GetSecretValue with Secrets Manager's own answer to a second CreateSecret (ResourceExistsException), recording
 * calls and tags; `smtp put` and `smtp test` reach it through the real SDK client, as they reach AWS.
 */
async function startSecretsEndpoint() {
  const secrets = new Map<string, { value: string; versions: number; tags: unknown }>();
  const calls: string[] = [];
  const read = (request: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = '';
      request.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      request.on('end', () => resolve(text));
    });
  const server: Server = createServer(async (request, response) => {
    const action = String(request.headers['x-amz-target'] ?? '').replace('secretsmanager.', '');
    const input = JSON.parse(await read(request)) as Record<string, unknown>;
    calls.push(action);
    const reply = (status: number, payload: object) => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify(payload));
    };
    const name = String(input.Name ?? input.SecretId);
    const arn = `arn:aws:secretsmanager:${LOCAL_REGION}:000000000000:secret:${name}`;
    const existing = secrets.get(name);
    if (action === 'CreateSecret') {
      if (existing) return reply(400, { __type: 'ResourceExistsException', message: 'exists' });
      secrets.set(name, { value: String(input.SecretString), versions: 1, tags: input.Tags });
      return reply(200, { ARN: arn, Name: name, VersionId: 'v1' });
    }
    if (!existing) return reply(400, { __type: 'ResourceNotFoundException', message: 'not found' });
    if (action === 'PutSecretValue') {
      secrets.set(name, { ...existing, value: String(input.SecretString), versions: existing.versions + 1 });
      return reply(200, { ARN: arn, Name: name, VersionId: `v${existing.versions + 1}` });
    }
    if (action === 'GetSecretValue')
      return reply(200, { ARN: arn, Name: name, SecretString: existing.value });
    reply(400, { __type: 'InvalidRequestException', message: `unsupported ${action}` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    secrets,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('tenant-mail smtp put / smtp test', () => {
  let relay: SmtpRelay;
  let secrets: Awaited<ReturnType<typeof startSecretsEndpoint>>;
  /** The twin's endpoints with its relay CA; `untrusted` the same without it. */
  let cli: CliHarness;
  let untrusted: CliHarness;
  let projectDir: string;
  let caFile: string;
  let stdin = '';
  let output = { stdout: [] as string[], stderr: [] as string[] };
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient(testAws.dynamodb), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const tenants = new DynamoTenantStore(documents, {
    tableName: testStack.table('tenants'),
    cacheTtlSeconds: 0,
  });

  /** `tenant-mail smtp <argv> --local` through cli/main.ts, standard input from `stdin`. */
  const invoke = async (argv: string[], harness = cli) => {
    const result = await harness.run(['smtp', ...argv], { stdin });
    output = { stdout: result.stdout.split('\n'), stderr: result.stderr.split('\n') };
    return result.code;
  };
  const settingsFile = async (name: string, settings: Record<string, unknown>) => {
    const file = join(projectDir, `${name}.json`);
    await writeFile(file, JSON.stringify(settings));
    return file;
  };
  const relaySettings = (overrides: Record<string, unknown> = {}) => ({
    host: '127.0.0.1',
    port: relay.port,
    security: 'starttls',
    auth: { type: 'password', username: 'relay-user' },
    from: 'billing@cli-tenant.example',
    provider: 'microsoft-365',
    ...overrides,
  });
  const storedSecrets = () => Object.fromEntries([...secrets.secrets].map(([name, s]) => [name, s.value]));
  /** With --local the CLI trusts the twin's relay CA (`relayCaCertificate`): no --ca-file needed. */
  const testRelay = () => invoke(['test', '--tenant', tenantId, '--env', 'developer-sandbox']);

  beforeAll(async () => {
    relay = await startSmtpRelay();
    secrets = await startSecretsEndpoint();
    projectDir = await mkdtemp(join(tmpdir(), 'tenant-mail-cli-smtp-'));
    caFile = join(projectDir, 'relay-ca.pem');
    await writeFile(caFile, relay.ca);
    cli = await createCliHarness({ secretsManager: secrets.endpoint, relayCaCertificate: caFile });
    untrusted = await createCliHarness({ secretsManager: secrets.endpoint });
    await tenants.put({
      tenantId,
      displayName: 'CLI Tenant',
      profileEmail: 'billing@cli-tenant.example',
      environments: { 'developer-sandbox': { method: 'default' }, 'central-sandbox': { method: 'default' } },
    });
  });

  afterAll(async () => {
    await relay.close();
    await secrets.close();
    await cli.stop();
    await untrusted.stop();
    await rm(projectDir, { recursive: true, force: true });
    documents.destroy();
  });

  beforeEach(() => {
    stdin = '';
  });

  it('saves the settings on the tenant environment with method external-smtp and the password only in the secret store', async () => {
    stdin = 'relay-pass\n';
    const file = await settingsFile('good', relaySettings());

    const code = await invoke([
      'put',
      '--tenant',
      tenantId,
      '--env',
      'developer-sandbox',
      '--file',
      file,
      '--password-stdin',
    ]);

    expect(code).toBe(0);
    const tenant = await tenants.get(tenantId);
    expect(tenant?.environments['developer-sandbox']).toMatchObject({
      method: 'external-smtp',
      enabled: true,
      smtp: {
        host: '127.0.0.1',
        port: relay.port,
        auth: { type: 'password', username: 'relay-user', secretRef: secretName },
        provider: 'microsoft-365',
      },
    });
    expect(JSON.stringify(tenant)).not.toContain('relay-pass');
    expect(tenant?.environments['central-sandbox']).toMatchObject({ method: 'default' });
    expect(storedSecrets()).toEqual({ [secretName]: 'relay-pass' });
    expect(output.stdout.join('\n')).toContain(`credential stored as ${secretName}`);
    expect(output.stdout.join('\n')).toContain('"messagesPerMinute":30');
  });

  it('passes the connection test step by step against the relay and exits 0', async () => {
    const code = await testRelay();

    expect(code).toBe(0);
    const text = output.stdout.join('\n');
    expect(text).toMatch(/ok\s+TCP connect/);
    expect(text).toMatch(/ok\s+server greeting/);
    expect(text).toMatch(/ok\s+EHLO/);
    expect(text).toMatch(/ok\s+STARTTLS upgrade \(TLSv1\.[23]\)/);
    expect(text).toMatch(/ok\s+authentication/);
    expect(text).toContain('connection test passed');
    expect(relay.messages).toHaveLength(0);
  });

  it('names the authentication step and the server reply when the relay refuses the password, exit 1', async () => {
    relay.setPassword('relay-user', 'rotated-on-the-relay');
    try {
      const code = await testRelay();

      expect(code).toBe(1);
      const text = output.stdout.join('\n');
      expect(text).toMatch(/ok\s+STARTTLS upgrade/);
      expect(text).toMatch(/FAILED\s+authentication/);
      expect(text).toContain('server replied: 535 5.7.8 Authentication credentials invalid');
      expect(text).toContain('connection test failed at: auth');
    } finally {
      relay.setPassword('relay-user', 'relay-pass');
    }
  });

  it('names the STARTTLS step when the relay certificate is not trusted (no relay CA), exit 1', async () => {
    const code = await invoke(['test', '--tenant', tenantId, '--env', 'developer-sandbox'], untrusted);

    expect(code).toBe(1);
    expect(output.stdout.join('\n')).toMatch(/FAILED\s+STARTTLS upgrade: .*certificate/i);
  });

  it('names the connect step when nothing listens, exit 1', async () => {
    await relay.stop();
    try {
      const code = await testRelay();

      expect(code).toBe(1);
      const text = output.stdout.join('\n');
      expect(text).toMatch(/FAILED\s+TCP connect/);
      expect(text).toContain('error code: ECONNREFUSED');
    } finally {
      await relay.start();
    }
  });

  it('refuses invalid settings with every field error, exit 2, and changes nothing', async () => {
    const before = await tenants.get(tenantId);
    const file = await settingsFile(
      'bad',
      relaySettings({
        host: 'not a host',
        port: 'smtp',
        security: 'none',
        auth: {
          type: 'password',
          username: 'relay-user',
          secretRef: 'tenant-mail/dev/tenants/someone-else/smtp',
        },
        limits: { messagesPerMinute: 0 },
      }),
    );
    stdin = 'another-password';

    const code = await invoke([
      'put',
      '--tenant',
      tenantId,
      '--env',
      'central-sandbox',
      '--file',
      file,
      '--password-stdin',
    ]);

    expect(code).toBe(2);
    const text = output.stderr.join('\n');
    expect(text).toContain('host: must be a host name or IP address');
    expect(text).toContain('port: must be a number');
    expect(text).toContain('security: plaintext SMTP is refused');
    expect(text).toContain(`auth.secretRef: must be the secret '${secretName}'`);
    expect(text).toContain('limits.messagesPerMinute: must be greater than 0');
    expect(await tenants.get(tenantId)).toEqual(before);
    expect(storedSecrets()).toEqual({ [secretName]: 'relay-pass' });
  });

  it('takes a password given in the settings file into the secret store and saves the settings without it', async () => {
    const file = await settingsFile(
      'inline',
      relaySettings({ auth: { type: 'password', username: 'relay-user', password: 'relay-pass' } }),
    );

    const code = await invoke(['put', '--tenant', tenantId, '--env', 'central-sandbox', '--file', file]);

    expect(code).toBe(0);
    const saved = (await tenants.get(tenantId))?.environments['central-sandbox'];
    expect(saved?.method).toBe('external-smtp');
    expect(saved?.smtp).toMatchObject({
      auth: { type: 'password', username: 'relay-user', secretRef: secretName },
    });
    expect(JSON.stringify(saved)).not.toContain('relay-pass');
  });

  it('refuses settings with no credential given and none stored, exit 2', async () => {
    const other = `cli-smtp-nocred-${run}`;
    await tenants.put({
      tenantId: other,
      displayName: 'No Cred',
      profileEmail: 'a@b.example',
      environments: {},
    });
    const file = await settingsFile('nocred', relaySettings());

    const code = await invoke(['put', '--tenant', other, '--env', 'developer-sandbox', '--file', file]);

    expect(code).toBe(2);
    expect(output.stderr.join('\n')).toContain(
      `no credential given and none stored at ${tenantSmtpSecretName('dev', other)}`,
    );
    expect((await tenants.get(other))?.environments['developer-sandbox']).toBeUndefined();
  });

  it('answers 3 for an unknown tenant and 2 for an environment of the other scope', async () => {
    expect(await invoke(['test', '--tenant', `nobody-${run}`, '--env', 'developer-sandbox'])).toBe(3);
    expect(output.stderr.join('\n')).toContain(`tenant nobody-${run} not found in the dev scope`);
    expect(await invoke(['test', '--tenant', tenantId, '--env', 'production'])).toBe(2);
    expect(output.stderr.join('\n')).toContain('the dev scope serves developer-sandbox, central-sandbox');
  });

  it('stores the credential in Secrets Manager (create, then a new version) and tests with it, --ca-file given', async () => {
    const file = await settingsFile('aws', relaySettings());
    const calls = secrets.calls.length;
    stdin = 'wrong-at-first\n';
    const put = [
      'put',
      '--tenant',
      tenantId,
      '--env',
      'developer-sandbox',
      '--file',
      file,
      '--password-stdin',
    ];
    expect(await invoke(put)).toBe(0);
    stdin = 'relay-pass';
    expect(await invoke(put)).toBe(0);

    expect(secrets.calls.slice(calls)).toEqual([
      'CreateSecret',
      'PutSecretValue',
      'CreateSecret',
      'PutSecretValue',
    ]);
    expect(secrets.secrets.get(secretName)).toMatchObject({
      value: 'relay-pass',
      tags: [
        { Key: 'tenant-mail:scope', Value: 'dev' },
        { Key: 'tenant-mail:tenant', Value: tenantId },
      ],
    });
    expect(
      await invoke(
        ['test', '--tenant', tenantId, '--env', 'developer-sandbox', '--ca-file', caFile],
        untrusted,
      ),
    ).toBe(0);
    expect(secrets.calls.at(-1)).toBe('GetSecretValue');
    expect(output.stdout.join('\n')).toContain('connection test passed');
  });
});
