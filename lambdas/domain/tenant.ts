import * as z from '../shared/zod';
import { PermanentError } from './errors';
import { ENVIRONMENTS, type Environment, type Scope, SENDING_METHODS } from './scope';
import { displayName, emailAddress } from './sending/mail-policy';
import { validateSmtpSettings } from './smtp/smtp-settings';

/** Settings of a tenant in one environment. */
export const tenantEnvironmentSchema = z.object({
  method: z._default(z.enum(SENDING_METHODS), 'default'),
  /** Disabled environments refuse mail (REJECTED); use `paused` to hold mail instead. */
  enabled: z._default(z.boolean(), true),
  /** Held by the reputation guard or an operator: mail waits as PAUSED until resumed. */
  paused: z.optional(z.object({ reason: z.string(), at: z.string() })),
  /** Default From address for the `advanced` method when a message gives none. */
  fromAddress: z.optional(emailAddress),
  /** The SES tenant (advanced method) that isolates this tenant's reputation and suppression. */
  sesTenantName: z.optional(z.string()),
  /** Relay settings for the `external-smtp` method, as saved (see `validateSmtpSettings`); no secrets here. */
  smtp: z.optional(z.record(z.string(), z.unknown())),
});

export const tenantSchema = z.object({
  tenantId: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'tenantId is 1-64 letters, digits, _ or -')),
  /** The From name of the default method: a plain name, never something that reads like an address. */
  displayName: z.pipe(z.string().check(z.trim()), displayName(100)),
  /** The tenant profile email: Reply-To of the default method, and where replies reach the tenant. */
  profileEmail: emailAddress,
  environments: z._default(z.partialRecord(z.enum(ENVIRONMENTS), tenantEnvironmentSchema), {}),
});

export type Tenant = z.infer<typeof tenantSchema>;
export type TenantEnvironment = z.infer<typeof tenantEnvironmentSchema>;

export class UnknownTenantError extends PermanentError {
  constructor(tenantId: string) {
    super('UNKNOWN_TENANT', `tenant "${tenantId}" does not exist in this scope`);
    this.name = 'UnknownTenantError';
  }
}

export class EnvironmentNotEnabledError extends PermanentError {
  constructor(tenantId: string, environment: Environment) {
    super(
      'ENVIRONMENT_NOT_ENABLED',
      `tenant "${tenantId}" has no enabled settings for environment "${environment}": add them with \`tenant-mail tenant put\``,
    );
    this.name = 'EnvironmentNotEnabledError';
  }
}

/** Reads tenants; implementations cache per warm container. */
export interface TenantDirectory {
  get(tenantId: string): Promise<Tenant | undefined>;
}

/**
 * Checks what depends on the scope: every environment on `external-smtp` has valid relay settings whose
 * secret lives under this tenant's path in this scope. Returns `field: problem` lines, empty when valid.
 */
export function tenantProblemsInScope(tenant: Tenant, scope: Scope): string[] {
  const problems: string[] = [];
  for (const [environment, settings] of Object.entries(tenant.environments)) {
    if (settings?.method !== 'external-smtp') continue;
    if (!settings.smtp) {
      problems.push(`environments.${environment}.smtp: required for the external-smtp method`);
      continue;
    }
    const result = validateSmtpSettings(settings.smtp, { scope, tenantId: tenant.tenantId });
    if (!result.ok) {
      for (const error of result.errors)
        problems.push(`environments.${environment}.smtp.${error.field}: ${error.message}`);
    }
  }
  return problems;
}

/** The tenant's settings for one environment, or a clear error when it cannot send there. */
export function environmentSettings(tenant: Tenant, environment: Environment): TenantEnvironment {
  const settings = tenant.environments[environment];
  if (!settings?.enabled) throw new EnvironmentNotEnabledError(tenant.tenantId, environment);
  return settings;
}
