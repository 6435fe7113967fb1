import { randomBytes } from 'node:crypto';
import { domainToASCII } from 'node:url';
import { alreadyExists, badRequest, notFound } from './api-errors';
import { generateDkimKey, newDkimToken, publishTokenKeys, unpublishTokenKeys } from './dkim-keys';
import type { EmulatorContext } from './emulator-context';
import type { IdentityRecord, StoredMessage } from './emulator-store';
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
  const now = Date.now();
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
    ctx.store.messages.push(await verificationMessage(ctx, identity));
  }
  ctx.store.identities.set(name, identity);
  await refreshDomainIdentity(ctx, identity);
  ctx.store.save();
  return {
    json: {
      IdentityType: identity.type,
      VerifiedForSendingStatus: identity.verificationStatus === 'SUCCESS',
      DkimAttributes: dkimAttributes(identity),
    },
  };
}

export async function getEmailIdentity(ctx: EmulatorContext, request: ApiRequest): Promise<ApiResponse> {
  const identity = findIdentity(ctx, request.params.EmailIdentity ?? '');
  await refreshDomainIdentity(ctx, identity);
  return {
    json: {
      IdentityType: identity.type,
      FeedbackForwardingStatus: true,
      VerifiedForSendingStatus: identity.verificationStatus === 'SUCCESS',
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
            ...(identity.verificationStatus === 'SUCCESS'
              ? { LastSuccessTimestamp: epochSeconds(identity.lastCheckedAt) }
              : {}),
          }
        : {},
    },
  };
}

export async function listEmailIdentities(ctx: EmulatorContext, request: ApiRequest): Promise<ApiResponse> {
  await refreshPendingIdentities(ctx);
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
  ctx.store.identities.delete(identity.name);
  ctx.store.save();
  return { json: {} };
}

/** `PUT /v2/email/identities/{EmailIdentity}/dkim`: turns the domain signature on or off. */
export function putEmailIdentityDkimAttributes(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const identity = findIdentity(ctx, request.params.EmailIdentity ?? '');
  const enabled = request.body.SigningEnabled;
  if (identity.dkim && typeof enabled === 'boolean') identity.dkim.signingEnabled = enabled;
  ctx.store.save();
  return { json: {} };
}

/** Emulator extension: `GET /_local/verify/<token>`, the link in an email identity's verification mail. */
export function followVerificationLink(ctx: EmulatorContext, token: string): IdentityRecord | undefined {
  const identity = [...ctx.store.identities.values()].find((entry) => entry.verificationToken === token);
  if (!identity) return undefined;
  identity.verificationStatus = 'SUCCESS';
  identity.lastCheckedAt = Date.now();
  ctx.store.save();
  return identity;
}

/** Emulator extension for tests: marks any identity verified without DNS or a link. */
export function forceVerify(ctx: EmulatorContext, raw: string): IdentityRecord {
  const identity = findIdentity(ctx, raw);
  identity.verificationStatus = 'SUCCESS';
  identity.lastCheckedAt = Date.now();
  if (identity.dkim) identity.dkim.status = 'SUCCESS';
  ctx.store.save();
  return identity;
}

/**
 * Re-checks a pending domain: it is verified once all three
 * `<token>._domainkey.<domain> CNAME <token>.dkim.amazonses.com` records resolve through the configured DNS.
 */
export async function refreshDomainIdentity(ctx: EmulatorContext, identity: IdentityRecord): Promise<void> {
  const dkim = identity.dkim;
  if (!dkim || dkim.status === 'SUCCESS' || !ctx.resolver) return;
  const resolver = ctx.resolver;
  const checks = await Promise.all(
    dkim.tokens.map(async (token) => {
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
  identity.lastCheckedAt = Date.now();
  if (checks.every(Boolean)) {
    dkim.status = 'SUCCESS';
    identity.verificationStatus = 'SUCCESS';
    ctx.store.save();
  }
}

export async function refreshPendingIdentities(ctx: EmulatorContext): Promise<void> {
  const pending = [...ctx.store.identities.values()].filter(
    (identity) => identity.dkim?.status === 'PENDING',
  );
  await Promise.all(pending.map((identity) => refreshDomainIdentity(ctx, identity)));
}

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
    timestamp: new Date().toISOString(),
    source: 'no-reply-aws@amazon.com',
    from: ['no-reply-aws@amazon.com'],
    subject,
    destination: [identity.name],
    emailTags: [],
    outcomes: [{ recipient: identity.name, outcome: 'delivered' }],
    raw: Buffer.from(raw, 'latin1'),
  };
}
