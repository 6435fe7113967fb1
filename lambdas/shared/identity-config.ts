import { SCOPES, type Scope } from '../domain/message';
import { ConfigError } from './config';

type Env = Record<string, string | undefined>;

function required(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`environment variable ${name} is required`);
  return value;
}

function optionalPositiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new ConfigError(`environment variable ${name} must be a whole number ≥ 1`);
  return value;
}

function optionalBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'true' && raw !== 'false')
    throw new ConfigError(`environment variable ${name} must be true or false`);
  return raw === 'true';
}

export interface IdentityRefreshConfig {
  readonly scope: Scope;
  /** The scope's configuration set (`tenant-mail-<scope>`), associated with each SES tenant. */
  readonly configurationSetName: string;
  readonly tables: { readonly identities: string; readonly tenants: string };
  /** Identities refreshed at once (SES GetEmailIdentity calls in flight). @default 4 */
  readonly concurrency: number;
  /** Whether a run without `includeVerified` in its event also re-checks verified identities. @default false */
  readonly includeVerified: boolean;
}

/**
 * Settings of the scheduled identity refresh, read once at cold start: `SCOPE`, `CONFIGURATION_SET_NAME`,
 * `TABLE_IDENTITIES`, `TABLE_TENANTS`, optional `REFRESH_CONCURRENCY` (4) and `REFRESH_INCLUDE_VERIFIED` (false).
 * @throws ConfigError naming the missing or malformed variable.
 */
export function loadIdentityRefreshConfig(env: Env = process.env): IdentityRefreshConfig {
  const scope = required(env, 'SCOPE');
  if (!(SCOPES as readonly string[]).includes(scope))
    throw new ConfigError(`SCOPE must be one of ${SCOPES.join(', ')}`);
  return {
    scope: scope as Scope,
    configurationSetName: required(env, 'CONFIGURATION_SET_NAME'),
    tables: { identities: required(env, 'TABLE_IDENTITIES'), tenants: required(env, 'TABLE_TENANTS') },
    concurrency: optionalPositiveInt(env, 'REFRESH_CONCURRENCY', 4),
    includeVerified: optionalBoolean(env, 'REFRESH_INCLUDE_VERIFIED', false),
  };
}
