import { ENVIRONMENTS, type Environment, SCOPES, type Scope } from '../domain/scope';

/** A required setting is missing or malformed: the function fails at cold start, naming it. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

export function required(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`environment variable ${name} is required`);
  return value;
}

export function positiveInt(env: Env, name: string): number {
  const value = Number(required(env, name));
  if (!Number.isInteger(value) || value < 1)
    throw new ConfigError(`environment variable ${name} must be a whole number ≥ 1`);
  return value;
}

export function optionalPositiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  return positiveInt(env, name);
}

export function optionalBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'true' && raw !== 'false')
    throw new ConfigError(`environment variable ${name} must be true or false`);
  return raw === 'true';
}

/** `SCOPE`, checked against the known verification scopes. */
export function scopeFrom(env: Env): Scope {
  const scope = required(env, 'SCOPE');
  if (!(SCOPES as readonly string[]).includes(scope))
    throw new ConfigError(`SCOPE must be one of ${SCOPES.join(', ')}`);
  return scope as Scope;
}

/** `SERVED_ENVIRONMENTS`: the comma-separated environments this scope deployment serves. */
export function servedEnvironmentsFrom(env: Env): Environment[] {
  const served = required(env, 'SERVED_ENVIRONMENTS').split(',');
  for (const environment of served) {
    if (!(ENVIRONMENTS as readonly string[]).includes(environment)) {
      throw new ConfigError(`SERVED_ENVIRONMENTS has unknown environment "${environment}"`);
    }
  }
  return served as Environment[];
}

export interface SenderConfig {
  readonly scope: Scope;
  readonly servedEnvironments: readonly Environment[];
  readonly platformFromAddress: string;
  readonly configurationSetName: string;
  readonly messageRetentionDays: number;
  readonly maxReceiveCount: number;
  /** How long a claim protects a message; the stack keeps it above the function timeout. @default 120 */
  readonly leaseSeconds: number;
  /**
   * Whether mail to the SES mailbox simulator counts toward a tenant's reputation (as the feedback function's
   * setting of the same variable). @default false
   */
  readonly simulatorCountsTowardReputation: boolean;
  readonly sendQueueUrl: string;
  readonly bulkSendQueueUrl: string;
  readonly tables: {
    readonly tenants: string;
    readonly messages: string;
    readonly suppressions: string;
    readonly identities: string;
    readonly counters: string;
  };
}

/**
 * The sender's settings, all read here once at cold start (the stack sets them; see StatelessStack).
 * AWS endpoints are not settings: the SDK reads `AWS_ENDPOINT_URL_<SERVICE>` itself, which is how the local
 * twin points the same code at emulators.
 */
export function loadSenderConfig(env: Env = process.env): SenderConfig {
  const scope = scopeFrom(env);
  const servedEnvironments = servedEnvironmentsFrom(env);
  return {
    scope,
    servedEnvironments,
    platformFromAddress: required(env, 'PLATFORM_FROM_ADDRESS'),
    configurationSetName: required(env, 'CONFIGURATION_SET_NAME'),
    messageRetentionDays: positiveInt(env, 'MESSAGE_RETENTION_DAYS'),
    maxReceiveCount: positiveInt(env, 'SEND_MAX_RECEIVE_COUNT'),
    leaseSeconds: optionalPositiveInt(env, 'SEND_LEASE_SECONDS', 120),
    simulatorCountsTowardReputation: optionalBoolean(env, 'REPUTATION_COUNT_SIMULATOR', false),
    sendQueueUrl: required(env, 'SEND_QUEUE_URL'),
    bulkSendQueueUrl: required(env, 'BULK_SEND_QUEUE_URL'),
    tables: {
      tenants: required(env, 'TABLE_TENANTS'),
      messages: required(env, 'TABLE_MESSAGES'),
      suppressions: required(env, 'TABLE_SUPPRESSIONS'),
      identities: required(env, 'TABLE_IDENTITIES'),
      counters: required(env, 'TABLE_COUNTERS'),
    },
  };
}
