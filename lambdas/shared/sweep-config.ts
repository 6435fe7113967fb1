import { DEFAULT_SWEEP_ENTRIES } from '../domain/message/sweep-stuck';
import { type Env, optionalPositiveInt, positiveInt, required } from './config';

export interface SweepConfig {
  readonly tables: { readonly messages: string };
  readonly queues: { readonly send: string; readonly sendBulk: string };
  readonly messageRetentionDays: number;
  /** Records handled per run. @default 500 */
  readonly batchSize: number;
  /** `byPending` entries one walk reads (most belong to emails long sent: each is read once); a run walks again while time allows. @default 5000 */
  readonly entriesPerRun: number;
  /** Seconds past its deadline before a pending record counts as stuck. @default 900 */
  readonly graceSeconds: number;
}

/**
 * The sweeper's settings, read once at cold start: `TABLE_MESSAGES`, `SEND_QUEUE_URL`, `BULK_SEND_QUEUE_URL`,
 * `MESSAGE_RETENTION_DAYS`, optional `SWEEP_BATCH_SIZE` (500), `SWEEP_ENTRIES_PER_RUN` (5000) and
 * `SWEEP_GRACE_SECONDS` (900).
 * @throws ConfigError naming the missing or malformed variable.
 */
export function loadSweepConfig(env: Env = process.env): SweepConfig {
  return {
    tables: { messages: required(env, 'TABLE_MESSAGES') },
    queues: { send: required(env, 'SEND_QUEUE_URL'), sendBulk: required(env, 'BULK_SEND_QUEUE_URL') },
    messageRetentionDays: positiveInt(env, 'MESSAGE_RETENTION_DAYS'),
    batchSize: optionalPositiveInt(env, 'SWEEP_BATCH_SIZE', 500),
    entriesPerRun: optionalPositiveInt(env, 'SWEEP_ENTRIES_PER_RUN', DEFAULT_SWEEP_ENTRIES),
    graceSeconds: optionalPositiveInt(env, 'SWEEP_GRACE_SECONDS', 900),
  };
}
