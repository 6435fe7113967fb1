import { sign } from 'node:crypto';
import {
  canonicalNotification,
  SnsSignatureVerifier,
} from '../../../lambdas/adapters/sns-signature-verifier';
import type { SnsNotificationEnvelope } from '../../../lambdas/domain/feedback/feedback-trust';
import { selfSignedRelayCertificate } from '../../../local/smtp/smtp-relay';

const CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-local-test.pem';

describe('SnsSignatureVerifier (a locally signed certificate standing in for SNS’s)', () => {
  let key: string;
  let cert: string;
  let fetches: string[];
  const verifier = () => {
    fetches = [];
    return new SnsSignatureVerifier('us-east-1', async (url) => {
      fetches.push(url);
      return cert;
    });
  };
  const signed = (
    version: '1' | '2',
    overrides: Partial<SnsNotificationEnvelope> = {},
  ): SnsNotificationEnvelope => {
    const envelope: SnsNotificationEnvelope = {
      Type: 'Notification',
      MessageId: '5b4c3d2e-0000-4000-8000-000000000001',
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:ses-feedback',
      Message: '{"eventType":"Delivery"}',
      Timestamp: '2026-12-01T00:00:00.000Z',
      SignatureVersion: version,
      SigningCertURL: CERT_URL,
      ...overrides,
    };
    const signature = sign(
      version === '1' ? 'sha1' : 'sha256',
      Buffer.from(canonicalNotification(envelope)),
      key,
    );
    return { ...envelope, Signature: signature.toString('base64') };
  };

  beforeAll(async () => {
    ({ key, cert } = await selfSignedRelayCertificate());
  });

  it('accepts SignatureVersion 1 and 2 and fetches each certificate once', async () => {
    const v = verifier();
    await expect(v.verify(signed('1'))).resolves.toBeUndefined();
    await expect(
      v.verify(signed('2', { Subject: 'Amazon SES Email Event Notification' })),
    ).resolves.toBeUndefined();
    expect(fetches).toEqual([CERT_URL]);
  });

  it.each([
    [
      'a changed Message',
      (e: SnsNotificationEnvelope) => ({ ...e, Message: '{"eventType":"Bounce"}' }),
      'does not verify',
    ],
    [
      'a changed TopicArn',
      (e: SnsNotificationEnvelope) => ({ ...e, TopicArn: 'arn:aws:sns:us-east-1:123456789012:other' }),
      'does not verify',
    ],
    ['a fake signature', (e: SnsNotificationEnvelope) => ({ ...e, Signature: 'EXAMPLE' }), 'does not verify'],
    [
      'a certificate from another host',
      (e: SnsNotificationEnvelope) => ({ ...e, SigningCertURL: 'https://attacker.example/sns.pem' }),
      'is not SNS in us-east-1',
    ],
    [
      'a certificate from SNS in another region',
      (e: SnsNotificationEnvelope) => ({ ...e, SigningCertURL: 'https://sns.eu-west-1.amazonaws.com/x.pem' }),
      'is not SNS in us-east-1',
    ],
    [
      'a certificate over plain HTTP',
      (e: SnsNotificationEnvelope) => ({ ...e, SigningCertURL: CERT_URL.replace('https', 'http') }),
      'is not SNS in us-east-1',
    ],
    [
      'an unknown SignatureVersion',
      (e: SnsNotificationEnvelope) => ({ ...e, SignatureVersion: '3' }),
      'unknown SignatureVersion',
    ],
  ])('refuses %s', async (_name, forge, reason) => {
    const v = verifier();
    await expect(v.verify(forge(signed('2')))).rejects.toMatchObject({
      code: 'FEEDBACK_BAD_SIGNATURE',
      message: expect.stringContaining(reason),
    });
    if (reason.includes('is not SNS')) expect(fetches).toEqual([]);
  });
});
