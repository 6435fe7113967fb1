import { randomUUID } from 'node:crypto';
import { parseMessage } from '../viewer/mime-parts';
import { badRequest, messageRejected, notFound, SesApiError } from './api-errors';
import { AMAZONSES_DOMAIN, type DkimSigner, signMessage } from './dkim-keys';
import { configurationSetArn, type EmulatorContext, identityArn } from './emulator-context';
import type {
  ConfigurationSetRecord,
  IdentityRecord,
  RecipientOutcome,
  TenantRecord,
} from './emulator-store';
import { mailObject, newFeedbackId } from './event-publisher';
import type { ApiRequest, ApiResponse } from './http-router';
import { normaliseIdentity, refreshPendingIdentities, verifiedForSending } from './identity-operations';
import {
  addressesOf,
  composeSimple,
  decodeWords,
  domainOf,
  type HeaderField,
  headerValues,
  parseHeaders,
  toCrlf,
  withTransportHeaders,
} from './mime-message';
import { objectList, optionalObject, optionalString, requiredString, stringList } from './request-fields';

/** SES v2 limit on a raw message, measured on its base64 form. */
export const MAX_RAW_MESSAGE_BYTES = 40 * 1024 * 1024;
/** SES limit on To + Cc + Bcc of one message. */
export const MAX_RECIPIENTS = 50;
export const SIMULATOR_DOMAIN = 'simulator.amazonses.com';

const TAG_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;
const SUPPRESSION_DIAGNOSTIC =
  'Amazon SES did not send the message to this address because it is on the suppression list for your account. ' +
  'For more information about removing addresses from the suppression list, see the Amazon SES Developer Guide at ' +
  'https://docs.aws.amazon.com/ses/latest/DeveloperGuide/sending-email-suppression-list.html';
const REPORTING_MTA = 'local-emulator.smtp-out.amazonses.com';

interface Composed {
  /** The message as a binary string (one char per byte), CRLF line ends. */
  readonly raw: string;
  readonly headers: HeaderField[];
  readonly sourceAddresses: string[];
  readonly recipients: string[];
  readonly emailTags: { Name: string; Value: string }[];
  readonly configurationSetName: string | undefined;
}

/** `POST /v2/email/outbound-emails`: SendEmail with Simple or Raw content, with SES's checks in SES's terms. */
export async function sendEmail(ctx: EmulatorContext, request: ApiRequest): Promise<ApiResponse> {
  const { store } = ctx;
  const messageId = `${ctx.now().toString(16).padStart(16, '0')}-${randomUUID()}-000000`;
  const composed = await compose(request.body, messageId);

  if (!store.account.sendingEnabled) {
    // The wording AWS used when it paused a production account (test/fixtures/ses-errors/sending-paused.json).
    throw new SesApiError(
      'SendingPausedException',
      'Sending paused for this account. For more information, please check the inbox of the email address associated with your AWS account.',
    );
  }
  const configurationSet = findConfigurationSet(ctx, composed.configurationSetName);
  if (configurationSet && !configurationSet.sendingEnabled) {
    throw new SesApiError('SendingPausedException', 'Sending is paused for this configuration set.');
  }
  if (composed.recipients.length === 0) throw badRequest('At least one recipient address is required.');
  if (composed.recipients.length > MAX_RECIPIENTS)
    throw badRequest(`Recipient count exceeds ${MAX_RECIPIENTS}.`);

  await refreshPendingIdentities(ctx);
  const unverified = composed.sourceAddresses.filter((address) => !coveringIdentity(ctx, address));
  if (unverified.length > 0) throw notVerified(ctx, unverified);
  if (store.account.sandbox) {
    const outside = composed.recipients.filter(
      (address) => domainOf(address) !== SIMULATOR_DOMAIN && !coveringIdentity(ctx, address),
    );
    if (outside.length > 0) throw notVerified(ctx, outside);
  }
  const [fromAddress] = composed.sourceAddresses;
  const fromIdentity = coveringIdentity(ctx, fromAddress ?? '');
  const tenantName = optionalString(request.body, 'TenantName');
  const tenant = tenantName ? checkTenant(ctx, tenantName, fromIdentity, configurationSet) : undefined;
  if (tenant && tenant.sendingStatus === 'DISABLED') {
    throw new SesApiError('SendingPausedException', 'Sending is paused for this tenant.');
  }
  throttle(ctx, composed.recipients.length);

  const now = new Date(ctx.now());
  const withHeaders = withTransportHeaders(composed.raw, messageId, now);
  const headers = parseHeaders(withHeaders);
  const signed = await signMessage(withHeaders, signersFor(ctx, fromAddress ?? ''));

  const source = optionalString(request.body, 'FromEmailAddress') ?? headerValues(headers, 'From')[0] ?? '';
  const mail = {
    timestamp: now.toISOString(),
    messageId,
    source: decodeWords(source),
    sourceArn: identityArn(ctx, fromIdentity?.name ?? domainOf(fromAddress ?? '')),
    sendingAccountId: ctx.accountId,
    destination: composed.recipients,
    headers,
    ...(configurationSet ? { configurationSetName: configurationSet.name } : {}),
    emailTags: composed.emailTags,
  };
  const outcomes = publishOutcomes(ctx, configurationSet, mail, tenantName, carriesVirus(signed));
  store.addMessage({
    messageId,
    kind: 'email',
    timestamp: now.toISOString(),
    source: mail.source,
    from: headerValues(headers, 'From').map(decodeWords),
    subject: decodeWords(headerValues(headers, 'Subject')[0] ?? ''),
    destination: composed.recipients,
    ...(configurationSet ? { configurationSetName: configurationSet.name } : {}),
    ...(tenantName ? { tenantName } : {}),
    emailTags: composed.emailTags,
    outcomes,
    raw: Buffer.from(signed, 'latin1'),
  });
  return { json: { MessageId: messageId } };
}

