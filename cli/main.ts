import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SCOPES, type Scope } from '../lambdas/domain/scope';
import { type CliCommand, EXIT, type ExitCode, UsageError } from './cli-command';
import { createCliContext } from './cli-context';

const GLOBAL_OPTIONS = {
  scope: { type: 'string', default: 'dev' },
  local: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  region: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Loads every `cli/commands/*.ts` module; each exports `commands`. */
function loadCommands(): CliCommand[] {
  const dir = join(__dirname, 'commands');
  return readdirSync(dir)
    .filter((file) => file.endsWith('.ts'))
    .sort()
    .flatMap((file) => (require(join(dir, file)) as { commands: CliCommand[] }).commands);
}

function help(commands: readonly CliCommand[]): string {
  const lines = commands.map((c) => `  ${`${c.group} ${c.name}`.padEnd(26)}${c.summary}`);
  return `Usage: tenant-mail <group> <command> [options] [--scope prod|dev] [--local] [--json] [--region R]

Operates a tenant-mail deployment with your AWS credentials, or the local twin (\`npm start\`) with --local.

Commands:
${lines.join('\n')}

Exit codes: 0 ok, 1 a check found problems, 2 usage or invalid input, 3 not found, 4 AWS/relay error.`;
}

export async function main(argv: readonly string[]): Promise<ExitCode> {
  const commands = loadCommands();
  const [group, name] = argv;
  // A group with a single `run` command is called by its group name alone (`tenant-mail selftest --tenant T`).
  const exact = commands.find((c) => c.group === group && c.name === name);
  const single = exact ? undefined : commands.find((c) => c.group === group && c.name === 'run');
  const command = exact ?? single;
  const rest = argv.slice(single ? 1 : 2);
  if (!command) {
    const asked = !group || ['--help', '-h', 'help'].includes(group);
    const wanted = asked ? '' : `unknown command "${[group, name].filter(Boolean).join(' ')}"\n\n`;
    (asked ? console.log : console.error)(`${wanted}${help(commands)}`);
    return asked ? EXIT.OK : EXIT.USAGE;
  }
  const usage = `Usage: tenant-mail ${command.group}${command.name === 'run' ? '' : ` ${command.name}`} ${command.usage}`;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return EXIT.USAGE;
  }
  if (parsed.values.help) {
    console.log(`${command.summary}\n${usage}`);
    return EXIT.OK;
  }
  const scope = String(parsed.values.scope);
  if (!(SCOPES as readonly string[]).includes(scope)) {
    console.error(`--scope must be one of ${SCOPES.join(', ')}`);
    return EXIT.USAGE;
  }
  let ctx: ReturnType<typeof createCliContext> | undefined;
  try {
    ctx = createCliContext({
      scope: scope as Scope,
      json: Boolean(parsed.values.json),
      local: Boolean(parsed.values.local),
      ...(typeof parsed.values.region === 'string' ? { region: parsed.values.region } : {}),
      projectDir: join(__dirname, '..'),
    });
    return await command.run(ctx, { values: parsed.values, positionals: parsed.positionals });
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n${usage}`);
      return EXIT.USAGE;
    }
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.ERROR;
  } finally {
    ctx?.close();
  }
}

if (
  require.main === module ||
  process.argv[1]?.endsWith('tenant-mail.cjs') ||
  process.argv[1]?.endsWith('tenant-mail')
) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
