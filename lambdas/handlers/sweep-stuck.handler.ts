import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoMessageLedger } from '../adapters/message-ledger/dynamo-message-ledger';
import { SqsLaneDepth } from '../adapters/sqs-lane-depth';
import { SqsSendLanes } from '../adapters/sqs-send-lanes';
import { loadSweepConfig } from '../shared/sweep-config';
import { createSweepStuckHandler } from './sweep-stuck';

// Composition root: configuration and clients are created once per container, at cold start.
const config = loadSweepConfig();
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
const sqs = new SQSClient({});
const queueUrls = { transactional: config.queues.send, bulk: config.queues.sendBulk };

export const handler = createSweepStuckHandler({
  ledger: new DynamoMessageLedger(documents, {
    tableName: config.tables.messages,
    retentionDays: config.messageRetentionDays,
    sweepGraceSeconds: config.graceSeconds,
  }),
  lanes: new SqsSendLanes(sqs, { queueUrls }),
  depth: new SqsLaneDepth(sqs, queueUrls),
  clock: { now: () => new Date() },
  settings: {
    batchSize: config.batchSize,
    entriesPerRun: config.entriesPerRun,
    postponeSeconds: config.graceSeconds,
  },
});
