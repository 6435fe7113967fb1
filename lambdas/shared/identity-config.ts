import type { Scope } from '../domain/scope';
import { type Env, optionalBoolean, optionalPositiveInt, required, scopeFrom } from './config';

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
  return {
    scope: scopeFrom(env),
    configurationSetName: required(env, 'CONFIGURATION_SET_NAME'),
    tables: { identities: required(env, 'TABLE_IDENTITIES'), tenants: required(env, 'TABLE_TENANTS') },
    concurrency: optionalPositiveInt(env, 'REFRESH_CONCURRENCY', 4),
    includeVerified: optionalBoolean(env, 'REFRESH_INCLUDE_VERIFIED', false),
  };
}
