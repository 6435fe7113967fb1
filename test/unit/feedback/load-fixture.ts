import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MESSAGE_TAG } from '../../../lambdas/domain/feedback/feedback-event';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'ses-feedback');

/** Names of every SES feedback fixture file. */
export function fixtureNames(): string[] {
  return readdirSync(FIXTURES).filter((name) => name.endsWith('.json'));
}

/** The raw text of a fixture, as a queue message body would carry it. */
export function fixtureText(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

export type Json = Record<string, unknown>;

/** A fixture as an object, optionally with our correlation tags added to `mail.tags`. */
export function fixture(
  name: string,
  tags?: { messageId?: string; tenantId?: string; environment?: string },
): Json {
  const value = JSON.parse(fixtureText(name)) as Json;
  if (tags) {
    const mail = value.mail as Json;
    const existing = (mail.tags ?? {}) as Record<string, string[]>;
    mail.tags = {
      ...existing,
      ...(tags.messageId ? { [MESSAGE_TAG.messageId]: [tags.messageId] } : {}),
      ...(tags.tenantId ? { [MESSAGE_TAG.tenantId]: [tags.tenantId] } : {}),
      ...(tags.environment ? { [MESSAGE_TAG.environment]: [tags.environment] } : {}),
    };
  }
  return value;
}

/** Wraps an SES record in the SNS notification envelope SQS receives without raw message delivery. */
export function snsEnvelope(record: Json): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: '5b4c3d2e-0000-4000-8000-000000000001',
    TopicArn: 'arn:aws:sns:us-east-1:123456789012:ses-feedback',
    Message: JSON.stringify(record),
    Timestamp: '2017-08-05T00:41:03.000Z',
    SignatureVersion: '1',
    Signature: 'EXAMPLE',
    SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem',
    UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
  });
}
