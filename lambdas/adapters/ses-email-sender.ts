import { type SESv2Client, SESv2ServiceException, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { PermanentError, ThrottledError, TransientError } from '../domain/errors';
import {
  type EmailSender,
  type OutgoingEmail,
  type SendOptions,
  type SendResult,
  waitUntil,
} from '../domain/sending/ports';
import { buildRawEmail } from './mime';

export interface SesEmailSenderOptions {
  /** The scope's configuration set: event publishing, TLS policy, suppression. */
  readonly configurationSetName: string;
  /** Domain used in the Message-ID header. */
  readonly messageIdDomain: string;
}

/** SES errors that no retry will fix: the message or its From is not acceptable. */
const PERMANENT = new Set([
  'MessageRejected',
  'MailFromDomainNotVerifiedException',
  'BadRequestException',
  'NotFoundException',
  'ConflictException',
]);

/** Over the max send rate SES asks for a short pause; over the daily quota, AWS suggests waiting up to 10 minutes. */
const RATE_RETRY_SECONDS = 2;
const QUOTA_RETRY_SECONDS = 600;
/** A suspended account needs AWS support to act: hold the mail and look again hourly rather than every few seconds. */
const SUSPENDED_RETRY_SECONDS = 3600;

/**
 * Sends through SES v2 `SendEmail` with raw content (the v2 form of SendRawEmail), the scope's configuration
 * set, message tags and, when given, the SES tenant. Maps every SES failure to a domain error so nothing is
 * dropped: throttling and paused sending defer, 5xx and network errors retry, rejections are permanent.
 */
export class SesEmailSender implements EmailSender {
  constructor(
    private readonly client: SESv2Client,
    private readonly options: SesEmailSenderOptions,
  ) {}

  async send(email: OutgoingEmail, options: SendOptions = {}): Promise<SendResult> {
    const raw = await buildRawEmail(email, this.options.messageIdDomain);
    await waitUntil(await options.pace?.());
    try {
      const result = await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: raw.from,
          Destination: {
            ToAddresses: [...email.to],
            CcAddresses: [...email.cc],
            BccAddresses: [...email.bcc],
          },
          Content: { Raw: { Data: raw.data } },
          ConfigurationSetName: this.options.configurationSetName,
          EmailTags: Object.entries(email.tags).map(([Name, Value]) => ({ Name, Value })),
          ...(email.sesTenantName ? { TenantName: email.sesTenantName } : {}),
        }),
      );
      if (!result.MessageId)
        throw new TransientError('SES_NO_MESSAGE_ID', 'SES accepted the request but returned no MessageId');
      return { providerMessageId: result.MessageId };
    } catch (error) {
      throw classifySesError(error);
    }
  }
}

/**
 * Maps an SES v2 error to a domain error (exported for the tests of the mapping). SES v2 answers throttling
 * with HTTP 429 `TooManyRequestsException` (`ThrottlingException` is the name AWS's guide uses); the daily
 * quota differs from the send rate only in its message. Anything that is not a service answer (reset,
 * refused, timeout) is transient. `test/fixtures/ses-errors/` holds the recorded shapes.
 */
export function classifySesError(error: unknown): Error {
  if (error instanceof PermanentError || error instanceof TransientError || error instanceof ThrottledError)
    return error;
  if (error instanceof SESv2ServiceException) {
    const reason = `SES ${error.name}: ${error.message}`;
    if (error.name === 'ThrottlingException' || error.name === 'TooManyRequestsException') {
      const quota = /daily message quota/i.test(error.message);
      return new ThrottledError(
        quota ? 'SES_DAILY_QUOTA' : 'SES_THROTTLED',
        reason,
        quota ? QUOTA_RETRY_SECONDS : RATE_RETRY_SECONDS,
        { cause: error },
      );
    }
    // Never drop mail because the account or configuration set is paused or suspended: hold it and try again later.
    if (error.name === 'SendingPausedException')
      return new ThrottledError('SES_SENDING_PAUSED', reason, QUOTA_RETRY_SECONDS, { cause: error });
    if (error.name === 'AccountSuspendedException')
      return new ThrottledError('SES_ACCOUNT_SUSPENDED', reason, SUSPENDED_RETRY_SECONDS, { cause: error });
    if (error.name === 'LimitExceededException')
      return new ThrottledError('SES_LIMIT', reason, 60, { cause: error });
    if (PERMANENT.has(error.name))
      return new PermanentError(
        error.name === 'MessageRejected' ? 'SES_REJECTED' : 'SES_BAD_REQUEST',
        reason,
        { cause: error },
      );
    return new TransientError('SES_ERROR', reason, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new TransientError('SES_UNREACHABLE', `SES call failed: ${message}`, { cause: error });
}
