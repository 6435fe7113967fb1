import { Command, Option } from 'commander';
import { SCOPES } from '../lambdas/domain/scope';
import { register as definition } from './commands/definition';
import { register as dlq } from './commands/dlq';
import { register as event } from './commands/event';
import { register as identity } from './commands/identity';
import { register as message } from './commands/message';
import { register as selftest } from './commands/selftest';
import { register as smtp } from './commands/smtp';
import { register as suppression } from './commands/suppression';
import { register as template } from './commands/template';
import { register as tenant } from './commands/tenant';
import { completionScript, SHELLS } from './completion';
import { EXIT_CODES_HELP } from './exit-codes';
import type { Runner } from './runner';

/** The command groups, in the order `--help` lists them. */
const GROUPS = [tenant, identity, smtp, definition, template, event, suppression, message, dlq, selftest];

/**
 * The whole command tree on commander: global options once here, each group's commands in
 * `cli/commands/<group>.ts`, every action a call of the admin client through the runner.
 */
export function buildProgram(runner: Runner): Command {
  const program = new Command('tenant-mail')
    .description(
      'Operates a tenant-mail deployment with your AWS credentials, or the local twin (`npm start`) with --local.',
    )
    .addOption(
      new Option('--scope <scope>', 'verification scope (with --local: the twin’s)')
        .choices(SCOPES)
        .env('TENANT_MAIL_SCOPE'),
    )
    .option('--local', 'the local twin: endpoints from .local/endpoints.json')
    .addOption(
      new Option('--endpoints <file>', 'the twin’s endpoints file (with --local)').env(
        'TENANT_MAIL_ENDPOINTS',
      ),
    )
    .addOption(new Option('--region <region>', 'AWS region (default: the SDK’s)').env('TENANT_MAIL_REGION'))
    .option('--json', 'JSON output for scripts')
    .configureOutput({
      writeOut: (s) => runner.io.stdout(s.replace(/\n$/, '')),
      writeErr: (s) => runner.io.stderr(s.replace(/\n$/, '')),
    })
    .showSuggestionAfterError(true)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .addHelpText('after', `\n${EXIT_CODES_HELP}`);
  for (const group of GROUPS) group(program, runner);
  program
    .command('completion')
    .description('print a shell completion script: eval "$(tenant-mail completion bash)"')
    .addArgument(program.createArgument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .action((shell: (typeof SHELLS)[number]) => runner.io.stdout(completionScript(program, shell)));
  return program;
}
