import { NodemailerRelaySender } from '../adapters/smtp/nodemailer-relay-sender';
import type { RelaySender } from '../domain/smtp/relay-sender';
import type { SecretStore } from '../domain/smtp/secret-store';

/**
 * The sender's `external-smtp` transport, nodemailer's SMTP client. Bundled into a file of its own beside the
 * sender's `index.js` (LAZY_MODULES in lib/constructs/tenant-mail-function.ts) and required at a container's first
 * relay send, so a cold start that serves only SES tenants neither reads nor evaluates it. The secret store comes
 * from `index.js`, so this file carries no second copy of the AWS SDK.
 */
export function createRelaySender(secrets: SecretStore): RelaySender {
  return new NodemailerRelaySender({ secrets });
}
