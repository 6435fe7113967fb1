import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LazyRelaySender } from '../adapters/smtp/lazy-relay-sender';
import { loadSenderConfig } from '../shared/config';
import { createSendEmailHandler } from './send-email';
import { SENDER_SES_CLIENT_CONFIG, senderDeps } from './send-email.deps';

// Composition root: configuration and clients are created once per container, at cold start. The relay transport
// (nodemailer's SMTP client and the Secrets Manager store of relay passwords) is a file of its own, required at the
// first external-smtp send of the container; the SQS client of the send lanes is too (`send-email.lanes`), required
// at the first deferral (send-email.deps.ts).
export const handler = createSendEmailHandler(
  senderDeps(loadSenderConfig(), {
    documents: DynamoDBDocumentClient.from(new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    ses: new SESv2Client(SENDER_SES_CLIENT_CONFIG),
    relay: new LazyRelaySender(() =>
      (require('./send-email.relay') as typeof import('./send-email.relay')).createRelaySender(),
    ),
  }),
);
