import { ConfigError } from '../../../lambdas/shared/config';
import { loadDispatchConfig } from '../../../lambdas/shared/dispatch-config';

const env = {
  SERVED_ENVIRONMENTS: 'developer-sandbox,central-sandbox',
  MESSAGE_RETENTION_DAYS: '90',
  SEND_QUEUE_URL: 'https://sqs/send',
  BULK_SEND_QUEUE_URL: 'https://sqs/send-bulk',
  EVENTS_QUEUE_URL: 'https://sqs/events',
  EVENTS_DLQ_URL: 'https://sqs/events-dlq',
  TABLE_DEFINITIONS: 'tenant-mail-dev-definitions',
  TABLE_MESSAGES: 'tenant-mail-dev-messages',
};

describe('loadDispatchConfig', () => {
  it('reads every setting once, with a chunk of 500 and a 30 s definitions cache by default', () => {
    expect(loadDispatchConfig(env)).toEqual({
      servedEnvironments: ['developer-sandbox', 'central-sandbox'],
      messageRetentionDays: 90,
      maxItemsPerInvocation: 500,
      chunkSize: 50,
      renderBudgetMs: 20_000,
      safetyMarginMs: 15_000,
      renderLimitMs: 200,
      definitionsCacheTtlSeconds: 30,
      queues: {
        send: 'https://sqs/send',
        sendBulk: 'https://sqs/send-bulk',
        events: 'https://sqs/events',
        eventsDlq: 'https://sqs/events-dlq',
      },
      tables: { definitions: 'tenant-mail-dev-definitions', messages: 'tenant-mail-dev-messages' },
    });
  });

  it.each([
    [{ EVENTS_DLQ_URL: '' }, 'environment variable EVENTS_DLQ_URL is required'],
    [{ SERVED_ENVIRONMENTS: 'staging' }, 'SERVED_ENVIRONMENTS has unknown environment "staging"'],
    [
      { DISPATCH_MAX_ITEMS_PER_INVOCATION: '0' },
      'environment variable DISPATCH_MAX_ITEMS_PER_INVOCATION must be a whole number ≥ 1',
    ],
  ])('fails at cold start naming the bad variable (%o)', (patch, message) => {
    expect(() => loadDispatchConfig({ ...env, ...patch })).toThrow(new ConfigError(message));
  });
});
