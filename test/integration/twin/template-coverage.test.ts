import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SCOPES } from '../../../lambdas/domain/scope';
import { startLocalDnsServer } from '../../../local/dns/dns-server';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import { startSesEmulator } from '../../../local/ses';
import { synthScopeTemplates } from '../../../local/twin/cloud-assembly';
import { NOT_PROVISIONED, PROVISIONED_TYPES, provisionTemplates } from '../../../local/twin/provision';
import { testAws } from '../../support/env';

describe.each(SCOPES)('local twin coverage of the %s scope', (scope) => {
  const templates = synthScopeTemplates(scope);
  const resources = templates.flatMap((template) => Object.entries(template.Resources ?? {}));

  it('knows every resource type the templates declare: provisioned, or left out with a reason', () => {
    const unknown = resources
      .map(([, resource]) => resource.Type)
      .filter(
        (type) => !(PROVISIONED_TYPES as readonly string[]).includes(type) && !(type in NOT_PROVISIONED),
      );
    expect([...new Set(unknown)]).toEqual([]);
  });

  it('provisions every table, queue, topic, subscription and SES resource of the templates', async () => {
    const dns = await startLocalDnsServer();
    const ses = await startSesEmulator({ dns, dkimKeyBits: 1024 });
    const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const clients = {
      dynamodb: new DynamoDBClient(testAws.dynamodb),
      sqs: new SQSClient(testAws.sqs),
      sns: new SNSClient(testAws.sqs),
      ses: new SESv2Client({ ...aws, endpoint: ses.url }),
      dns,
    };
    try {
      const provisioned = await provisionTemplates(templates, clients);
      const expected = resources.filter(([, resource]) =>
        (PROVISIONED_TYPES as readonly string[]).includes(resource.Type),
      );
      expect(expected.length).toBeGreaterThan(10);
      for (const [logicalId, resource] of expected) {
        expect({ logicalId, type: provisioned.resources.get(logicalId)?.type }).toEqual({
          logicalId,
          type: resource.Type,
        });
      }
    } finally {
      clients.dynamodb.destroy();
      clients.sqs.destroy();
      clients.sns.destroy();
      clients.ses.destroy();
      await ses.stop();
      await dns.stop();
    }
  });

  it('can run every function with an event source: each names its handler and reads a provisioned queue or table stream', () => {
    const mappings = resources.filter(([, resource]) => resource.Type === 'AWS::Lambda::EventSourceMapping');
    expect(mappings.length).toBeGreaterThanOrEqual(2);
    for (const [, mapping] of mappings) {
      const props = mapping.Properties ?? {};
      const functionId = (props.FunctionName as { Ref: string }).Ref;
      const fn = resources.find(([id]) => id === functionId)?.[1] as
        | { Metadata?: Record<string, unknown> }
        | undefined;
      expect(fn?.Metadata?.['tenant-mail:handler']).toEqual(expect.stringMatching(/\.handler\.ts$/));
      if (props.StartingPosition !== undefined) {
        // A stream: the stateful stack's table exports its StreamArn, which the provisioner resolves.
        const name = (props.EventSourceArn as { 'Fn::ImportValue': string })['Fn::ImportValue'];
        const exported = templates
          .flatMap((t) => Object.values(t.Outputs ?? {}))
          .find((o) => o.Export?.Name === name);
        expect(exported).toBeDefined();
        const value = exported?.Value as { 'Fn::GetAtt': [string, string] } | undefined;
        const [tableId, attribute] = value?.['Fn::GetAtt'] ?? [];
        expect(attribute).toBe('StreamArn');
        expect(resources.find(([id]) => id === tableId)?.[1].Type).toBe('AWS::DynamoDB::Table');
        continue;
      }
      const queueId = (props.EventSourceArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      expect(resources.find(([id]) => id === queueId)?.[1].Type).toBe('AWS::SQS::Queue');
    }
  });
});
