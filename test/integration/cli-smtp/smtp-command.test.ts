import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type CliCommand, EXIT, type ExitCode, UsageError } from '../../../cli/cli-command';
import { type CliContext, createCliContext, type LocalEndpoints } from '../../../cli/cli-context';
import { createSmtpCommands } from '../../../cli/commands/smtp';
import { DynamoTenantStore } from '../../../lambdas/adapters/tenant-store';
import { tenantSmtpSecretName } from '../../../lambdas/domain/smtp/smtp-settings';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import { testAws, testStack } from '../../support/env';
import { type SmtpRelay, startSmtpRelay } from '../../support/smtp-relay';

const run = Date.now().toString(36);
const tenantId = `cli-smtp-${run}`;
const secretName = tenantSmtpSecretName('dev', tenantId);

interface Captured {
  readonly stdout: string[];
  readonly stderr: string[];
}

/**
 * A CliContext as `createCliContext` builds it for `--local`, from an endpoints file pointing at the test
 * emulators, with the local secret store in a temporary folder and the output captured.
 */
async function localContext(projectDir: string): Promise<{ ctx: CliContext; output: Captured }> {
  const endpoints: LocalEndpoints = {
    scope: 'dev',
    region: LOCAL_REGION,
    dynamodb: testAws.dynamodb.endpoint,
    sqs: testAws.sqs.endpoint,
    sns: testAws.sqs.endpoint,
    ses: 'http://127.0.0.1:1',
    dns: '127.0.0.1:1',
    queues: {},
    viewer: 'http://127.0.0.1:1/_local/',
    secretsDir: join(projectDir, '.local', 'secrets'),
  };
  await mkdir(join(projectDir, '.local'), { recursive: true });
  await writeFile(join(projectDir, '.local', 'endpoints.json'), JSON.stringify(endpoints));
  const base = createCliContext({ scope: 'dev', json: false, local: true, projectDir });
  const output: Captured = { stdout: [], stderr: [] };
  const ctx: CliContext = {
    ...base,
    out: {
      result: (_data, text) => output.stdout.push(text()),
      info: (text) => output.stdout.push(text),
      error: (text) => output.stderr.push(text),
    },
  };
  return { ctx, output };
}

/** Parses argv against the command's options and maps a UsageError to exit 2, as `cli/main.ts` does. */
async function invoke(commands: CliCommand[], ctx: CliContext, argv: string[]): Promise<ExitCode> {
  const [name, ...rest] = argv;
  const command = commands.find((c) => c.name === name);
  if (!command) throw new Error(`no smtp command ${name}`);
  const parsed: ReturnType<typeof parseArgs> = parseArgs({
    args: rest,
    options: command.options ?? {},
    allowPositionals: true,
    strict: true,
  });
  try {
    // Our commands declare no multiple options; widen parseArgs' mixed arrays to the CommandArgs shape.
    const values = Object.fromEntries(
      Object.entries(parsed.values).map(([key, value]) => [
        key,
        Array.isArray(value) ? value.map(String) : value,
      ]),
    );
    return await command.run(ctx, { values, positionals: parsed.positionals });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    ctx.out.error(error.message);
    return EXIT.USAGE;
  }
}

