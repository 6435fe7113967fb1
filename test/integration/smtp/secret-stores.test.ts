import { createServer, type IncomingMessage, type Server } from 'node:http';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerSecretStore } from '../../../lambdas/adapters/secrets/secrets-manager-secret-store';
import {
  SecretAccessDeniedError,
  SecretNotFoundError,
  SecretStoreUnavailableError,
} from '../../../lambdas/domain/smtp/secret-store';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import { temporarySecretStore } from './relay-test-kit';

/**
 * A minimal Secrets Manager endpoint on 127.0.0.1 speaking the real JSON protocol (GetSecretValue only), so the
 * adapter is exercised through the real SDK client; no emulator for Secrets Manager is installed.
 */
async function startSecretsEndpoint(secrets: Map<string, string>) {
  const calls: string[] = [];
  const body = (request: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = '';
      request.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      request.on('end', () => resolve(text));
    });
  const server: Server = createServer(async (request, response) => {
    const { SecretId } = JSON.parse(await body(request)) as { SecretId: string };
    calls.push(SecretId);
    const reply = (status: number, payload: object) => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify(payload));
    };
    if (SecretId.includes('forbidden')) return reply(400, { __type: 'AccessDeniedException', message: 'no' });
    if (SecretId.includes('flaky')) return reply(500, { __type: 'InternalServiceError', message: 'boom' });
    const value = secrets.get(SecretId);
    if (value === undefined) {
      return reply(400, {
        __type: 'ResourceNotFoundException',
        message: "Secrets Manager can't find the secret",
      });
    }
    reply(200, {
      ARN: `arn:aws:secretsmanager:${LOCAL_REGION}:000000000000:secret:${SecretId}`,
      Name: SecretId,
      SecretString: value,
      VersionId: 'v1',
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe('SecretsManagerSecretStore', () => {
  const values = new Map([['tenant-mail/prod/tenants/acme/smtp', 's3cret']]);
  let endpoint: Awaited<ReturnType<typeof startSecretsEndpoint>>;
  let client: SecretsManagerClient;

  beforeAll(async () => {
    endpoint = await startSecretsEndpoint(values);
    client = new SecretsManagerClient({
      endpoint: endpoint.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    client.destroy();
    await endpoint.close();
  });

  beforeEach(() => {
    endpoint.calls.length = 0;
  });

  it('reads a secret once per TTL in a warm container, sharing concurrent reads', async () => {
    let now = 0;
    const store = new SecretsManagerSecretStore({ client, ttlMs: 1_000, now: () => now });

    const values = await Promise.all([
      store.get('tenant-mail/prod/tenants/acme/smtp'),
      store.get('tenant-mail/prod/tenants/acme/smtp'),
    ]);
    expect(values).toEqual(['s3cret', 's3cret']);
    now = 999;
    await store.get('tenant-mail/prod/tenants/acme/smtp');
    expect(endpoint.calls).toHaveLength(1);

    now = 1_000;
    await store.get('tenant-mail/prod/tenants/acme/smtp');
    expect(endpoint.calls).toHaveLength(2);
  });

  it('reads again after invalidate, so a rotated password is picked up', async () => {
    const store = new SecretsManagerSecretStore({ client });
    await store.get('tenant-mail/prod/tenants/acme/smtp');
    store.invalidate('tenant-mail/prod/tenants/acme/smtp');
    await store.get('tenant-mail/prod/tenants/acme/smtp');
    expect(endpoint.calls).toHaveLength(2);
  });

  it('maps a missing secret to a permanent SecretNotFoundError and does not cache the failure', async () => {
    const store = new SecretsManagerSecretStore({ client });
    await expect(store.get('tenant-mail/prod/tenants/ghost/smtp')).rejects.toBeInstanceOf(
      SecretNotFoundError,
    );
    await expect(store.get('tenant-mail/prod/tenants/ghost/smtp')).rejects.toBeInstanceOf(
      SecretNotFoundError,
    );
    expect(endpoint.calls).toHaveLength(2);
  });

  it('maps access denied to a permanent error and a server failure to a transient one', async () => {
    const store = new SecretsManagerSecretStore({ client });
    await expect(store.get('tenant-mail/prod/tenants/forbidden/smtp')).rejects.toBeInstanceOf(
      SecretAccessDeniedError,
    );
    await expect(store.get('tenant-mail/prod/tenants/flaky/smtp')).rejects.toBeInstanceOf(
      SecretStoreUnavailableError,
    );
  });
});

describe('FileSecretStore', () => {
  it('returns what was put, and throws SecretNotFoundError for anything else', async () => {
    const { store, remove } = await temporarySecretStore();
    try {
      await expect(store.get('tenant-mail/dev/tenants/a/smtp')).rejects.toBeInstanceOf(SecretNotFoundError);
      await store.put('tenant-mail/dev/tenants/a/smtp', 'pw-1');
      await store.put('tenant-mail/dev/tenants/b/smtp', 'pw-2');
      await store.put('tenant-mail/dev/tenants/a/smtp', 'pw-3');
      expect(await store.get('tenant-mail/dev/tenants/a/smtp')).toBe('pw-3');
      expect(await store.get('tenant-mail/dev/tenants/b/smtp')).toBe('pw-2');
    } finally {
      await remove();
    }
  });
});