async function compose(body: Record<string, unknown>, messageId: string): Promise<Composed> {
  const content = optionalObject(body, 'Content');
  if (!content) throw badRequest('Missing required field Content.');
  const destination = optionalObject(body, 'Destination') ?? {};
  const listed = [
    ...stringList(destination, 'ToAddresses'),
    ...stringList(destination, 'CcAddresses'),
    ...stringList(destination, 'BccAddresses'),
  ];
  const fromField = optionalString(body, 'FromEmailAddress');
  const emailTags = objectList(body, 'EmailTags').map((tag) => ({
    Name: requiredString(tag, 'Name'),
    Value: requiredString(tag, 'Value'),
  }));
  let configurationSetName = optionalString(body, 'ConfigurationSetName');
  const raw = optionalObject(content, 'Raw');
  const simple = optionalObject(content, 'Simple');
  if (optionalObject(content, 'Template')) {
    throw badRequest(
      'Template content is not supported by the local SES emulator; send Simple or Raw content.',
    );
  }
  let message: string;
  if (raw) {
    const data = requiredString(raw, 'Data');
    if (data.length > MAX_RAW_MESSAGE_BYTES) throw messageRejected('Message length is more than 40 MB.');
    // A binary string (one char per byte): 8-bit and binary parts pass through unchanged.
    message = toCrlf(Buffer.from(data, 'base64').toString('latin1'));
    if (parseHeaders(message).length === 0) throw messageRejected('The raw message has no header section.');
  } else if (simple) {
    if (!fromField) throw badRequest('Missing required field FromEmailAddress.');
    const subject = optionalObject(simple, 'Subject');
    const parts = optionalObject(simple, 'Body') ?? {};
    const text = optionalObject(parts, 'Text');
    const html = optionalObject(parts, 'Html');
    message = await composeSimple(
      {
        from: fromField,
        to: stringList(destination, 'ToAddresses'),
        cc: stringList(destination, 'CcAddresses'),
        replyTo: stringList(body, 'ReplyToAddresses'),
        subject: subject ? requiredString(subject, 'Data') : '',
        ...(text ? { text: requiredString(text, 'Data') } : {}),
        ...(html ? { html: requiredString(html, 'Data') } : {}),
        headers: objectList(simple, 'Headers').map((header) => ({
          name: requiredString(header, 'Name'),
          value: requiredString(header, 'Value'),
        })),
        attachments: objectList(simple, 'Attachments').map((attachment) => {
          const contentType = optionalString(attachment, 'ContentType');
          const disposition = optionalString(attachment, 'ContentDisposition');
          const cid = optionalString(attachment, 'ContentId');
          return {
            content: Buffer.from(requiredString(attachment, 'RawContent'), 'base64'),
            filename: requiredString(attachment, 'FileName'),
            ...(contentType ? { contentType } : {}),
            ...(disposition ? { contentDisposition: disposition } : {}),
            ...(cid ? { cid } : {}),
          };
        }),
      },
      messageId,
    );
  } else {
    throw badRequest('Content must contain exactly one of Simple, Raw or Template.');
  }
  const headers = parseHeaders(message);
  if (raw) {
    configurationSetName ??= headerValues(headers, 'X-SES-CONFIGURATION-SET')[0];
    for (const value of headerValues(headers, 'X-SES-MESSAGE-TAGS')) {
      for (const pair of value.split(',')) {
        const [name, tagValue] = pair.split('=').map((part) => part.trim());
        if (name && tagValue !== undefined) emailTags.push({ Name: name, Value: tagValue });
      }
    }
  }
  for (const tag of emailTags) {
    if (!TAG_PATTERN.test(tag.Name) || !TAG_PATTERN.test(tag.Value)) {
      throw badRequest(
        `Invalid tag ${tag.Name}=${tag.Value}: names and values may only contain ASCII letters, digits, '_' and '-'.`,
      );
    }
  }
  const sourceAddresses = unique([
    ...(fromField ? addressesOf([fromField]) : addressesOf(headerValues(headers, 'From'))),
    ...(fromField && raw ? addressesOf(headerValues(headers, 'From')) : []),
    ...addressesOf(headerValues(headers, 'Sender')),
    ...addressesOf(headerValues(headers, 'Return-Path')),
  ]);
  if (sourceAddresses.length === 0) throw messageRejected("Missing required header 'From'.");
  const recipients = unique(
    listed.length > 0 || !raw
      ? addressesOf(listed)
      : addressesOf([
          ...headerValues(headers, 'To'),
          ...headerValues(headers, 'Cc'),
          ...headerValues(headers, 'Bcc'),
        ]),
  );
  return { raw: message, headers, sourceAddresses, recipients, emailTags, configurationSetName };
}

