import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSecretStore } from '../../../lambdas/adapters/secrets/file-secret-store';
import { parseSmtpSettings, type SmtpSettingsInput } from '../../../lambdas/domain/smtp/smtp-settings';
import type { SmtpRelay } from '../../support/smtp-relay';

export const TENANT = { scope: 'dev', tenantId: 'tenant-a' } as const;
export const SECRET_REF = 'tenant-mail/dev/tenants/tenant-a/smtp';

/** Settings for a test relay, validated the way a tenant's saved settings are. */
export function relaySettings(relay: Pick<SmtpRelay, 'port'>, overrides: Partial<SmtpSettingsInput> = {}) {
  return parseSmtpSettings(
    {
      host: '127.0.0.1',
      port: relay.port,
      security: 'starttls',
      auth: { type: 'password', username: 'relay-user', secretRef: SECRET_REF },
      from: 'billing@tenant-a.example',
      provider: 'custom',
      ...overrides,
    },
    TENANT,
  );
}

/** A file-backed secret store in a fresh temporary folder. */
export async function temporarySecretStore(): Promise<{ store: FileSecretStore; remove(): Promise<void> }> {
  const folder = await mkdtemp(join(tmpdir(), 'tenant-mail-secrets-'));
  return {
    store: new FileSecretStore({ folder }),
    remove: () => rm(folder, { recursive: true, force: true }),
  };
}

let counter = 0;

/** A small prepared MIME message with a unique Message-ID, as the sender would pass it. */
export function rawMessage(
  to: readonly string[],
  subject = 'Invoice INV-1 posted',
): { raw: string; id: string } {
  counter += 1;
  const id = `<test-${process.pid}-${counter}@tenant-a.example>`;
  const raw = [
    'From: "Tenant A" <billing@tenant-a.example>',
    `To: ${to.join(', ')}`,
    `Subject: ${subject}`,
    `Message-ID: ${id}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Your invoice has been posted.',
    '',
  ].join('\r\n');
  return { raw, id };
}
