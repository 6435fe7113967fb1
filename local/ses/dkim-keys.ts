import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { dkimSign } from 'mailauth/lib/dkim/sign';
import type { LocalDnsServer } from '../dns/dns-server';

/** The host SES publishes Easy DKIM keys under: `<token>._domainkey.<domain> CNAME <token>.dkim.amazonses.com`. */
export const DKIM_KEY_HOST = 'dkim.amazonses.com';
/** The domain of the signature SES adds to every message. */
export const AMAZONSES_DOMAIN = 'amazonses.com';

export interface DkimKey {
  readonly privateKeyPem: string;
  /** Base64 SubjectPublicKeyInfo: the `p=` tag of the key record. */
  readonly publicKey: string;
  readonly bits: number;
}

export interface DkimSigner {
  readonly domain: string;
  readonly selector: string;
  readonly privateKeyPem: string;
}

/** An RSA key pair for DKIM. SES uses 2048 bits by default (RSA_2048_BIT). */
export function generateDkimKey(bits: number): DkimKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    bits,
  };
}

const TOKEN_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** A 32-character lower-case base32 token, the shape of SES's Easy DKIM tokens and selectors. */
export function newDkimToken(): string {
  return [...randomBytes(32)].map((byte) => TOKEN_ALPHABET[byte % 32]).join('');
}

/** The TXT value of a DKIM key record. */
export const dkimKeyRecord = (publicKey: string): string => `v=DKIM1; k=rsa; p=${publicKey}`;

/** Publishes the key of each Easy DKIM token at `<token>.dkim.amazonses.com`, as SES hosts them. */
export function publishTokenKeys(
  dns: LocalDnsServer | undefined,
  tokens: readonly string[],
  publicKey: string,
): void {
  for (const token of tokens) dns?.setRecords(`${token}.${DKIM_KEY_HOST}`, 'TXT', [dkimKeyRecord(publicKey)]);
}

export function unpublishTokenKeys(dns: LocalDnsServer | undefined, tokens: readonly string[]): void {
  for (const token of tokens) dns?.removeName(`${token}.${DKIM_KEY_HOST}`);
}

/**
 * Returns `raw` (a binary string, one char per byte) with one DKIM-Signature header per signer in front of it
 * (relaxed/relaxed, rsa-sha256, mailauth's default header list), the order SES uses: the sender domain's
 * signature, then amazonses.com. The signature covers the bytes, not a UTF-8 reading of them.
 */
export async function signMessage(raw: string, signers: readonly DkimSigner[]): Promise<string> {
  const [first] = signers;
  if (!first) return raw;
  const data = signers.map((signer) => ({
    signingDomain: signer.domain,
    selector: signer.selector,
    privateKey: signer.privateKeyPem,
  }));
  const result = await dkimSign(Buffer.from(raw, 'latin1'), {
    ...(data[0] as (typeof data)[number]),
    canonicalization: 'relaxed/relaxed',
    algorithm: 'rsa-sha256',
    signatureData: data,
  });
  if (result.errors.length > 0) {
    throw new Error(`DKIM signing failed: ${result.errors.map((entry) => String(entry.err)).join('; ')}`);
  }
  return `${result.signatures}${raw}`;
}
