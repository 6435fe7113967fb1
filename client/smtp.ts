import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerSecretStore } from '../lambdas/adapters/secrets/secrets-manager-secret-store';
import { NodemailerRelaySender } from '../lambdas/adapters/smtp/nodemailer-relay-sender';
import { PermanentError } from '../lambdas/domain/errors';
import type { Environment } from '../lambdas/domain/scope';
import type { ConnectionTestReport } from '../lambdas/domain/smtp/relay-sender';
import { SecretNotFoundError } from '../lambdas/domain/smtp/secret-store';
import { parseOAuth2Secret, parsePasswordSecret } from '../lambdas/domain/smtp/secret-values';
import {
  type FieldError,
  type SmtpSettings,
  tenantSmtpSecretName,
  validateSmtpSettings,
} from '../lambdas/domain/smtp/smtp-settings';
import { type Tenant, tenantProblemsInScope } from '../lambdas/domain/tenant';
import type { AdminContext } from './admin-context';
import { AdminInputError, AdminNotFoundError } from './admin-errors';

/** SMTP settings the client refused, with every field problem. */
export class SmtpSettingsError extends AdminInputError {
  constructor(
    heading: string,
    readonly errors: readonly FieldError[],
  ) {
    super(
      `${heading} ${errors.map((e) => `${e.field || '(settings)'}: ${e.message}`).join('; ')}`,
      'INVALID_SMTP_SETTINGS',
    );
    this.name = 'SmtpSettingsError';
  }
}

export interface SmtpPutResult {
  readonly tenantId: string;
  readonly environment: Environment;
  readonly method: 'external-smtp';
  readonly settings: SmtpSettings;
  readonly secret: { readonly ref: string; readonly written: boolean };
}

/** `test`: the relay's connection report, or the credential step when the secret is missing or malformed. */
export type SmtpTestResult =
  | { readonly settings: SmtpSettings; readonly report: ConnectionTestReport }
  | {
      readonly settings: SmtpSettings;
      readonly report: { readonly ok: false; readonly failedStep: 'credential'; readonly reason: string };
    };

/** Splits a credential given inline (`auth.password` / `auth.oauth2`) from the settings: it is never saved. */
function splitSecret(input: Record<string, unknown>): { settings: Record<string, unknown>; inline?: string } {
  const auth = input.auth;
  if (typeof auth !== 'object' || auth === null || Array.isArray(auth)) return { settings: input };
  const { password, oauth2, ...rest } = auth as Record<string, unknown>;
  const inline =
    typeof password === 'string' ? password : oauth2 !== undefined ? JSON.stringify(oauth2) : undefined;
  return { settings: { ...input, auth: rest }, ...(inline !== undefined ? { inline } : {}) };
}

/** A tenant's own SMTP relay per environment: settings, the credential in Secrets Manager, a connection test. */
export class SmtpApi {
  constructor(private readonly ctx: AdminContext) {}

