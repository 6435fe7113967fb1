import { PermanentError, ThrottledError, TransientError } from '../errors';

/**
 * How one send through a relay ended, for the message and for each recipient:
 * - `sent`: the relay accepted it (2xx);
 * - `throttled`: the relay asked us to slow down (421, 450 4.2.1, 451 4.7.x, 454 "Throttling failure", quota
 *   replies): defer with the retry hint, never drop;
 * - `transient`: every other temporary failure (other 4xx, timeouts, refused or reset connections, TLS or greeting
 *   failures): retry with backoff, then dead-letter;
 * - `rejected`: a 5xx for the recipients it names (or for the whole message), with the server's reply kept;
 * - `auth-failed`: the relay refused the tenant's credential (535 and friends): permanent for the tenant's
 *   configuration until someone fixes it.
 */
export type SmtpOutcomeKind = 'sent' | 'throttled' | 'transient' | 'rejected' | 'auth-failed';

/** The server's reply: basic code, enhanced status code (RFC 3463) when given, and the text as received. */
export interface SmtpReply {
  readonly code?: number;
  readonly enhancedCode?: string;
  readonly text: string;
}

export interface RecipientOutcome {
  readonly recipient: string;
  readonly kind: SmtpOutcomeKind;
  readonly reply?: SmtpReply;
}

export interface SmtpSendOutcome {
  /** Summary for the message: `sent` when at least one recipient was accepted. */
  readonly kind: SmtpOutcomeKind;
  readonly recipients: readonly RecipientOutcome[];
  /** The reply that decided the summary (the final 250 on success). */
  readonly reply?: SmtpReply;
  /** One sentence for the message history and the operator. */
  readonly reason: string;
  /** For `throttled`: how long to defer before trying again. */
  readonly retryAfterSeconds?: number;
}

/** What nodemailer reports on success (`info`), described structurally so the domain does not import it. */
export interface SmtpSendInfo {
  readonly accepted?: ReadonlyArray<string | { address: string }>;
  readonly rejected?: ReadonlyArray<string | { address: string }>;
  readonly rejectedErrors?: ReadonlyArray<SmtpErrorLike>;
  readonly response?: string;
}

/** What nodemailer and Node report on failure. */
export interface SmtpErrorLike {
  readonly message?: string;
  readonly code?: string;
  /** The system error code nodemailer replaced, e.g. `ECONNREFUSED` under `ESOCKET`. */
  readonly originalCode?: string;
  readonly responseCode?: number;
  readonly response?: string;
  readonly command?: string;
  readonly recipient?: string;
  readonly rejected?: ReadonlyArray<string | { address: string }>;
  readonly rejectedErrors?: ReadonlyArray<SmtpErrorLike>;
}

/** Default deferral for a relay throttle reply that gives no better hint. */
export const DEFAULT_THROTTLE_RETRY_SECONDS = 60;
/** Deferral for a daily quota reply ("Daily user sending quota exceeded"): the quota rolls over slowly. */
export const QUOTA_THROTTLE_RETRY_SECONDS = 3_600;

const THROTTLE_TEXT =
  /throttl|rate ?limit|too many (messages|connections|emails|mails|requests)|sending (rate|limit|quota)|relay limit|submission ?quota|quota exceeded|slow down/i;
const QUOTA_TEXT = /daily|quota|per day|24 ?h/i;
const CONNECTION_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ETLS',
  'EPROTOCOL',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const AUTH_CODES = new Set(['EAUTH', 'ENOAUTH', 'EOAUTH2']);
const SETUP_COMMANDS = new Set(['CONN', 'EHLO', 'HELO', 'LHLO', 'STARTTLS']);

/** Splits `550 5.1.1 <x@y>: Recipient address rejected` into code, enhanced code and text. */
export function parseSmtpReply(response: string | undefined, fallbackCode?: number): SmtpReply | undefined {
  if (response === undefined && fallbackCode === undefined) return undefined;
  const text = (response ?? '').trim();
  const match = /^(\d{3})[ -]?(?:([245]\.\d{1,3}\.\d{1,3})\b)?/.exec(text);
  const code = match?.[1] ? Number(match[1]) : fallbackCode;
  return {
    ...(code !== undefined ? { code } : {}),
    ...(match?.[2] ? { enhancedCode: match[2] } : {}),
    text,
  };
}

