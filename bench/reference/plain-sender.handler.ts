import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import MailComposer from 'nodemailer/lib/mail-composer';

/**
 * The benchmarks' peer, not product code: the plainest sender one would write with the same three AWS clients —
 * compose with nodemailer's MailComposer, send raw through SES v2, write one item per email. No ledger, no
 * pacing, no suppression, no validation library. The bundle benchmark measures tenant-mail's functions against
 * this one's size and cold start.
 */
const ses = new SESv2Client({});
const dynamodb = new DynamoDBClient({});
const table = process.env.TABLE_NAME ?? 'sent';

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      const email = JSON.parse(record.body) as { from: string; to: string[]; subject: string; text: string };
      const raw = await new MailComposer({ ...email }).compile().build();
      const sent = await ses.send(new SendEmailCommand({ Content: { Raw: { Data: raw } } }));
      await dynamodb.send(
        new PutItemCommand({
          TableName: table,
          Item: { id: { S: record.messageId }, sesMessageId: { S: sent.MessageId ?? '' } },
        }),
      );
    } catch {
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
