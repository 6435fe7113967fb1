import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SecretsManagerSecretStore } from '../adapters/secrets/secrets-manager-secret-store';
import { NodemailerRelaySender } from '../adapters/smtp/nodemailer-relay-sender';
import { loadSenderConfig } from '../shared/config';
import { createSendEmailHandler } from './send-email';
import { SENDER_SES_CLIENT_CONFIG, senderDeps } from './send-email.deps';

// Composition root: configuration and clients are created once per container, at cold start.
export const handler = createSendEmailHandler(
  senderDeps(loadSenderConfig(), {
    documents: DynamoDBDocumentClient.from(new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    ses: new SESv2Client(SENDER_SES_CLIENT_CONFIG),
    sqs: new SQSClient({}),
    relay: new NodemailerRelaySender({
      secrets: new SecretsManagerSecretStore({ client: new SecretsManagerClient({}) }),
    }),
  }),
);
