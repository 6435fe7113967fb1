import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerSecretStore } from '../adapters/secrets/secrets-manager-secret-store';
import { NodemailerRelaySender } from '../adapters/smtp/nodemailer-relay-sender';
import type { RelaySender } from '../domain/smtp/relay-sender';
import type { SecretStore } from '../domain/smtp/secret-store';

/**
 * The sender's `external-smtp` transport: nodemailer's SMTP client and the Secrets Manager store of the relays'
 * passwords. Bundled into a file of its own beside the sender's `index.js` (LAZY_MODULES in
 * lib/constructs/tenant-mail-function.ts) and required at a container's first relay send, so a cold start that
 * serves only SES tenants neither reads nor evaluates any of it. The price: this file carries its own copy of the
 * AWS SDK's core, which only containers serving relay tenants load. `secrets` is for benches and tests that point
 * the store at an emulator; the deployed function reads Secrets Manager through the environment's endpoint.
 */
export function createRelaySender(
  secrets: SecretStore = new SecretsManagerSecretStore({ client: new SecretsManagerClient({}) }),
): RelaySender {
  return new NodemailerRelaySender({ secrets });
}
