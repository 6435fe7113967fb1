import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  type SendMessageBatchCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { SqsSendLanes } from '../../../lambdas/adapters/sqs-send-lanes';
import { addressableQueueUrl } from '../../../local/twin/provision';
import { testAws } from '../../support/env';

/**
 * What the twin cannot show: fauxqs ignores `MessageGroupId` on standard queues, so SQS fair-queue delivery
 * (a quiet tenant's messages ahead of a noisy tenant's backlog on the same queue) happens only on AWS. What the
 * product controls, and this test holds it to, is the input fair queues need: every message on a lane carries
 * its tenant as `MessageGroupId` (AWS: "Fair queues identify tenants by the MessageGroupId property on each
 * message"). The requests are observed on a real SDK client talking to fauxqs, after serialization.
 */
describe('send lanes feed SQS fair queues', () => {
  const run = `${Date.now().toString(36)}-${process.pid}`;
  const sent: SendMessageBatchCommandInput[] = [];
  const sqs = new SQSClient(testAws.sqs);
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'SendMessageBatchCommand')
        sent.push(args.input as SendMessageBatchCommandInput);
      return next(args);
    },
    { step: 'initialize', name: 'recordSendMessageBatch' },
  );
  const urls: string[] = [];

  afterAll(async () => {
    for (const url of urls) await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    sqs.destroy();
  });

  it('sends every lane message with MessageGroupId = its tenant, on both lanes', async () => {
    for (const name of ['send', 'send-bulk']) {
      const { QueueUrl = '' } = await sqs.send(
        new CreateQueueCommand({ QueueName: `groups-${name}-${run}` }),
      );
      urls.push(addressableQueueUrl(QueueUrl, String(testAws.sqs.endpoint)));
    }
    const [transactional = '', bulk = ''] = urls;
    const lanes = new SqsSendLanes(sqs, { queueUrls: { transactional, bulk } });
    const messages = [
      ...Array.from({ length: 25 }, (_, i) => ({
        messageId: `a-${i}`,
        tenantId: 'tenant-a',
        category: 'bulk' as const,
        body: JSON.stringify({ n: i }),
      })),
      { messageId: 'b-1', tenantId: 'tenant-b', category: 'bulk' as const, body: '{"b":1}' },
      { messageId: 'b-2', tenantId: 'tenant-b', category: 'transactional' as const, body: '{"b":2}' },
    ];
    const result = await lanes.publish(messages);
    expect([...result.sent].sort()).toEqual(messages.map((m) => m.messageId).sort());

    const groupsByBody = new Map(
      sent.flatMap((batch) =>
        (batch.Entries ?? []).map((entry) => [entry.MessageBody, entry.MessageGroupId]),
      ),
    );
    for (const message of messages) expect(groupsByBody.get(message.body)).toBe(message.tenantId);
    const depth = async (url: string) =>
      Number(
        (
          await sqs.send(
            new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
          )
        ).Attributes?.ApproximateNumberOfMessages,
      );
    expect([await depth(transactional), await depth(bulk)]).toEqual([1, 26]);
  });
});
