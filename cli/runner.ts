import type { Command } from 'commander';
import type { AdminClient } from '../client/admin-client';
import { EXIT, type ExitCode, exitCodeFor } from './exit-codes';
import type { LocalEndpoints } from './local-endpoints';

/** Where the CLI reads and writes; tests pass their own to run `main` in-process. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readStdin: () => Promise<string>;
  readonly env: NodeJS.ProcessEnv;
  /** The checkout whose `.local/endpoints.json` and `cdk.json` the CLI reads. */
  readonly projectDir: string;
}

/** The options every command accepts (declared once, on the program). */
export interface GlobalOptions {
  readonly scope?: string;
  readonly local?: boolean;
  readonly endpoints?: string;
  readonly region?: string;
  readonly json?: boolean;
}

/** What a command produced: data for `--json`, the text for people, and the exit code when not 0. */
export interface Outcome {
  readonly data: unknown;
  readonly text: () => string;
  readonly exit?: ExitCode;
}

/** What a command body gets besides its options. */
export interface CommandScope {
  readonly admin: AdminClient;
  readonly scope: AdminClient['scope'];
  /** The local twin's endpoints with `--local`. */
  readonly local?: LocalEndpoints;
  readonly io: CliIo;
  /** Progress for people (not printed with `--json`). */
  info(text: string): void;
}

export interface SessionExtras {
  /** `--dns-server` of the identity commands. */
  readonly dnsServers?: readonly string[];
  /** `--ca-file` of `smtp test`. */
  readonly caFile?: string;
}

/** Runs command bodies: opens the session (AWS SDK loaded only now), prints the outcome, maps errors to exits. */
export class Runner {
  exitCode: ExitCode = EXIT.OK;

  constructor(readonly io: CliIo) {}

  /** An action for commander: `command.action(runner.action((cli, opts, args) => …))`. */
  action<O extends object>(
    body: (cli: CommandScope, options: O & GlobalOptions, args: readonly string[]) => Promise<Outcome>,
    extras: (options: O) => SessionExtras = () => ({}),
  ): (...args: unknown[]) => Promise<void> {
    return async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const options = command.optsWithGlobals() as O & GlobalOptions;
      const json = options.json === true;
      let close = () => {};
      try {
        const { openSession } = await import('./session');
        const session = await openSession(options, extras(options), this.io);
        close = session.close;
        const outcome = await body(
          {
            ...session,
            io: this.io,
            info: (text) => {
              if (!json) this.io.stdout(text);
            },
          },
          options,
          command.args,
        );
        this.io.stdout(json ? JSON.stringify(outcome.data, null, 2) : outcome.text());
        this.exitCode = outcome.exit ?? EXIT.OK;
      } catch (error) {
        this.exitCode = exitCodeFor(error);
        const message = error instanceof Error ? error.message : String(error);
        if (json) {
          const code = (error as { code?: unknown }).code;
          this.io.stdout(
            JSON.stringify({ error: { ...(typeof code === 'string' ? { code } : {}), message } }, null, 2),
          );
        }
        this.io.stderr(`error: ${message}`);
      } finally {
        close();
      }
    };
  }
}
