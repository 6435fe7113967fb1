import { randomBytes } from 'node:crypto';
import { domainToASCII } from 'node:url';
import { alreadyExists, badRequest, notFound } from './api-errors';
import { generateDkimKey, newDkimToken, publishTokenKeys, unpublishTokenKeys } from './dkim-keys';
import type { EmulatorContext } from './emulator-context';
import type { IdentityRecord, StoredMessage, VerificationStatus } from './emulator-store';
import type { ApiRequest, ApiResponse } from './http-router';
import { composeSimple } from './mime-message';
import {
  epochSeconds,
  optionalObject,
  optionalString,
  paginate,
  requiredString,
  tagList,
} from './request-fields';

const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const DOMAIN_PATTERN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

/** Lower-cases, converts an IDN domain to punycode and drops a trailing dot, as SES compares identities. */
export function normaliseIdentity(raw: string): string {
  const value = raw.trim().replace(/\.$/, '');
  const at = value.lastIndexOf('@');
  if (at === -1) return domainToASCII(value.toLowerCase()) || value.toLowerCase();
  const domain = domainToASCII(value.slice(at + 1).toLowerCase()) || value.slice(at + 1).toLowerCase();
  return `${value.slice(0, at).toLowerCase()}@${domain}`;
}

function findIdentity(ctx: EmulatorContext, raw: string): IdentityRecord {
  const identity = ctx.store.identities.get(normaliseIdentity(raw));
  if (!identity) throw notFound(`Email identity ${raw} does not exist.`);
  return identity;
}

export async function createEmailIdentity(ctx: EmulatorContext, request: ApiRequest): Promise<ApiResponse> {
  const given = requiredString(request.body, 'EmailIdentity');
  const name = normaliseIdentity(given);
  const type = name.includes('@') ? 'EMAIL_ADDRESS' : 'DOMAIN';
  if (type === 'EMAIL_ADDRESS' ? !EMAIL_PATTERN.test(name) : !DOMAIN_PATTERN.test(name)) {
    throw badRequest(`Invalid email identity: ${given}.`);
  }
  if (ctx.store.identities.has(name)) throw alreadyExists(`Email identity ${given} already exists.`);
  const signing = optionalObject(request.body, 'DkimSigningAttributes');
  if (signing?.DomainSigningPrivateKey !== undefined) {
    throw badRequest(
      'Bring-your-own DKIM (DomainSigningPrivateKey) is not supported by the local SES emulator.',
    );
  }
  const configurationSetName = optionalString(request.body, 'ConfigurationSetName');
  if (configurationSetName && !ctx.store.configurationSets.has(configurationSetName)) {
    throw notFound(`Configuration set ${configurationSetName} does not exist.`);
  }
  const now = ctx.now();
  const identity: IdentityRecord = {
    name,
    type,
    createdAt: now,
    verificationStatus: 'PENDING',
    tags: tagList(request.body),
    ...(configurationSetName ? { configurationSetName } : {}),
  };
  if (type === 'DOMAIN') {
    const requested = optionalString(signing ?? {}, 'NextSigningKeyLength');
    const bits = requested === 'RSA_1024_BIT' ? 1024 : requested === 'RSA_2048_BIT' ? 2048 : ctx.dkimKeyBits;
    const key = generateDkimKey(bits);
    const tokens = [newDkimToken(), newDkimToken(), newDkimToken()];
    identity.dkim = {
      tokens,
      status: 'PENDING',
      privateKeyPem: key.privateKeyPem,
      publicKey: key.publicKey,
      keyBits: bits,
      keyCreatedAt: now,
      signingEnabled: true,
    };
    publishTokenKeys(ctx.dns, tokens, key.publicKey);
  } else {
    identity.verificationToken = randomBytes(16).toString('hex');
    ctx.store.addMessage(await verificationMessage(ctx, identity));
  }
  ctx.store.putIdentity(identity);
  await refreshDomainIdentity(ctx, identity);
  return {
    json: {
      IdentityType: identity.type,
      VerifiedForSendingStatus: verifiedForSending(identity),
      DkimAttributes: dkimAttributes(identity),
    },
  };
}

