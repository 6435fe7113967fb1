import { join } from 'node:path';
import { CommanderError } from 'commander';
import { EXIT, type ExitCode, exitCodeFor } from './exit-codes';
import { buildProgram } from './program';
import { type CliIo, Runner } from './runner';

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

/** The CLI's I/O when run as a program; `cli/` and `dist/` both sit one level below the project. */
export const PROCESS_IO: CliIo = {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  readStdin: readProcessStdin,
  env: process.env,
  projectDir: join(__dirname, '..'),
};

/** Commander's own outcomes: help asked for is 0, everything else it refuses is a usage error. */
function commanderExit(error: CommanderError): ExitCode {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.OK;
  return EXIT.USAGE;
}

/** Runs one command line (without `node` and the script) and returns its exit code. */
export async function main(argv: readonly string[], io: Partial<CliIo> = {}): Promise<ExitCode> {
  const runner = new Runner({ ...PROCESS_IO, ...io });
  const program = buildProgram(runner);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return commanderExit(error);
    runner.io.stderr(`error: ${error instanceof Error ? error.message : String(error)}`);
    return exitCodeFor(error);
  }
  return runner.exitCode;
}

/** The entry `bin/tenant-mail.cjs` calls. */
export function run(argv: readonly string[] = process.argv.slice(2)): void {
  main(argv).then((code) => {
    process.exitCode = code;
  });
}
