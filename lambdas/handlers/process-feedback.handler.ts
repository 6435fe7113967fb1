import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoMessageLedger } from '../adapters/message-ledger/dynamo-message-ledger';
import { DynamoReputationStore } from '../adapters/reputation-store';
import { SnsSignatureVerifier } from '../adapters/sns-signature-verifier';
import { DynamoSuppressionStore } from '../adapters/suppression-store';
import { DynamoTenantPauseStore } from '../adapters/tenant-pause-store';
import { loadFeedbackConfig } from '../shared/feedback-config';
import { createProcessFeedbackHandler, SqsFeedbackDeadLetters } from './process-feedback';

// Composition root: configuration and clients are created once per container, at cold start.
const config = loadFeedbackConfig();
const clock = { now: () => new Date() };
const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});

export const handler = createProcessFeedbackHandler({
  messages: new DynamoMessageLedger(documents, {
    tableName: config.tables.messages,
    retentionDays: config.messageRetentionDays,
    clock,
  }),
  suppressions: new DynamoSuppressionStore(documents, config.tables.suppressions),
  reputation: new DynamoReputationStore(documents, config.tables.counters, {
    retentionHours: Math.max(336, config.reputation.windowHours * 2),
  }),
  pauses: new DynamoTenantPauseStore(documents, config.tables.tenants, clock),
  deadLetters: new SqsFeedbackDeadLetters(new SQSClient({}), config.feedbackDlqUrl),
  ...(config.verifySignatures
    ? {
        signatures: new SnsSignatureVerifier(config.trust.region, async (url) => {
          const response = await fetch(url);
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          return response.text();
        }),
      }
    : {}),
  clock,
  settings: {
    reputation: config.reputation,
    suppressionExpiry: config.suppressionExpiry,
    simulatorCountsTowardReputation: config.simulatorCountsTowardReputation,
    trust: config.trust,
  },
});