/** True when a 4xx/5xx reply means "you are sending too fast / too much", not "this failed". */
export function isThrottleReply(reply: SmtpReply): boolean {
  const { code, enhancedCode = '', text } = reply;
  if (code === undefined) return false;
  if (code === 421) return true;
  if (code === 450 && enhancedCode === '4.2.1') return true;
  if (code === 451 && enhancedCode.startsWith('4.7.')) return true;
  if (code === 452 && enhancedCode === '4.5.3') return false; // too many recipients in one message: not a rate
  if (code === 432 && enhancedCode === '4.3.2') return true; // Exchange: sender thread limit exceeded
  if (code === 454 && /throttl/i.test(text)) return true;
  if (code >= 400 && code < 600 && THROTTLE_TEXT.test(text)) return true;
  return enhancedCode === '5.4.5';
}

function retryAfterFor(reply: SmtpReply): number {
  return QUOTA_TEXT.test(reply.text) || reply.enhancedCode === '5.4.5'
    ? QUOTA_THROTTLE_RETRY_SECONDS
    : DEFAULT_THROTTLE_RETRY_SECONDS;
}

/** Kind of a reply that refused something: throttled, transient (4xx, 503) or rejected (5xx). */
export function classifyReply(reply: SmtpReply): Exclude<SmtpOutcomeKind, 'sent' | 'auth-failed'> {
  if (isThrottleReply(reply)) return 'throttled';
  if (reply.code !== undefined && reply.code >= 500 && reply.code !== 503) return 'rejected';
  return 'transient';
}

function address(value: string | { address: string }): string {
  return typeof value === 'string' ? value : value.address;
}

function recipientOutcomes(
  errors: ReadonlyArray<SmtpErrorLike>,
  rejected: ReadonlyArray<string | { address: string }>,
): RecipientOutcome[] {
  const outcomes = errors
    .filter((error) => error.recipient !== undefined)
    .map((error): RecipientOutcome => {
      const reply = parseSmtpReply(error.response, error.responseCode) ?? { text: error.message ?? '' };
      return { recipient: error.recipient as string, kind: classifyReply(reply), reply };
    });
  const named = new Set(outcomes.map((outcome) => outcome.recipient));
  for (const recipient of rejected.map(address)) {
    if (!named.has(recipient)) outcomes.push({ recipient, kind: 'rejected' });
  }
  return outcomes;
}

function summarize(recipients: readonly RecipientOutcome[]): SmtpOutcomeKind {
  const kinds = new Set(recipients.map((recipient) => recipient.kind));
  for (const kind of ['sent', 'throttled', 'transient', 'rejected'] as const)
    if (kinds.has(kind)) return kind;
  return 'rejected';
}

/**
 * Classifies a completed SMTP transaction: the accepted recipients are `sent`, each rejected recipient gets the
 * kind of its own reply (a 550 for one recipient does not touch the other).
 */
export function classifySmtpResult(info: SmtpSendInfo): SmtpSendOutcome {
  const rejected = recipientOutcomes(info.rejectedErrors ?? [], info.rejected ?? []);
  const reply = parseSmtpReply(info.response);
  const recipients: RecipientOutcome[] = [
    ...(info.accepted ?? []).map(address).map((recipient): RecipientOutcome => ({ recipient, kind: 'sent' })),
    ...rejected,
  ];
  const refused = rejected.length ? `; refused for ${rejected.map((r) => r.recipient).join(', ')}` : '';
  const kind = summarize(recipients);
  return {
    kind,
    recipients,
    ...(reply ? { reply } : {}),
    reason: kind === 'sent' ? `Accepted by the relay${refused}` : `No recipient accepted${refused}`,
    ...(kind === 'throttled' ? { retryAfterSeconds: maxRetry(rejected) } : {}),
  };
}

function maxRetry(recipients: readonly RecipientOutcome[]): number {
  return Math.max(
    DEFAULT_THROTTLE_RETRY_SECONDS,
    ...recipients
      .filter((r) => r.kind === 'throttled' && r.reply)
      .map((r) => retryAfterFor(r.reply as SmtpReply)),
  );
}

/**
 * Classifies a failed send (nodemailer error, or a Node socket error) for the given envelope recipients. The
 * server's reply text is kept verbatim in `reply.text` and in `reason`.
 */
