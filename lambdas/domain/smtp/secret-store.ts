import { PermanentError, TransientError } from '../errors';

/**
 * Port for reading a secret by reference (a Secrets Manager name such as `tenant-mail/prod/tenants/t1/smtp`).
 * Production uses Secrets Manager, the local twin a JSON file; the composition root picks one.
 */
export interface SecretStore {
  /** The secret's string value. Throws `SecretNotFoundError` when there is none. */
  get(ref: string): Promise<string>;
  /** Forgets a cached value, e.g. after the relay refused the credential (it may have been rotated). */
  invalidate?(ref: string): void;
}

/** The referenced secret does not exist (or is empty): the tenant's settings point nowhere. */
export class SecretNotFoundError extends PermanentError {
  constructor(
    readonly ref: string,
    options?: ErrorOptions,
  ) {
    super('SECRET_NOT_FOUND', `Secret '${ref}' does not exist or has no string value`, options);
    this.name = 'SecretNotFoundError';
  }
}

/** The sender may not read the secret: the stack's grant and the settings disagree. */
export class SecretAccessDeniedError extends PermanentError {
  constructor(
    readonly ref: string,
    options?: ErrorOptions,
  ) {
    super('SECRET_ACCESS_DENIED', `Not allowed to read secret '${ref}'`, options);
    this.name = 'SecretAccessDeniedError';
  }
}

/** The secret store could not answer now (throttled, network): try the message again later. */
export class SecretStoreUnavailableError extends TransientError {
  constructor(
    readonly ref: string,
    options?: ErrorOptions,
  ) {
    super('SECRET_STORE_UNAVAILABLE', `Could not read secret '${ref}' right now`, options);
    this.name = 'SecretStoreUnavailableError';
  }
}

/** The secret exists but its value does not have the shape the auth type needs. */
export class InvalidSecretValueError extends PermanentError {
  constructor(
    readonly ref: string,
    detail: string,
  ) {
    super('INVALID_SECRET_VALUE', `Secret '${ref}' is not a valid credential: ${detail}`);
    this.name = 'InvalidSecretValueError';
  }
}
