import type { FeedbackTrust } from '../domain/feedback/feedback-trust';
import {
  InvalidReputationConfigError,
  type ReputationConfig,
  reputationConfig,
} from '../domain/feedback/reputation-guard';
import {
  InvalidSuppressionPolicyError,
  SUPPRESSION_REASONS,
  type SuppressionExpiryPolicy,
  suppressionExpiryPolicy,
} from '../domain/feedback/suppression-rules';
import { ConfigError, type Env, positiveInt, required } from './config';

export interface FeedbackConfig {
  readonly tables: {
    readonly messages: string;
    readonly suppressions: string;
    readonly counters: string;
    readonly tenants: string;
  };
  /** The feedback queue's dead-letter queue: malformed feedback goes there with a `reason` attribute. */
  readonly feedbackDlqUrl: string;
  /** Days a message record is kept (the ledger's TTL). */
  readonly messageRetentionDays: number;
  readonly reputation: ReputationConfig;
  readonly suppressionExpiry: SuppressionExpiryPolicy;
  readonly simulatorCountsTowardReputation: boolean;
  readonly trust: FeedbackTrust;
  /** Verify SNS signatures (certificates fetched from SNS over HTTPS). @default false */
  readonly verifySignatures: boolean;
}

function optionalNumber(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new ConfigError(`environment variable ${name} must be a number`);
  return value;
}

function optionalBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'true' && raw !== 'false')
    throw new ConfigError(`environment variable ${name} must be true or false`);
  return raw === 'true';
}

/** `REPUTATION_*` overrides, named after the `ReputationConfig` fields they set. */
const REPUTATION_VARIABLES = {
  warnBounceRate: 'REPUTATION_WARN_BOUNCE_RATE',
  pauseBounceRate: 'REPUTATION_PAUSE_BOUNCE_RATE',
  warnComplaintRate: 'REPUTATION_WARN_COMPLAINT_RATE',
  pauseComplaintRate: 'REPUTATION_PAUSE_COMPLAINT_RATE',
  minimumSends: 'REPUTATION_MINIMUM_SENDS',
  windowHours: 'REPUTATION_WINDOW_HOURS',
} as const satisfies Record<keyof ReputationConfig, string>;

/**
 * Settings of the feedback Lambda, read once at cold start.
 * Required: `TABLE_MESSAGES`, `TABLE_SUPPRESSIONS`, `TABLE_COUNTERS`, `TABLE_TENANTS`, `FEEDBACK_DLQ_URL`,
 * `MESSAGE_RETENTION_DAYS`, and what genuine feedback looks like: `FEEDBACK_TOPIC_ARN`, `ACCOUNT_ID`,
 * `AWS_REGION` (set by Lambda), `CONFIGURATION_SET_NAME`.
 * Optional (defaults in `DEFAULT_REPUTATION_CONFIG` / `DEFAULT_SUPPRESSION_EXPIRY`): `REPUTATION_WARN_BOUNCE_RATE`,
 * `REPUTATION_PAUSE_BOUNCE_RATE`, `REPUTATION_WARN_COMPLAINT_RATE`, `REPUTATION_PAUSE_COMPLAINT_RATE` (fractions,
 * e.g. 0.04), `REPUTATION_MINIMUM_SENDS`, `REPUTATION_WINDOW_HOURS`, `SUPPRESSION_EXPIRY_DAYS_<REASON>` (days or
 * `never`), `REPUTATION_COUNT_SIMULATOR` (false).
 * @throws ConfigError naming the missing or malformed variable.
 */
export function loadFeedbackConfig(env: Env = process.env): FeedbackConfig {
  const overrides: Partial<Record<keyof ReputationConfig, number>> = {};
  for (const [field, name] of Object.entries(REPUTATION_VARIABLES) as [keyof ReputationConfig, string][]) {
    const value = optionalNumber(env, name);
    if (value !== undefined) overrides[field] = value;
  }
  const expiry: Partial<Record<(typeof SUPPRESSION_REASONS)[number], number | null>> = {};
  for (const reason of SUPPRESSION_REASONS) {
    const name = `SUPPRESSION_EXPIRY_DAYS_${reason}`;
    if (env[name] === 'never') expiry[reason] = null;
    else {
      const days = optionalNumber(env, name);
      if (days !== undefined) expiry[reason] = days;
    }
  }
  let reputation: ReputationConfig;
  let suppressionExpiry: SuppressionExpiryPolicy;
  try {
    reputation = reputationConfig(overrides);
    suppressionExpiry = suppressionExpiryPolicy(expiry);
  } catch (error) {
    if (error instanceof InvalidReputationConfigError || error instanceof InvalidSuppressionPolicyError) {
      throw new ConfigError(`feedback settings: ${error.message}`);
    }
    throw error;
  }
  return {
    tables: {
      messages: required(env, 'TABLE_MESSAGES'),
      suppressions: required(env, 'TABLE_SUPPRESSIONS'),
      counters: required(env, 'TABLE_COUNTERS'),
      tenants: required(env, 'TABLE_TENANTS'),
    },
    feedbackDlqUrl: required(env, 'FEEDBACK_DLQ_URL'),
    messageRetentionDays: positiveInt(env, 'MESSAGE_RETENTION_DAYS'),
    reputation,
    suppressionExpiry,
    simulatorCountsTowardReputation: optionalBoolean(env, 'REPUTATION_COUNT_SIMULATOR', false),
    verifySignatures: optionalBoolean(env, 'FEEDBACK_VERIFY_SIGNATURES', false),
    trust: {
      topicArn: required(env, 'FEEDBACK_TOPIC_ARN'),
      accountId: required(env, 'ACCOUNT_ID'),
      region: required(env, 'AWS_REGION'),
      configurationSetName: required(env, 'CONFIGURATION_SET_NAME'),
    },
  };
}
