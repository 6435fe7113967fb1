import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerSecretStore } from '../../../lambdas/adapters/secrets/secrets-manager-secret-store';
import { SecretNotFoundError } from '../../../lambdas/domain/smtp/secret-store';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import { startSecretsManagerEmulator } from '../../../local/secrets/secrets-manager-emulator';

describe('local Secrets Manager emulator', () => {
  it('serves secrets created through the SDK to the sender’s Secrets Manager store, and says when one is missing', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'tm-secrets-'));
    const emulator = await startSecretsManagerEmulator({ folder });
    const client = new SecretsManagerClient({
      endpoint: emulator.url,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    try {
      await client.send(
        new CreateSecretCommand({ Name: 'tenant-mail/dev/tenants/acme/smtp', SecretString: 'relay-pass' }),
      );
      const store = new SecretsManagerSecretStore({ client });
      expect(await store.get('tenant-mail/dev/tenants/acme/smtp')).toBe('relay-pass');
      expect(await emulator.store.get('tenant-mail/dev/tenants/acme/smtp')).toBe('relay-pass');
      await expect(store.get('tenant-mail/dev/tenants/nobody/smtp')).rejects.toBeInstanceOf(
        SecretNotFoundError,
      );
    } finally {
      client.destroy();
      await emulator.stop();
      await rm(folder, { recursive: true, force: true });
    }
  });
});
