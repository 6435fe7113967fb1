/** The SES v2 error codes the emulator returns, with the HTTP status the real service (and the SDK model) uses. */
const STATUS = {
  AlreadyExistsException: 400,
  BadRequestException: 400,
  LimitExceededException: 400,
  MessageRejected: 400,
  MailFromDomainNotVerifiedException: 400,
  SendingPausedException: 400,
  AccountSuspendedException: 400,
  NotFoundException: 404,
  ConflictException: 409,
  TooManyRequestsException: 429,
  InternalServiceErrorException: 500,
} as const;

export type SesErrorCode = keyof typeof STATUS;

/**
 * An error the emulator answers with the SES v2 REST-JSON error shape: the status code of the SDK model,
 * an `x-amzn-errortype` header and a `{ "message": … }` body, which `@aws-sdk/client-sesv2` turns into its
 * typed exception (`MessageRejected`, `NotFoundException`, …).
 */
export class SesApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: SesErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'SesApiError';
    this.status = STATUS[code];
  }
}

export const badRequest = (message: string): SesApiError => new SesApiError('BadRequestException', message);
export const notFound = (message: string): SesApiError => new SesApiError('NotFoundException', message);
export const alreadyExists = (message: string): SesApiError =>
  new SesApiError('AlreadyExistsException', message);
export const messageRejected = (message: string): SesApiError => new SesApiError('MessageRejected', message);