export async function getEmailIdentity(ctx: EmulatorContext, request: ApiRequest): Promise<ApiResponse> {
  const identity = findIdentity(ctx, request.params.EmailIdentity ?? '');
  await refreshIdentity(ctx, identity, { recheckVerified: true });
  return {
    json: {
      IdentityType: identity.type,
      FeedbackForwardingStatus: true,
      VerifiedForSendingStatus: verifiedForSending(identity),
      DkimAttributes: dkimAttributes(identity),
      MailFromAttributes: {
        MailFromDomain: '',
        MailFromDomainStatus: 'FAILED',
        BehaviorOnMxFailure: 'USE_DEFAULT_VALUE',
      },
      Policies: {},
      Tags: identity.tags,
      ...(identity.configurationSetName ? { ConfigurationSetName: identity.configurationSetName } : {}),
      VerificationStatus: identity.verificationStatus,
      VerificationInfo: identity.lastCheckedAt
        ? {
            LastCheckedTimestamp: epochSeconds(identity.lastCheckedAt),
            ...(identity.lastSuccessAt ? { LastSuccessTimestamp: epochSeconds(identity.lastSuccessAt) } : {}),
          }
        : {},
    },
  };
}

export async function listEmailIdentities(ctx: EmulatorContext, request: ApiRequest): Promise<ApiResponse> {
  await refreshAllIdentities(ctx);
  const nextToken = optionalString(request.body, 'NextToken') ?? request.query.get('NextToken') ?? undefined;
  const pageSize = Number(request.body.PageSize ?? request.query.get('PageSize') ?? 0) || undefined;
  const identities = [...ctx.store.identities.values()].sort((a, b) => a.name.localeCompare(b.name));
  const { page, ...rest } = paginate(identities, nextToken, pageSize);
  return {
    json: {
      EmailIdentities: page.map((identity) => ({
        IdentityType: identity.type,
        IdentityName: identity.name,
        SendingEnabled: true,
        VerificationStatus: identity.verificationStatus,
      })),
      ...rest,
    },
  };
}

export function deleteEmailIdentity(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const identity = findIdentity(ctx, request.params.EmailIdentity ?? '');
  if (identity.dkim) unpublishTokenKeys(ctx.dns, identity.dkim.tokens);
  ctx.store.deleteIdentity(identity.name);
  return { json: {} };
}

/** `PUT /v2/email/identities/{EmailIdentity}/dkim`: turns the domain signature on or off. */
export function putEmailIdentityDkimAttributes(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const identity = findIdentity(ctx, request.params.EmailIdentity ?? '');
  const enabled = request.body.SigningEnabled;
  if (identity.dkim && typeof enabled === 'boolean') identity.dkim.signingEnabled = enabled;
  ctx.store.identityChanged(identity);
  return { json: {} };
}

/** SES stops looking for a new domain's DKIM CNAMEs after 72 hours, and for restored ones after 72 hours. */
export const DKIM_SEARCH_WINDOW_MS = 72 * 3_600_000;
/** SES's email verification link works for 24 hours. */
export const EMAIL_LINK_LIFETIME_MS = 24 * 3_600_000;

/**
 * Emulator extension: `GET /_local/verify/<token>`, the link in an email identity's verification mail.
 * After 24 hours (emulator clock) the link has expired and the identity is FAILED.
 */
export function followVerificationLink(
  ctx: EmulatorContext,
  token: string,
): { identity: IdentityRecord; expired: boolean } | undefined {
  const identity = [...ctx.store.identities.values()].find((entry) => entry.verificationToken === token);
  if (!identity) return undefined;
  expireEmailIdentity(ctx, identity);
  if (identity.verificationStatus === 'FAILED') return { identity, expired: true };
  identity.verificationStatus = 'SUCCESS';
  identity.lastCheckedAt = ctx.now();
  identity.lastSuccessAt = identity.lastCheckedAt;
  ctx.store.identityChanged(identity);
  return { identity, expired: false };
}

