import { PermanentError } from '../errors';
import { authorizeFrom } from '../identity/from-authorizer';
import type { IdentityStatusView } from '../identity/identity';
import type { Scope, SendingMethod } from '../scope';
import { parseSmtpSettings, type SmtpSettings } from '../smtp/smtp-settings';
import type { Tenant, TenantEnvironment } from '../tenant';
import { MESSAGE_TAGS } from './message-tags';
import type { DkimFacts, Mailbox, OutgoingEmail } from './ports';
import type { SendRequest } from './send-request';

export class FromAddressRequiredError extends PermanentError {
  constructor(method: SendingMethod) {
    super(
      'FROM_REQUIRED',
      `the ${method} method sends from the tenant's own address: give "from" in the message or "fromAddress" in the tenant's environment settings`,
    );
    this.name = 'FromAddressRequiredError';
  }
}

/** A request field the tenant's method does not use: refused by name rather than silently ignored. */
export class FieldNotAllowedError extends PermanentError {
  constructor(field: 'from' | 'fromName', method: SendingMethod, why: string) {
    super('FIELD_NOT_ALLOWED', `"${field}" is not allowed with the ${method} method: ${why}`);
    this.name = 'FieldNotAllowedError';
  }
}

/** What preparing needs beyond the request: the scope's settings and the tenant's verified identities. */
export interface PrepareContext {
  readonly scope: Scope;
  readonly platformFromAddress: string;
  /** The tenant's identities in this scope (advanced method only); `fresh` bypasses any cache. */
  readonly identities: (options?: { readonly fresh?: boolean }) => Promise<readonly IdentityStatusView[]>;
}

export interface PreparedEmail {
  readonly email: OutgoingEmail;
  /** Relay settings, for the external-smtp method. */
  readonly relay?: SmtpSettings;
  readonly dkim?: DkimFacts;
}

/**
 * Applies the tenant's sending method to a request (the rules of the source document):
 * - `default`: the platform's verified address sends, showing the tenant's name; replies go to the tenant profile
 *   email. SES sends only from verified identities, so the tenant's own address cannot be From here.
 * - `advanced`: From is the tenant's address and must be covered by one of its verified identities in this scope
 *   (exact email identity, or a domain identity for the domain and its subdomains); the SES tenant isolates
 *   reputation; the DKIM facts say whether the tenant's domain signs (DMARC alignment).
 * - `external-smtp`: the tenant's relay settings (validated for this scope) decide the From address.
 */
export async function prepareEmail(
  messageId: string,
  request: SendRequest,
  tenant: Tenant,
  settings: TenantEnvironment,
  context: PrepareContext,
): Promise<PreparedEmail> {
  const base = {
    messageId,
    tenantId: request.tenantId,
    environment: request.environment,
    to: request.to,
    cc: request.cc,
    bcc: request.bcc,
    subject: request.subject,
    ...(request.html !== undefined ? { html: request.html } : {}),
    ...(request.text !== undefined ? { text: request.text } : {}),
    headers: request.headers,
    tags: {
      [MESSAGE_TAGS.messageId]: messageId,
      [MESSAGE_TAGS.tenantId]: request.tenantId,
      [MESSAGE_TAGS.environment]: request.environment,
    },
  };
  const displayName = request.fromName ?? tenant.displayName;
  const profileReplyTo: Mailbox = { address: tenant.profileEmail };
  switch (settings.method) {
    case 'default':
      if (request.from !== undefined) {
        throw new FieldNotAllowedError(
          'from',
          'default',
          "it sends from the platform's address (use advanced)",
        );
      }
      if (request.fromName !== undefined) {
        throw new FieldNotAllowedError('fromName', 'default', "its From name is the tenant's display name");
      }
      return {
        email: {
          ...base,
          from: { name: displayName, address: context.platformFromAddress },
          replyTo: profileReplyTo,
        },
      };
    case 'advanced': {
      const from = request.from ?? settings.fromAddress;
      if (!from) throw new FromAddressRequiredError('advanced');
      const authorization = await authorizeFromFresh(from, context);
      return {
        email: {
          ...base,
          from: { name: displayName, address: authorization.from },
          ...(settings.sesTenantName ? { sesTenantName: settings.sesTenantName } : {}),
        },
        dkim: {
          signingDomains: authorization.dkim.signingDomains,
          alignment: authorization.dkim.alignment,
          aligned: authorization.dkim.aligned,
        },
      };
    }
    case 'external-smtp': {
      if (request.from !== undefined) {
        throw new FieldNotAllowedError('from', 'external-smtp', "it sends from the relay settings' address");
      }
      const relay = parseSmtpSettings(settings.smtp ?? {}, {
        scope: context.scope,
        tenantId: tenant.tenantId,
      });
      return {
        email: { ...base, from: { name: displayName, address: relay.from }, replyTo: profileReplyTo },
        relay,
      };
    }
  }
}

/**
 * Authorises From on the (possibly cached) identities; a refusal is never based on cached data: the identities
 * are read again and the check repeated before the refusal stands (a cached SUCCESS may be used as it is).
 */
async function authorizeFromFresh(
  from: string,
  context: PrepareContext,
): Promise<ReturnType<typeof authorizeFrom>> {
  try {
    return authorizeFrom(from, await context.identities());
  } catch (error) {
    if (!(error instanceof PermanentError)) throw error;
    return authorizeFrom(from, await context.identities({ fresh: true }));
  }
}
