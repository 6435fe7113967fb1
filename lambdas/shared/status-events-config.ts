import type { Scope } from '../domain/scope';
import { type Env, required, scopeFrom } from './config';

export interface StatusEventsConfig {
  readonly scope: Scope;
  /** The scope's bus, `tenant-mail.<scope>`. */
  readonly eventBusName: string;
}

/**
 * Settings of `publish-status-events`, read once at cold start: `SCOPE`, `STATUS_EVENT_BUS_NAME`.
 * @throws ConfigError naming the missing or malformed variable.
 */
export function loadStatusEventsConfig(env: Env = process.env): StatusEventsConfig {
  return { scope: scopeFrom(env), eventBusName: required(env, 'STATUS_EVENT_BUS_NAME') };
}