/** Emulator extension for tests: marks any identity verified without DNS or a link; DNS never changes it again. */
export function forceVerify(ctx: EmulatorContext, raw: string): IdentityRecord {
  const identity = findIdentity(ctx, raw);
  identity.verificationStatus = 'SUCCESS';
  identity.lastCheckedAt = ctx.now();
  identity.lastSuccessAt = identity.lastCheckedAt;
  identity.forced = true;
  if (identity.dkim) identity.dkim.status = 'SUCCESS';
  ctx.store.identityChanged(identity);
  return identity;
}

/** Whether all three `<token>._domainkey.<domain> CNAME <token>.dkim.amazonses.com` records resolve. */
async function cnamesPublished(ctx: EmulatorContext, identity: IdentityRecord): Promise<boolean> {
  const { resolver } = ctx;
  const tokens = identity.dkim?.tokens ?? [];
  if (!resolver) return false;
  const checks = await Promise.all(
    tokens.map(async (token) => {
      try {
        const targets = await resolver.resolveCname(`${token}._domainkey.${identity.name}`);
        return targets.some(
          (target) => target.toLowerCase().replace(/\.$/, '') === `${token}.dkim.amazonses.com`,
        );
      } catch {
        return false;
      }
    }),
  );
  return checks.length > 0 && checks.every(Boolean);
}

const setDomainStatus = (identity: IdentityRecord, status: VerificationStatus): void => {
  identity.verificationStatus = status;
  if (identity.dkim) identity.dkim.status = status;
};

/**
 * A domain's lifecycle, as SES documents it, on the emulator's clock:
 * PENDING → SUCCESS once its 3 CNAMEs resolve, or → FAILED when 72 hours pass without them;
 * with `recheckVerified`, a verified domain whose CNAMEs disappear goes to TEMPORARY_FAILURE (SES keeps
 * sending and signing while it looks again), back to SUCCESS when they return, or to FAILED after 72 hours.
 * FAILED is final (SES: restart verification by deleting and re-creating the identity).
 */
export async function refreshDomainIdentity(
  ctx: EmulatorContext,
  identity: IdentityRecord,
  options: { readonly recheckVerified?: boolean } = {},
): Promise<void> {
  const dkim = identity.dkim;
  if (!dkim || identity.forced || dkim.status === 'FAILED') return;
  const before = `${identity.verificationStatus}/${dkim.status}`;
  const now = ctx.now();
  if (dkim.status === 'PENDING') {
    if (ctx.resolver) identity.lastCheckedAt = now;
    if (await cnamesPublished(ctx, identity)) setDomainStatus(identity, 'SUCCESS');
    else if (now - identity.createdAt >= DKIM_SEARCH_WINDOW_MS) setDomainStatus(identity, 'FAILED');
  } else if (options.recheckVerified && ctx.resolver) {
    identity.lastCheckedAt = now;
    if (await cnamesPublished(ctx, identity)) {
      setDomainStatus(identity, 'SUCCESS');
      delete identity.missingSince;
    } else {
      identity.missingSince ??= now;
      setDomainStatus(
        identity,
        now - identity.missingSince >= DKIM_SEARCH_WINDOW_MS ? 'FAILED' : 'TEMPORARY_FAILURE',
      );
    }
  }
  if (identity.verificationStatus === 'SUCCESS' && identity.lastCheckedAt === now)
    identity.lastSuccessAt = now;
  if (`${identity.verificationStatus}/${dkim.status}` !== before) ctx.store.identityChanged(identity);
}

