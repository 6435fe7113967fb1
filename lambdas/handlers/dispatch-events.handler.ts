import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDefinitionStore } from '../adapters/definition-store';
import { DynamoMessageLedger } from '../adapters/message-ledger/dynamo-message-ledger';
import { SqsEventsQueue } from '../adapters/sqs-events-queue';
import { SqsSendLanes } from '../adapters/sqs-send-lanes';
import { TemplateRenderer } from '../domain/notifications/template-renderer';
import { loadDispatchConfig } from '../shared/dispatch-config';
import { createDispatchEventsHandler } from './dispatch-events';

// Composition root: configuration, clients and the template cache are created once per container.
const config = loadDispatchConfig();
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
const sqs = new SQSClient({});

export const handler = createDispatchEventsHandler({
  definitions: new DynamoDefinitionStore({
    client: documents,
    tableName: config.tables.definitions,
    cacheTtlSeconds: config.definitionsCacheTtlSeconds,
  }),
  renderer: new TemplateRenderer({ renderLimitMs: config.renderLimitMs }),
  ledger: new DynamoMessageLedger(documents, {
    tableName: config.tables.messages,
    retentionDays: config.messageRetentionDays,
  }),
  lanes: new SqsSendLanes(sqs, {
    queueUrls: { transactional: config.queues.send, bulk: config.queues.sendBulk },
  }),
  eventsQueue: new SqsEventsQueue(sqs, {
    eventsQueueUrl: config.queues.events,
    deadLetterQueueUrl: config.queues.eventsDlq,
  }),
  settings: {
    servedEnvironments: config.servedEnvironments,
    maxItemsPerInvocation: config.maxItemsPerInvocation,
    chunkSize: config.chunkSize,
    renderBudgetMs: config.renderBudgetMs,
    safetyMarginMs: config.safetyMarginMs,
  },
});
