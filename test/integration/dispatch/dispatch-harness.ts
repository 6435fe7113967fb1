import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { BatchGetCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { DynamoDefinitionStore } from '../../../lambdas/adapters/definition-store';
import { DynamoMessageLedger } from '../../../lambdas/adapters/message-ledger/dynamo-message-ledger';
import { SqsEventsQueue } from '../../../lambdas/adapters/sqs-events-queue';
import { SqsSendLanes } from '../../../lambdas/adapters/sqs-send-lanes';
import {
  DEFAULT_DISPATCH_LIMITS,
  type DispatchDeps,
} from '../../../lambdas/domain/notifications/dispatch-events';
import { TemplateRenderer } from '../../../lambdas/domain/notifications/template-renderer';
import type { SendRequest } from '../../../lambdas/domain/sending/send-request';
import { sqsEvent as twinSqsEvent } from '../../../local/twin/sqs-poller';
import { testAws, testStack } from '../../support/env';

export const documents = DynamoDBDocumentClient.from(new DynamoDBClient(testAws.dynamodb), {
  marshallOptions: { removeUndefinedValues: true },
});
export const sqs = new SQSClient(testAws.sqs);

/** The dev scope serves these; the documented examples (production) are rewritten to the first. */
export const TEST_ENVIRONMENT = 'developer-sandbox';

/** Queues of one test file, named like the stack's, so parallel test files never consume each other's messages. */
export interface DispatchQueues {
  readonly events: string;
  readonly eventsDlq: string;
  readonly send: string;
  readonly sendBulk: string;
}

export async function createDispatchQueues(prefix: string): Promise<DispatchQueues> {
  const create = async (name: string) => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-${name}` }));
    if (!QueueUrl) throw new Error(`queue ${prefix}-${name} not created`);
    return QueueUrl;
  };
  return {
    events: await create('events'),
    eventsDlq: await create('events-dlq'),
    send: await create('send'),
    sendBulk: await create('send-bulk'),
  };
}

export async function deleteDispatchQueues(queues: DispatchQueues): Promise<void> {
  for (const url of Object.values(queues)) await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
}

export const definitionStore = new DynamoDefinitionStore({
  client: documents,
  tableName: testStack.table('definitions'),
  cacheTtlSeconds: 0,
});

export const ledger = new DynamoMessageLedger(documents, {
  tableName: testStack.table('messages'),
  retentionDays: 30,
});

/** The dispatcher wired as `dispatch-events.handler.ts` wires it, on the emulators and this file's queues. */
export function dispatchDeps(
  queues: DispatchQueues,
  overrides: Partial<DispatchDeps> & { maxItemsPerInvocation?: number } = {},
): DispatchDeps {
  const { maxItemsPerInvocation, ...rest } = overrides;
  return {
    definitions: definitionStore,
    renderer: new TemplateRenderer(),
    ledger,
    lanes: new SqsSendLanes(sqs, {
      queueUrls: { transactional: queues.send, bulk: queues.sendBulk },
    }),
    eventsQueue: new SqsEventsQueue(sqs, {
      eventsQueueUrl: queues.events,
      deadLetterQueueUrl: queues.eventsDlq,
    }),
    settings: {
      servedEnvironments: ['developer-sandbox', 'central-sandbox'],
      ...DEFAULT_DISPATCH_LIMITS,
      maxItemsPerInvocation: maxItemsPerInvocation ?? 500,
    },
    ...rest,
  };
}

/** Receives and deletes every message on a queue. */
export async function drainQueue(queueUrl: string): Promise<Message[]> {
  const out: Message[] = [];
  let idle = 0;
  while (idle < 2) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) {
      idle++;
      continue;
    }
    idle = 0;
    out.push(...Messages);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  return out;
}

/** Send requests on a lane, drained. */
export async function drainRequests(queueUrl: string): Promise<SendRequest[]> {
  return (await drainQueue(queueUrl)).map((m) => JSON.parse(m.Body ?? '{}') as SendRequest);
}

export async function queueDepth(queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

/** Every message record of a tenant, whole: ids from the `byTenant` index, then the records themselves. */
export async function recordsOf(tenantId: string): Promise<Record<string, unknown>[]> {
  const ids: string[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new QueryCommand({
        TableName: testStack.table('messages'),
        IndexName: 'byTenant',
        KeyConditionExpression: 'tenantId = :t',
        ExpressionAttributeValues: { ':t': tenantId },
        ProjectionExpression: 'messageId',
        ExclusiveStartKey,
      }),
    );
    ids.push(...(page.Items ?? []).map((item) => String(item.messageId)));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  const out: Record<string, unknown>[] = [];
  for (let start = 0; start < ids.length; start += 100) {
    let keys: Record<string, unknown>[] = ids.slice(start, start + 100).map((messageId) => ({ messageId }));
    while (keys.length > 0) {
      const table = testStack.table('messages');
      const page = await documents.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }),
      );
      out.push(...(page.Responses?.[table] ?? []));
      keys = page.UnprocessedKeys?.[table]?.Keys ?? [];
    }
  }
  return out;
}

const fixtureDir = join(__dirname, '../../fixtures/events');

/** A documented example fixture, moved to `tenantId` and the test environment. */
export function fixture(name: string, tenantId: string): Record<string, unknown> {
  const value = JSON.parse(readFileSync(join(fixtureDir, name), 'utf8')) as Record<string, unknown>;
  if ('specversion' in value) return { ...value, tenantid: tenantId, environment: TEST_ENVIRONMENT };
  if ('definitionId' in value) return { ...value, tenantId, environment: TEST_ENVIRONMENT };
  if ('idempotencyKey' in value) return { ...value, tenantId, environment: TEST_ENVIRONMENT };
  return { ...value, tenantId };
}

export function readExpected(name: string): unknown {
  return JSON.parse(readFileSync(join(fixtureDir, name), 'utf8'));
}

/** An SQS event of one record, as Lambda's event source mapping would deliver `body`. */
export function sqsEvent(body: string, messageId: string = crypto.randomUUID()): SQSEvent {
  return twinSqsEvent({ body, messageId, queueArn: 'arn:aws:sqs:local:events' });
}

/** A bill-run event with `count` invoices, each to its own simulator address. */
export function billRun(tenantId: string, id: string, count: number, start = 0): Record<string, unknown> {
  return {
    specversion: '1.0',
    id,
    source: 'https://billing.platform.example/tests',
    type: 'com.tenantmail.bill-run.completed',
    time: '2025-03-01T06:00:00Z',
    tenantid: tenantId,
    environment: TEST_ENVIRONMENT,
    data: {
      billRunId: id,
      targetDate: '2025-03-01',
      invoices: Array.from({ length: count }, (_, i) => ({
        invoiceId: `i${start + i}`,
        invoiceNumber: `N${start + i}`,
        accountId: `a${start + i}`,
        invoiceDate: '2025-03-01',
        dueDate: '2025-03-31',
        currency: 'EUR',
        amount: '1.00',
        billTo: { email: `success+${start + i}@simulator.amazonses.com` },
      })),
    },
  };
}

/** A minimal bill-run definition and template for `tenantId` (one email per invoice, bulk lane). */
export async function seedBillRunDefinition(tenantId: string): Promise<void> {
  await definitionStore.putTemplate({
    tenantId,
    templateId: 'invoice',
    subject: 'Invoice {{ item.invoiceNumber }}',
    text: 'Invoice {{ item.invoiceNumber }}: {{ item.amount }} {{ item.currency }}',
  });
  await definitionStore.putDefinition({
    tenantId,
    environment: TEST_ENVIRONMENT,
    definitionId: 'bill-run-invoices',
    eventType: 'com.tenantmail.bill-run.completed',
    forEach: { items: '$.invoices', key: '$.invoiceId' },
    templateId: 'invoice',
    to: ['$.billTo'],
    category: 'bulk',
    active: true,
  });
}
