import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { matchesPattern } from '../../local/eventbridge/event-pattern';
import bouncedEvent from '../fixtures/events/bounced.status-event.json';
import { bouncesWebhookApp } from './readme/bounces-webhook';

const root = join(__dirname, '../..');
const snippetFile = readFileSync(join(__dirname, 'readme/bounces-webhook.ts'), 'utf8');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The lines between the markers, without the function's indentation. */
const snippet = (/\/\/ readme:start\n([\s\S]*?)\n\s*\/\/ readme:end/.exec(snippetFile)?.[1] ?? '')
  .split('\n')
  .map((line) => line.replace(/^ {2}/, ''))
  .join('\n');

describe("README: forwarding a tenant's bounces to an HTTPS webhook through an API destination", () => {
  const { stack } = bouncesWebhookApp();
  const template = Template.fromStack(stack);

  it('shows exactly the code this test synthesizes', () => {
    expect(snippet.length).toBeGreaterThan(200);
    expect(readme).toContain(snippet);
  });

  it('puts the rule on the tenant-mail.prod bus, for acme bounces, to the API destination with a DLQ', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: 'tenant-mail.prod',
      EventPattern: {
        source: ['tenant-mail'],
        'detail-type': ['Email Status Changed'],
        detail: { tenantId: ['acme'], status: ['BOUNCED'] },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AcmeBounceWebhook'), 'Arn'] },
          InputPath: '$.detail',
          RetryPolicy: { MaximumRetryAttempts: 24, MaximumEventAgeInSeconds: 86400 },
          DeadLetterConfig: {
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AcmeBounceWebhookDlq'), 'Arn'] },
          },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Events::ApiDestination', {
      InvocationEndpoint: 'https://hooks.acme.example/tenant-mail/bounces',
      HttpMethod: 'POST',
      InvocationRateLimitPerSecond: 10,
    });
    template.hasResourceProperties('AWS::Events::Connection', { AuthorizationType: 'API_KEY' });
  });

  it('has a pattern that matches the documented bounce event and nothing else', () => {
    const rule = Object.values(template.findResources('AWS::Events::Rule'))[0];
    const pattern = rule?.Properties.EventPattern as Record<string, unknown>;
    expect(matchesPattern(pattern, bouncedEvent)).toBe(true);
    expect(
      matchesPattern(pattern, { ...bouncedEvent, detail: { ...bouncedEvent.detail, status: 'SENT' } }),
    ).toBe(false);
  });
});
