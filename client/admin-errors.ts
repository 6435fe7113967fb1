import { DomainError, PermanentError } from '../lambdas/domain/errors';

/**
 * Input the admin client refuses before touching anything: a missing or malformed argument, a file that is not
 * JSON, an environment of the other scope. Same shape as the domain's own validation errors (a `PermanentError`
 * with a code), so a caller handles both with one `errorKind`.
 */
export class AdminInputError extends PermanentError {
  constructor(message: string, code = 'INVALID_INPUT', options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'AdminInputError';
  }
}

/** The tenant, identity, definition, template, message… named does not exist in this scope. */
export class AdminNotFoundError extends PermanentError {
  constructor(
    readonly what: string,
    message: string,
  ) {
    super(`${what.toUpperCase().replace(/[^A-Z]+/g, '_')}_NOT_FOUND`, message);
    this.name = 'AdminNotFoundError';
  }
}

/**
 * How a caller should treat an error of the admin client: `invalid` (fix the input), `not-found`, `unavailable`
 * (AWS, an emulator or a relay failed: try again), or `internal` (a bug). The CLI's exit codes and an admin
 * backend's HTTP statuses come from this one mapping.
 */
export type ErrorKind = 'invalid' | 'not-found' | 'unavailable' | 'internal';

/** Domain codes that name something missing (the domain's own errors, beside `AdminNotFoundError`). */
const NOT_FOUND_CODES: ReadonlySet<string> = new Set([
  'UNKNOWN_TENANT',
  'IDENTITY_NOT_FOUND',
  'TEMPLATE_NOT_FOUND',
]);

export function errorKind(error: unknown): ErrorKind {
  if (error instanceof AdminNotFoundError) return 'not-found';
  if (error instanceof DomainError) {
    if (NOT_FOUND_CODES.has(error.code)) return 'not-found';
    return error.kind === 'permanent' ? 'invalid' : 'unavailable';
  }
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError)
    return 'internal';
  // Everything else comes from the AWS SDK, a socket or a relay.
  return 'unavailable';
}