/**
 * A Secrets Manager endpoint on 127.0.0.1 speaking the JSON protocol for CreateSecret, PutSecretValue and
 * GetSecretValue, so `smtp put` and `smtp test` without `--local` run through the real SDK client.
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
  let projectDir: string;
  let ctx: CliContext;
  let output: Captured;
  let caFile: string;
  let stdin = '';
  const commands = createSmtpCommands({ readStdin: async () => stdin });
  let tenants: DynamoTenantStore;

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
  const localSecrets = async () =>
    JSON.parse(await readFile(join(projectDir, '.local', 'secrets', 'secrets.json'), 'utf8')) as Record<
      string,
      string
    >;
  const testRelay = () =>
    invoke(commands, ctx, ['test', '--tenant', tenantId, '--env', 'developer-sandbox', '--ca-file', caFile]);

  beforeAll(async () => {
    relay = await startSmtpRelay();
    projectDir = await mkdtemp(join(tmpdir(), 'tenant-mail-cli-smtp-'));
    caFile = join(projectDir, 'relay-ca.pem');
    await writeFile(caFile, relay.ca);
    ({ ctx, output } = await localContext(projectDir));
    tenants = new DynamoTenantStore(ctx.documents, {
      tableName: testStack.table('tenants'),
      cacheTtlSeconds: 0,
    });
    await tenants.put({
      tenantId,
      displayName: 'CLI Tenant',
      profileEmail: 'billing@cli-tenant.example',
      environments: { 'developer-sandbox': { method: 'default' }, 'central-sandbox': { method: 'default' } },
    });
  });

  afterAll(async () => {
    ctx.close();
    await relay.close();
    await rm(projectDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    output.stdout.length = 0;
    output.stderr.length = 0;
    stdin = '';
  });

  it('saves the settings on the tenant environment with method external-smtp and the password only in the secret store', async () => {
    stdin = 'relay-pass\n';
    const file = await settingsFile('good', relaySettings());

    const code = await invoke(commands, ctx, [
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
    expect(await localSecrets()).toEqual({ [secretName]: 'relay-pass' });
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

  it('names the STARTTLS step when the relay certificate is not trusted (no --ca-file), exit 1', async () => {
    const code = await invoke(commands, ctx, ['test', '--tenant', tenantId, '--env', 'developer-sandbox']);

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

    const code = await invoke(commands, ctx, [
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
    const text = output.stdout.join('\n');
    expect(text).toContain('host: must be a host name or IP address');
    expect(text).toContain('port: must be a number');
    expect(text).toContain('security: plaintext SMTP is refused');
    expect(text).toContain(`auth.secretRef: must be the secret '${secretName}'`);
    expect(text).toContain('limits.messagesPerMinute: must be greater than 0');
    expect(await tenants.get(tenantId)).toEqual(before);
    expect(await localSecrets()).toEqual({ [secretName]: 'relay-pass' });
  });

  it('takes a password given in the settings file into the secret store and saves the settings without it', async () => {
    const file = await settingsFile(
      'inline',
      relaySettings({ auth: { type: 'password', username: 'relay-user', password: 'relay-pass' } }),
    );

    const code = await invoke(commands, ctx, [
      'put',
      '--tenant',
      tenantId,
      '--env',
      'central-sandbox',
      '--file',
      file,
    ]);

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

    const code = await invoke(commands, ctx, [
      'put',
      '--tenant',
      other,
      '--env',
      'developer-sandbox',
      '--file',
      file,
    ]);

    expect(code).toBe(2);
    expect(output.stderr.join('\n')).toContain(
      `no credential given and none stored at ${tenantSmtpSecretName('dev', other)}`,
    );
    expect((await tenants.get(other))?.environments['developer-sandbox']).toBeUndefined();
  });

  it('answers 3 for an unknown tenant and 2 for an environment of the other scope', async () => {
    expect(
      await invoke(commands, ctx, ['test', '--tenant', `nobody-${run}`, '--env', 'developer-sandbox']),
    ).toBe(3);
    expect(output.stderr.join('\n')).toContain(`tenant nobody-${run} not found in the dev scope`);
    expect(await invoke(commands, ctx, ['test', '--tenant', tenantId, '--env', 'production'])).toBe(2);
    expect(output.stderr.join('\n')).toContain('the dev scope serves developer-sandbox, central-sandbox');
  });

  it('stores the credential in Secrets Manager (create, then a new version) and tests with it when not --local', async () => {
    const endpoint = await startSecretsEndpoint();
    const { local: _local, ...rest } = ctx;
    const secrets = new SecretsManagerClient({
      endpoint: endpoint.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    const awsCtx: CliContext = { ...rest, secrets };
    try {
      const file = await settingsFile('aws', relaySettings());
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
      expect(await invoke(commands, awsCtx, put)).toBe(0);
      stdin = 'relay-pass';
      expect(await invoke(commands, awsCtx, put)).toBe(0);

      expect(endpoint.calls).toEqual(['CreateSecret', 'CreateSecret', 'PutSecretValue']);
      expect(endpoint.secrets.get(secretName)).toMatchObject({
        value: 'relay-pass',
        versions: 2,
        tags: [
          { Key: 'tenant-mail:scope', Value: 'dev' },
          { Key: 'tenant-mail:tenant', Value: tenantId },
        ],
      });
      output.stdout.length = 0;
      expect(
        await invoke(commands, awsCtx, [
          'test',
          '--tenant',
          tenantId,
          '--env',
          'developer-sandbox',
          '--ca-file',
          caFile,
        ]),
      ).toBe(0);
      expect(endpoint.calls.at(-1)).toBe('GetSecretValue');
      expect(output.stdout.join('\n')).toContain('connection test passed');
    } finally {
      secrets.destroy();
      await endpoint.close();
    }
  });
});