  /**
   * Validates and saves the relay settings (the tenant's method becomes `external-smtp` there) and stores the
   * credential first, so the sender never reads settings whose secret is not written yet.
   * @param secret the password, or the OAuth2 JSON; @default the one inline in `input.auth`, else the stored one
   */
  async put(tenantId: string, env: string, input: unknown, secret?: string): Promise<SmtpPutResult> {
    const environment = this.ctx.environment(env);
    if (typeof input !== 'object' || input === null || Array.isArray(input))
      throw new AdminInputError('SMTP settings must be one JSON object', 'INVALID_SMTP_SETTINGS');
    const { settings: withoutSecret, inline } = splitSecret(input as Record<string, unknown>);
    const auth = withoutSecret.auth;
    const saved =
      typeof auth === 'object' && auth !== null && !('secretRef' in auth)
        ? { ...withoutSecret, auth: { ...auth, secretRef: tenantSmtpSecretName(this.ctx.scope, tenantId) } }
        : withoutSecret;
    const validated = validateSmtpSettings(saved, { scope: this.ctx.scope, tenantId });
    if (!validated.ok) throw new SmtpSettingsError('invalid SMTP settings:', validated.errors);
    const settings = validated.settings;
    const secretValue = secret ?? inline;
    if (secretValue !== undefined) {
      if (settings.auth.type === 'password') parsePasswordSecret(settings.auth.secretRef, secretValue);
      else parseOAuth2Secret(settings.auth.secretRef, secretValue);
    }
    const tenant = await this.tenant(tenantId);
    const updated: Tenant = {
      ...tenant,
      environments: {
        ...tenant.environments,
        [environment]: {
          enabled: true,
          ...tenant.environments[environment],
          method: 'external-smtp',
          smtp: saved,
        },
      },
    };
    const problems = tenantProblemsInScope(updated, this.ctx.scope);
    if (problems.length > 0) throw new AdminInputError(`invalid tenant: ${problems.join('; ')}`);
    if (secretValue !== undefined) {
      await this.putSecret(settings.auth.secretRef, secretValue, tenantId);
    } else {
      try {
        await this.secrets().get(settings.auth.secretRef);
      } catch (error) {
        if (!(error instanceof SecretNotFoundError)) throw error;
        throw new AdminInputError(
          `no credential given and none stored at ${settings.auth.secretRef}: pass the password (or the OAuth2 JSON), or auth.password / auth.oauth2 in the settings`,
          'SECRET_NOT_FOUND',
        );
      }
    }
    await this.ctx.tenantStore().put(updated);
    return {
      tenantId,
      environment,
      method: 'external-smtp',
      settings,
      secret: { ref: settings.auth.secretRef, written: secretValue !== undefined },
    };
  }

  /** Connects to the saved relay: TCP, TLS, greeting, EHLO, STARTTLS, AUTH; the report names the failing step. */
  async test(tenantId: string, env: string): Promise<SmtpTestResult> {
    const environment = this.ctx.environment(env);
    const tenant = await this.tenant(tenantId);
    const saved = tenant.environments[environment]?.smtp;
    if (!saved)
      throw new AdminNotFoundError(
        'smtp settings',
        `tenant ${tenantId} has no SMTP settings for ${environment}: save them with \`tenant-mail smtp put\``,
      );
    const validated = validateSmtpSettings(saved, { scope: this.ctx.scope, tenantId });
    if (!validated.ok)
      throw new SmtpSettingsError(
        `the saved SMTP settings of ${tenantId}/${environment} are invalid:`,
        validated.errors,
      );
    const settings = validated.settings;
    const ca = this.ctx.options.relayCa;
    const relay = new NodemailerRelaySender({ secrets: this.secrets(), ...(ca ? { tls: { ca } } : {}) });
    try {
      return { settings, report: await relay.testConnection(settings) };
    } catch (error) {
      // A credential that is missing or malformed fails before any connection: its own step.
      if (!(error instanceof PermanentError)) throw error;
      const reason =
        error instanceof SecretNotFoundError
          ? `${error.message}: save it with \`tenant-mail smtp put --password-stdin\``
          : error.message;
      return { settings, report: { ok: false, failedStep: 'credential', reason } };
    } finally {
      relay.close();
    }
  }

  private async tenant(tenantId: string): Promise<Tenant> {
    const tenant = await this.ctx.tenantStore().get(tenantId);
    if (!tenant)
      throw new AdminNotFoundError('tenant', `tenant ${tenantId} not found in the ${this.ctx.scope} scope`);
    return tenant;
  }

  private secrets(): SecretsManagerSecretStore {
    return new SecretsManagerSecretStore({ client: this.ctx.clients.secrets, ttlMs: 0 });
  }

  /** Creates the secret, or adds a version when it exists. */
  private async putSecret(name: string, value: string, tenantId: string): Promise<void> {
    const client = this.ctx.clients.secrets;
    try {
      await client.send(
        new CreateSecretCommand({
          Name: name,
          SecretString: value,
          Description: 'tenant-mail: tenant SMTP relay credential (written by the admin client, `smtp put`)',
          Tags: [
            { Key: 'tenant-mail:scope', Value: this.ctx.scope },
            { Key: 'tenant-mail:tenant', Value: tenantId },
          ],
        }),
      );
    } catch (error) {
      if (!(error instanceof Error) || error.name !== 'ResourceExistsException') throw error;
      await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
    }
  }
}
