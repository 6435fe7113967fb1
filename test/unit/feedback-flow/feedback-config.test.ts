import { DEFAULT_REPUTATION_CONFIG } from '../../../lambdas/domain/feedback/reputation-guard';
import { DEFAULT_SUPPRESSION_EXPIRY } from '../../../lambdas/domain/feedback/suppression-rules';
import { ConfigError } from '../../../lambdas/shared/config';
import { loadFeedbackConfig } from '../../../lambdas/shared/feedback-config';

const base = {
  TABLE_MESSAGES: 'tenant-mail-dev-messages',
  TABLE_SUPPRESSIONS: 'tenant-mail-dev-suppressions',
  TABLE_COUNTERS: 'tenant-mail-dev-counters',
  TABLE_TENANTS: 'tenant-mail-dev-tenants',
  FEEDBACK_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/tenant-mail-dev-feedback-dlq',
  MESSAGE_RETENTION_DAYS: '90',
  FEEDBACK_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:tenant-mail-dev-ses-events',
  ACCOUNT_ID: '123456789012',
  AWS_REGION: 'us-east-1',
  CONFIGURATION_SET_NAME: 'tenant-mail-dev',
};

describe('loadFeedbackConfig', () => {
  it('uses the documented defaults when only the required variables are set', () => {
    expect(loadFeedbackConfig(base)).toEqual({
      tables: {
        messages: base.TABLE_MESSAGES,
        suppressions: base.TABLE_SUPPRESSIONS,
        counters: base.TABLE_COUNTERS,
        tenants: base.TABLE_TENANTS,
      },
      feedbackDlqUrl: base.FEEDBACK_DLQ_URL,
      messageRetentionDays: 90,
      reputation: DEFAULT_REPUTATION_CONFIG,
      suppressionExpiry: DEFAULT_SUPPRESSION_EXPIRY,
      simulatorCountsTowardReputation: false,
      verifySignatures: false,
      trust: {
        topicArn: base.FEEDBACK_TOPIC_ARN,
        accountId: '123456789012',
        region: 'us-east-1',
        configurationSetName: 'tenant-mail-dev',
      },
    });
  });

  it('applies threshold, sample and expiry overrides', () => {
    const config = loadFeedbackConfig({
      ...base,
      REPUTATION_PAUSE_BOUNCE_RATE: '0.03',
      REPUTATION_WARN_BOUNCE_RATE: '0.02',
      REPUTATION_MINIMUM_SENDS: '500',
      SUPPRESSION_EXPIRY_DAYS_PERMANENT_BOUNCE: 'never',
      SUPPRESSION_EXPIRY_DAYS_RELAY_REJECTION: '30',
      REPUTATION_COUNT_SIMULATOR: 'true',
    });
    expect(config.reputation).toMatchObject({
      warnBounceRate: 0.02,
      pauseBounceRate: 0.03,
      minimumSends: 500,
    });
    expect(config.suppressionExpiry).toMatchObject({ PERMANENT_BOUNCE: null, RELAY_REJECTION: 30 });
    expect(config.simulatorCountsTowardReputation).toBe(true);
  });

  it('fails at cold start naming a missing variable or an invalid threshold', () => {
    const { FEEDBACK_DLQ_URL: _omitted, ...withoutDlq } = base;
    expect(() => loadFeedbackConfig(withoutDlq)).toThrow(
      new ConfigError('environment variable FEEDBACK_DLQ_URL is required'),
    );
    expect(() => loadFeedbackConfig({ ...base, REPUTATION_PAUSE_BOUNCE_RATE: '0.06' })).toThrow(
      /pauseBounceRate \(0\.06\) must be below SES's review level of 0\.05/,
    );
    expect(() => loadFeedbackConfig({ ...base, REPUTATION_MINIMUM_SENDS: 'many' })).toThrow(
      'environment variable REPUTATION_MINIMUM_SENDS must be a number',
    );
    expect(() => loadFeedbackConfig({ ...base, REPUTATION_COUNT_SIMULATOR: 'yes' })).toThrow(ConfigError);
  });
});
