import type { ParseArgsConfig } from 'node:util';
import type { CliContext } from './cli-context';

/** Exit codes scripts can rely on. */
export const EXIT = {
  OK: 0,
  /** The command ran, and what it checked is not right (e.g. `identity doctor` found a missing record). */
  CHECK_FAILED: 1,
  /** Bad arguments or invalid input; the message says which. */
  USAGE: 2,
  /** The tenant, identity, definition… named does not exist. */
  NOT_FOUND: 3,
  /** AWS, an emulator or a relay failed. */
  ERROR: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface CommandArgs {
  readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  readonly positionals: readonly string[];
}

/** One `tenant-mail <group> <name>` command. Each file in cli/commands/ exports `commands: CliCommand[]`. */
export interface CliCommand {
  readonly group: string;
  readonly name: string;
  readonly summary: string;
  /** Argument synopsis after `tenant-mail <group> <name>`, e.g. `--tenant T --env E`. */
  readonly usage: string;
  readonly options?: ParseArgsConfig['options'];
  run(ctx: CliContext, args: CommandArgs): Promise<ExitCode>;
}

/** Thrown for bad arguments; main prints the message and the command's usage, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A required string option, or a UsageError naming it. */
export function requireOption(args: CommandArgs, name: string): string {
  const value = args.values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}
