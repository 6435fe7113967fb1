import { DEFAULT_DISPATCH_LIMITS } from '../domain/notifications/dispatch-events';
import type { Environment } from '../domain/scope';
import {
  ConfigError,
  type Env,
  optionalPositiveInt,
  positiveInt,
  required,
  servedEnvironmentsFrom,
} from './config';

export interface DispatchConfig {
  readonly servedEnvironments: readonly Environment[];
  readonly messageRetentionDays: number;
  /** Fan-out elements dispatched per invocation for one event before it continues. @default 500 */
  readonly maxItemsPerInvocation: number;
  /** Jobs rendered, recorded and published together. @default 50 */
  readonly chunkSize: number;
  /** Rendering time one event may use per invocation. @default 20,000 ms */
  readonly renderBudgetMs: number;
  /** Time before the timeout at which an event continues later. @default 15,000 ms */
  readonly safetyMarginMs: number;
  /** Rendering time one template part may take. @default 200 ms */
  readonly renderLimitMs: number;
  /** Seconds a warm container trusts definitions and templates it read. @default 30 */
  readonly definitionsCacheTtlSeconds: number;
  readonly queues: {
    readonly send: string;
    readonly sendBulk: string;
    readonly events: string;
    readonly eventsDlq: string;
  };
  readonly tables: { readonly definitions: string; readonly messages: string };
}

/**
 * The dispatcher's settings, read once at cold start: `SERVED_ENVIRONMENTS`, `MESSAGE_RETENTION_DAYS`,
 * `SEND_QUEUE_URL`, `BULK_SEND_QUEUE_URL`, `EVENTS_QUEUE_URL`, `EVENTS_DLQ_URL`, `TABLE_DEFINITIONS`,
 * `TABLE_MESSAGES`, optional `DISPATCH_MAX_ITEMS_PER_INVOCATION` (500) and `DEFINITIONS_CACHE_TTL_SECONDS` (30).
 * @throws ConfigError naming the missing or malformed variable.
 */
export function loadDispatchConfig(env: Env = process.env): DispatchConfig {
  const servedEnvironments = servedEnvironmentsFrom(env);
  const ttlRaw = env.DEFINITIONS_CACHE_TTL_SECONDS;
  const definitionsCacheTtlSeconds = ttlRaw === undefined || ttlRaw === '' ? 30 : Number(ttlRaw);
  if (!Number.isInteger(definitionsCacheTtlSeconds) || definitionsCacheTtlSeconds < 0) {
    throw new ConfigError('environment variable DEFINITIONS_CACHE_TTL_SECONDS must be a whole number ≥ 0');
  }
  return {
    servedEnvironments,
    messageRetentionDays: positiveInt(env, 'MESSAGE_RETENTION_DAYS'),
    maxItemsPerInvocation: optionalPositiveInt(env, 'DISPATCH_MAX_ITEMS_PER_INVOCATION', 500),
    chunkSize: optionalPositiveInt(env, 'DISPATCH_CHUNK_SIZE', DEFAULT_DISPATCH_LIMITS.chunkSize),
    renderBudgetMs: optionalPositiveInt(
      env,
      'DISPATCH_RENDER_BUDGET_MS',
      DEFAULT_DISPATCH_LIMITS.renderBudgetMs,
    ),
    safetyMarginMs: optionalPositiveInt(
      env,
      'DISPATCH_SAFETY_MARGIN_MS',
      DEFAULT_DISPATCH_LIMITS.safetyMarginMs,
    ),
    renderLimitMs: optionalPositiveInt(env, 'TEMPLATE_RENDER_LIMIT_MS', 200),
    definitionsCacheTtlSeconds,
    queues: {
      send: required(env, 'SEND_QUEUE_URL'),
      sendBulk: required(env, 'BULK_SEND_QUEUE_URL'),
      events: required(env, 'EVENTS_QUEUE_URL'),
      eventsDlq: required(env, 'EVENTS_DLQ_URL'),
    },
    tables: { definitions: required(env, 'TABLE_DEFINITIONS'), messages: required(env, 'TABLE_MESSAGES') },
  };
}
