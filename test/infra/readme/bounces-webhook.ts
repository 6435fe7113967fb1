import { App, Duration, SecretValue, Stack } from 'aws-cdk-lib';
import {
  ApiDestination,
  Authorization,
  Connection,
  HttpMethod,
  Rule,
  RuleTargetInput,
} from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { importStatusEventBus, statusEventPattern } from '../../../lib/constructs/status-event-bus';

/**
 * The README's "forward a tenant's bounces to a webhook" example, verbatim between the markers:
 * `test/infra/status-events-readme.test.ts` checks the README shows exactly these lines and synthesizes them.
 */
export function bouncesWebhookApp(): { app: App; stack: Stack } {
  const app = new App();
  // readme:start
  // A platform stack in the prod scope's account and region.
  const stack = new Stack(app, 'PlatformWebhooks', { env: { account: '111122223333', region: 'eu-west-1' } });
  const connection = new Connection(stack, 'AcmeWebhookAuth', {
    authorization: Authorization.apiKey('x-api-key', SecretValue.secretsManager('acme/webhook-api-key')),
  });
  const webhook = new ApiDestination(stack, 'AcmeBounceWebhook', {
    connection,
    endpoint: 'https://hooks.acme.example/tenant-mail/bounces',
    httpMethod: HttpMethod.POST,
    rateLimitPerSecond: 10,
  });
  new Rule(stack, 'AcmeBouncesToWebhook', {
    eventBus: importStatusEventBus(stack, 'TenantMailProdBus', 'prod'), // tenant-mail.prod
    eventPattern: statusEventPattern({ tenantIds: ['acme'], statuses: ['BOUNCED'] }),
    targets: [
      new targets.ApiDestination(webhook, {
        event: RuleTargetInput.fromEventPath('$.detail'), // the webhook receives the detail only
        retryAttempts: 24,
        maxEventAge: Duration.hours(24),
        deadLetterQueue: new Queue(stack, 'AcmeBounceWebhookDlq', { enforceSSL: true }),
      }),
    ],
  });
  // readme:end
  return { app, stack };
}
