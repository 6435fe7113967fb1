import { createVerify, X509Certificate } from 'node:crypto';
import {
  type EnvelopeVerifier,
  type SnsNotificationEnvelope,
  UntrustedFeedbackError,
} from '../domain/feedback/feedback-trust';

/** Fetches a PEM certificate by URL (the Lambda runtime's `fetch`; tests serve their own). */
export type CertificateFetcher = (url: string) => Promise<string>;

/** Only SNS itself serves signing certificates: `https://sns.<region>.amazonaws.com[.cn]/…pem`. */
const SNS_CERT_HOST = /^sns\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/**
 * Verifies SNS message signatures (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA) over the documented
 * canonical string of a Notification, with the certificate from `SigningCertURL` — accepted only from an SNS
 * host in this scope's region, fetched once per URL and cached.
 */
export class SnsSignatureVerifier implements EnvelopeVerifier {
  private readonly certificates = new Map<string, Promise<X509Certificate>>();

  constructor(
    private readonly region: string,
    private readonly fetchCertificate: CertificateFetcher,
  ) {}

  /** @throws UntrustedFeedbackError (`FEEDBACK_BAD_SIGNATURE`) naming what is wrong. */
  async verify(envelope: SnsNotificationEnvelope): Promise<void> {
    const fail = (why: string) =>
      new UntrustedFeedbackError('FEEDBACK_BAD_SIGNATURE', `SNS signature: ${why}`);
    const algorithm =
      envelope.SignatureVersion === '1'
        ? 'RSA-SHA1'
        : envelope.SignatureVersion === '2'
          ? 'RSA-SHA256'
          : undefined;
    if (!algorithm) throw fail(`unknown SignatureVersion ${JSON.stringify(envelope.SignatureVersion)}`);
    if (!envelope.Signature || !envelope.SigningCertURL) throw fail('no Signature or SigningCertURL');
    let url: URL;
    try {
      url = new URL(envelope.SigningCertURL);
    } catch {
      throw fail('SigningCertURL is not a URL');
    }
    const host = SNS_CERT_HOST.exec(url.hostname);
    if (url.protocol !== 'https:' || host?.[1] !== this.region) {
      throw fail(`certificate host ${url.hostname.slice(0, 100)} is not SNS in ${this.region}`);
    }
    let certificate: X509Certificate;
    try {
      certificate = await this.certificate(url.toString());
    } catch (error) {
      this.certificates.delete(url.toString());
      throw new UntrustedFeedbackError(
        'FEEDBACK_BAD_SIGNATURE',
        `SNS signature: certificate ${url.toString().slice(0, 200)} could not be read (${(error as Error).message})`,
      );
    }
    const verifier = createVerify(algorithm);
    verifier.update(canonicalNotification(envelope), 'utf8');
    if (!verifier.verify(certificate.publicKey, envelope.Signature, 'base64')) throw fail('does not verify');
  }

  private certificate(url: string): Promise<X509Certificate> {
    let cached = this.certificates.get(url);
    if (!cached) {
      cached = this.fetchCertificate(url).then((pem) => new X509Certificate(pem));
      this.certificates.set(url, cached);
    }
    return cached;
  }
}

/** The string SNS signs for a Notification: each present field's name and value on their own lines, in order. */
export function canonicalNotification(envelope: SnsNotificationEnvelope): string {
  const fields: [string, string | undefined][] = [
    ['Message', envelope.Message],
    ['MessageId', envelope.MessageId],
    ['Subject', envelope.Subject],
    ['Timestamp', envelope.Timestamp],
    ['TopicArn', envelope.TopicArn],
    ['Type', envelope.Type],
  ];
  return fields
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}\n${value}\n`)
    .join('');
}