const unique = (values: string[]): string[] => {
  const seen = new Set<string>();
  return values.filter((value) => {
    const key = value.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
};

/**
 * The verified identity that authorises `address`: the exact email identity, else a domain identity of
 * its domain or of a parent domain (the closest wins).
 */
export function coveringIdentity(ctx: EmulatorContext, address: string): IdentityRecord | undefined {
  if (!address.includes('@')) return undefined;
  const normalised = normaliseIdentity(address);
  const exact = ctx.store.identities.get(normalised);
  if (exact && verifiedForSending(exact)) return exact;
  const labels = domainOf(normalised).split('.');
  for (let i = 0; i < labels.length - 1; i++) {
    const domain = ctx.store.identities.get(labels.slice(i).join('.'));
    if (domain?.type === 'DOMAIN' && verifiedForSending(domain)) return domain;
  }
  return undefined;
}

const notVerified = (ctx: EmulatorContext, addresses: readonly string[]): SesApiError =>
  messageRejected(
    `Email address is not verified. The following identities failed the check in region ${ctx.region.toUpperCase()}: ${addresses.join(', ')}`,
  );

function findConfigurationSet(
  ctx: EmulatorContext,
  name: string | undefined,
): ConfigurationSetRecord | undefined {
  if (!name) return undefined;
  const set = ctx.store.configurationSets.get(name);
  if (!set) throw notFound(`Configuration set <${name}> does not exist.`);
  return set;
}

function checkTenant(
  ctx: EmulatorContext,
  name: string,
  identity: IdentityRecord | undefined,
  configurationSet: ConfigurationSetRecord | undefined,
): TenantRecord {
  const tenant = ctx.store.tenants.get(name);
  if (!tenant) throw notFound(`Tenant ${name} does not exist.`);
  const associated = new Set(tenant.resources.map((resource) => resource.arn));
  if (identity && !associated.has(identityArn(ctx, identity.name))) {
    throw badRequest(`Identity ${identity.name} is not associated with tenant ${name}.`);
  }
  if (configurationSet && !associated.has(configurationSetArn(ctx, configurationSet.name))) {
    throw badRequest(`Configuration set ${configurationSet.name} is not associated with tenant ${name}.`);
  }
  return tenant;
}

/**
 * The account's send rate counts recipients per second; a message that alone exceeds the rate is
 * accepted when nothing else was sent in the last second, so it can never be blocked forever. An accepted
 * message's recipients are counted here, before the asynchronous signing.
 */
function throttle(ctx: EmulatorContext, recipients: number): void {
  const { store } = ctx;
  const now = ctx.now();
  if (store.sentInLast24Hours(now) + recipients > store.account.max24HourSend) {
    throw new SesApiError('TooManyRequestsException', 'Daily message quota exceeded.');
  }
  const lastSecond = store.sentInLastSecond(now);
  if (lastSecond > 0 && lastSecond + recipients > store.account.maxSendRate) {
    throw new SesApiError('TooManyRequestsException', 'Maximum sending rate exceeded.');
  }
  // Take the slots now, in the same synchronous step as the check: signing awaits, and concurrent requests
  // must not all pass the check before any of them is counted.
  store.recordSent(now, recipients);
}

function signersFor(ctx: EmulatorContext, fromAddress: string): DkimSigner[] {
  const signers: DkimSigner[] = [];
  const identity = coveringIdentity(ctx, fromAddress);
  const domainIdentity =
    identity?.type === 'DOMAIN'
      ? identity
      : (coveringIdentity(ctx, `postmaster@${domainOf(fromAddress)}`) ?? undefined);
  const dkim = domainIdentity?.dkim;
  if (domainIdentity && dkim && verifiedForSending(domainIdentity) && dkim.signingEnabled) {
    const [selector] = dkim.tokens;
    if (selector) signers.push({ domain: domainIdentity.name, selector, privateKeyPem: dkim.privateKeyPem });
  }
  if (!signers.some((signer) => signer.domain === AMAZONSES_DOMAIN)) signers.push(ctx.amazonSesSigner);
  return signers;
}

/** `deliverydelay` is the emulator's own: SES's simulator has no address that produces DeliveryDelay. */
const SIMULATIONS = ['bounce', 'ooto', 'complaint', 'suppressionlist', 'deliverydelay'] as const;
type Simulation = (typeof SIMULATIONS)[number] | 'success' | undefined;

function simulation(address: string): Simulation {
  if (domainOf(address) !== SIMULATOR_DOMAIN) return undefined;
  const local = address.slice(0, address.lastIndexOf('@')).split('+')[0]?.toLowerCase();
  return SIMULATIONS.find((name) => name === local) ?? 'success';
}

/**
 * The EICAR anti-virus test string: every virus scanner flags it, so it stands for "contains a virus", the
 * case in which SES accepts a message and then publishes Reject instead of delivering it.
 */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/** Whether the message, or one of its decoded text parts, carries the EICAR string. */
const carriesVirus = (raw: string): boolean =>
  raw.includes(EICAR) || parseMessage(raw).parts.some((part) => part.text?.includes(EICAR));

function isSuppressed(
  ctx: EmulatorContext,
  address: string,
  configurationSet: ConfigurationSetRecord | undefined,
  tenantName: string | undefined,
): boolean {
  const reasons = configurationSet?.suppressedReasons ?? ctx.store.account.suppressedReasons;
  const entries = [
    ctx.store.suppressions.get(ctx.store.suppressionKey(address)),
    tenantName ? ctx.store.suppressions.get(ctx.store.suppressionKey(address, tenantName)) : undefined,
  ];
  return entries.some((entry) => entry && reasons.includes(entry.reason));
}

/** Decides each recipient's fate (mailbox simulator, suppression list) and emits SES's events for it. */
function publishOutcomes(
  ctx: EmulatorContext,
  configurationSet: ConfigurationSetRecord | undefined,
  mailInput: Parameters<typeof mailObject>[0],
  tenantName: string | undefined,
  virus: boolean,
): { recipient: string; outcome: RecipientOutcome }[] {
  const { events } = ctx;
  const { messageId } = mailInput;
  const mail = mailObject(mailInput);
  const deliveredMail = mailObject(mailInput, { 'ses:outgoing-ip': ['127.0.0.1'] });
  events.emit(configurationSet, messageId, 'Send', { eventType: 'Send', mail, send: {} });
  const at = () => new Date(ctx.now()).toISOString();
  if (virus) {
    // The reason of AWS's published Reject sample.
    events.emit(configurationSet, messageId, 'Reject', {
      eventType: 'Reject',
      mail,
      reject: { reason: 'Bad content' },
    });
    return mailInput.destination.map((recipient) => ({ recipient, outcome: 'rejected' }));
  }
  const delay = (recipient: string) => {
    events.emit(configurationSet, messageId, 'DeliveryDelay', {
      eventType: 'DeliveryDelay',
      mail,
      deliveryDelay: {
        timestamp: at(),
        delayType: 'TransientCommunicationFailure',
        expirationTime: new Date(ctx.now() + 86_400_000).toISOString(),
        delayedRecipients: [
          {
            emailAddress: recipient,
            status: '4.4.1',
            diagnosticCode: 'smtp; 421 4.4.1 Unable to connect to remote host',
          },
        ],
      },
    });
  };
  const bounce = (recipient: string, subType: 'General' | 'OnAccountSuppressionList') => {
    const suppressed = subType === 'OnAccountSuppressionList';
    events.emit(configurationSet, messageId, 'Bounce', {
      eventType: 'Bounce',
      bounce: {
        feedbackId: newFeedbackId(),
        bounceType: 'Permanent',
        bounceSubType: subType,
        bouncedRecipients: [
          {
            emailAddress: recipient,
            action: 'failed',
            status: '5.1.1',
            diagnosticCode: suppressed ? SUPPRESSION_DIAGNOSTIC : 'smtp; 550 5.1.1 user unknown',
          },
        ],
        timestamp: at(),
        reportingMTA: suppressed ? 'dns; amazonses.com' : `dsn; ${REPORTING_MTA}`,
      },
      mail,
    });
  };
  const deliver = (recipient: string) => {
    events.emit(configurationSet, messageId, 'Delivery', {
      eventType: 'Delivery',
      mail: deliveredMail,
      delivery: {
        timestamp: at(),
        processingTimeMillis: Math.max(1, ctx.now() - Date.parse(mailInput.timestamp)),
        recipients: [recipient],
        smtpResponse: '250 2.6.0 Message received',
        reportingMTA: REPORTING_MTA,
        remoteMtaIp: '127.0.0.1',
      },
    });
  };
  return mailInput.destination.map((recipient) => {
    const simulated = simulation(recipient);
    if (simulated === 'suppressionlist' || isSuppressed(ctx, recipient, configurationSet, tenantName)) {
      bounce(recipient, 'OnAccountSuppressionList');
      return { recipient, outcome: 'suppressed' };
    }
    if (simulated === 'bounce') {
      bounce(recipient, 'General');
      return { recipient, outcome: 'bounced' };
    }
    if (simulated === 'deliverydelay') delay(recipient);
    deliver(recipient);
    if (simulated === 'complaint') {
      events.emit(configurationSet, messageId, 'Complaint', {
        eventType: 'Complaint',
        complaint: {
          complainedRecipients: [{ emailAddress: recipient }],
          timestamp: at(),
          feedbackId: newFeedbackId(),
          userAgent: 'Amazon SES Mailbox Simulator',
          complaintFeedbackType: 'abuse',
          arrivalDate: mailInput.timestamp,
        },
        mail,
      });
      return { recipient, outcome: 'complained' };
    }
    return { recipient, outcome: 'delivered' };
  });
}