export function classifySmtpError(
  error: SmtpErrorLike,
  envelopeRecipients: readonly string[],
): SmtpSendOutcome {
  const reply = parseSmtpReply(error.response, error.responseCode);
  const detail = reply?.text || error.message || 'unknown error';
  const all = (kind: SmtpOutcomeKind): RecipientOutcome[] =>
    envelopeRecipients.map((recipient) => ({ recipient, kind, ...(reply ? { reply } : {}) }));

  if (error.code && AUTH_CODES.has(error.code)) {
    const kind = reply?.code !== undefined && reply.code < 500 ? classifyReply(reply) : 'auth-failed';
    return {
      kind,
      recipients: all(kind),
      ...(reply ? { reply } : {}),
      reason:
        kind === 'auth-failed'
          ? `The relay refused the tenant's SMTP credentials: ${detail}`
          : `Authentication could not complete right now: ${detail}`,
      ...(kind === 'throttled' && reply ? { retryAfterSeconds: retryAfterFor(reply) } : {}),
    };
  }

  if (error.code === 'EENVELOPE' && (error.rejectedErrors?.length || error.rejected?.length)) {
    const recipients = recipientOutcomes(error.rejectedErrors ?? [], error.rejected ?? []);
    const kind = summarize(recipients);
    return {
      kind,
      recipients,
      ...(reply ? { reply } : {}),
      reason: `Every recipient was refused: ${recipients.map((r) => `${r.recipient} (${r.reply?.text ?? 'refused'})`).join('; ')}`,
      ...(kind === 'throttled' ? { retryAfterSeconds: maxRetry(recipients) } : {}),
    };
  }

  if (reply?.code !== undefined) {
    // A refusal while setting the session up (greeting, EHLO, STARTTLS) says nothing about this message: only a
    // throttle reply defers, anything else is retried and, if it persists, dead-lettered with the reply.
    const setup = error.command !== undefined && SETUP_COMMANDS.has(error.command);
    const replyKind = classifyReply(reply);
    const kind = setup && replyKind === 'rejected' ? 'transient' : replyKind;
    const step = error.command ? ` at ${error.command}` : '';
    return {
      kind,
      recipients: all(kind),
      reply,
      reason:
        kind === 'rejected'
          ? `The relay refused the message${step}: ${detail}`
          : kind === 'throttled'
            ? `The relay is throttling${step}: ${detail}`
            : `The relay failed temporarily${step}: ${detail}`,
      ...(kind === 'throttled' ? { retryAfterSeconds: retryAfterFor(reply) } : {}),
    };
  }

  const code = error.originalCode ?? error.code;
  const isConnection =
    (code !== undefined && CONNECTION_CODES.has(code)) || (error.code && CONNECTION_CODES.has(error.code));
  return {
    kind: 'transient',
    recipients: all('transient'),
    reason: isConnection
      ? `Could not talk to the relay (${code}): ${error.message ?? 'connection failed'}`
      : `Sending failed before the relay answered (${code ?? 'no code'}): ${error.message ?? 'unknown error'}`,
  };
}

/** The relay refused the tenant's credential; the tenant must fix its settings or secret. */
export class SmtpAuthError extends PermanentError {
  constructor(
    readonly outcome: SmtpSendOutcome,
    options?: ErrorOptions,
  ) {
    super('SMTP_AUTH_FAILED', outcome.reason, options);
    this.name = 'SmtpAuthError';
  }
}

/** The relay refused the message (or every recipient) with a 5xx; `outcome.recipients` keeps each reply. */
export class SmtpRejectedError extends PermanentError {
  constructor(
    readonly outcome: SmtpSendOutcome,
    options?: ErrorOptions,
  ) {
    super('SMTP_REJECTED', outcome.reason, options);
    this.name = 'SmtpRejectedError';
  }
}

/** A temporary relay or network failure: retry with backoff, then dead-letter with this reason. */
export class SmtpTransientError extends TransientError {
  constructor(
    readonly outcome: SmtpSendOutcome,
    options?: ErrorOptions,
  ) {
    super('SMTP_TRANSIENT', outcome.reason, options);
    this.name = 'SmtpTransientError';
  }
}

/** The relay asked us to slow down: defer for `retryAfterSeconds`, never drop. */
export class SmtpThrottledError extends ThrottledError {
  constructor(
    readonly outcome: SmtpSendOutcome,
    options?: ErrorOptions,
  ) {
    super(
      'SMTP_THROTTLED',
      outcome.reason,
      outcome.retryAfterSeconds ?? DEFAULT_THROTTLE_RETRY_SECONDS,
      options,
    );
    this.name = 'SmtpThrottledError';
  }
}

/**
 * The domain error for an outcome that is not `sent`, or `undefined` when it is. A `sent` outcome may still list
 * recipients that were refused or deferred; the caller records those per recipient.
 */
export function outcomeError(
  outcome: SmtpSendOutcome,
  cause?: unknown,
): SmtpAuthError | SmtpRejectedError | SmtpTransientError | SmtpThrottledError | undefined {
  const options = cause === undefined ? undefined : { cause };
  switch (outcome.kind) {
    case 'sent':
      return undefined;
    case 'auth-failed':
      return new SmtpAuthError(outcome, options);
    case 'rejected':
      return new SmtpRejectedError(outcome, options);
    case 'throttled':
      return new SmtpThrottledError(outcome, options);
    case 'transient':
      return new SmtpTransientError(outcome, options);
  }
}
