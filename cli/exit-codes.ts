import { type ErrorKind, errorKind } from '../client/admin-errors';

/** Exit codes scripts can rely on (also printed by `tenant-mail --help`). */
export const EXIT = {
  OK: 0,
  /** The command ran, and what it checked is not right (e.g. `identity doctor` found a missing record). */
  CHECK_FAILED: 1,
  /** Bad arguments or invalid input; the message says which. */
  USAGE: 2,
  /** The tenant, identity, definition, message… named does not exist. */
  NOT_FOUND: 3,
  /** AWS, an emulator or a relay failed (or a bug: the message says so). */
  ERROR: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const BY_KIND: Record<ErrorKind, ExitCode> = {
  invalid: EXIT.USAGE,
  'not-found': EXIT.NOT_FOUND,
  unavailable: EXIT.ERROR,
  internal: EXIT.ERROR,
};

/** The one mapping from an error to an exit code: the admin client's error kinds. */
export function exitCodeFor(error: unknown): ExitCode {
  return BY_KIND[errorKind(error)];
}

export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  a check found problems (identity doctor, smtp test, selftest, message stuck)
  2  usage or invalid input
  3  not found
  4  AWS, emulator or relay error`;