/** An email identity whose link was not followed within 24 hours is FAILED. */
function expireEmailIdentity(ctx: EmulatorContext, identity: IdentityRecord): void {
  if (identity.type !== 'EMAIL_ADDRESS' || identity.verificationStatus !== 'PENDING') return;
  if (ctx.now() - identity.createdAt < EMAIL_LINK_LIFETIME_MS) return;
  identity.verificationStatus = 'FAILED';
  ctx.store.identityChanged(identity);
}

/** Brings one identity up to date with DNS and the clock. */
async function refreshIdentity(
  ctx: EmulatorContext,
  identity: IdentityRecord,
  options: { readonly recheckVerified?: boolean },
): Promise<void> {
  expireEmailIdentity(ctx, identity);
  await refreshDomainIdentity(ctx, identity, options);
}

/** Before each send: pending identities only (no DNS lookups for verified domains on the hot path). */
export async function refreshPendingIdentities(ctx: EmulatorContext): Promise<void> {
  const pending = [...ctx.store.identities.values()].filter(
    (identity) => identity.verificationStatus === 'PENDING',
  );
  await Promise.all(pending.map((identity) => refreshIdentity(ctx, identity, {})));
}

/** On Get/List, on the timer and after the clock moves: every identity, verified domains re-checked. */
export async function refreshAllIdentities(ctx: EmulatorContext): Promise<void> {
  await Promise.all(
    [...ctx.store.identities.values()].map((identity) =>
      refreshIdentity(ctx, identity, { recheckVerified: true }),
    ),
  );
}

/**
 * `VerifiedForSendingStatus`: SUCCESS, and TEMPORARY_FAILURE (SES still holds the verified domain and its
 * keys while it looks for the records again; our reading of the docs, see README).
 */
export const verifiedForSending = (identity: IdentityRecord): boolean =>
  identity.verificationStatus === 'SUCCESS' || identity.verificationStatus === 'TEMPORARY_FAILURE';

function dkimAttributes(identity: IdentityRecord): Record<string, unknown> {
  const dkim = identity.dkim;
  if (!dkim) return { SigningEnabled: false, Status: 'NOT_STARTED', SigningAttributesOrigin: 'AWS_SES' };
  const length = dkim.keyBits === 1024 ? 'RSA_1024_BIT' : 'RSA_2048_BIT';
  return {
    SigningEnabled: dkim.signingEnabled,
    Status: dkim.status,
    Tokens: dkim.tokens,
    SigningAttributesOrigin: 'AWS_SES',
    NextSigningKeyLength: length,
    CurrentSigningKeyLength: length,
    LastKeyGenerationTimestamp: epochSeconds(dkim.keyCreatedAt),
  };
}

async function verificationMessage(ctx: EmulatorContext, identity: IdentityRecord): Promise<StoredMessage> {
  const link = `${ctx.verificationBaseUrl()}/_local/verify/${identity.verificationToken}`;
  const subject = `Amazon Web Services - Email Address Verification Request in region ${ctx.region}`;
  const messageId = `local-verification-${identity.verificationToken?.slice(0, 16)}`;
  const raw = await composeSimple(
    {
      from: 'no-reply-aws@amazon.com',
      to: [identity.name],
      cc: [],
      replyTo: [],
      subject,
      text: [
        'Dear Amazon Web Services Customer,',
        '',
        'We have received a request to authorize this email address',
        `for use with Amazon SES in region ${ctx.region}. To confirm that`,
        'you are authorized to use this email address, go to this URL:',
        '',
        link,
        '',
        '(Sent by the local SES emulator; nothing left this machine.)',
      ].join('\n'),
      headers: [],
      attachments: [],
    },
    messageId,
  );
  return {
    messageId,
    kind: 'verification',
    timestamp: new Date(ctx.now()).toISOString(),
    source: 'no-reply-aws@amazon.com',
    from: ['no-reply-aws@amazon.com'],
    subject,
    destination: [identity.name],
    emailTags: [],
    outcomes: [{ recipient: identity.name, outcome: 'delivered' }],
    raw: Buffer.from(raw, 'latin1'),
  };
}
