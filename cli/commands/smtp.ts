import type { Command } from 'commander';
import { EXIT } from '../exit-codes';
import { readJson, readSecretFromStdin } from '../files';
import { opt } from '../options';
import type { Runner } from '../runner';
import { formatConnectionReport, formatSmtpSaved } from '../views/smtp';

export function register(program: Command, runner: Runner): void {
  const group = program
    .command('smtp')
    .description("a tenant's own SMTP relay: settings, credential, connection test");
  group
    .command('put')
    .description(
      "validate and save a tenant's SMTP relay settings for one environment, and store its credential",
    )
    .addOption(opt.tenant())
    .addOption(opt.env())
    .addOption(opt.file('the relay settings'))
    .option('--password-stdin', 'read the password (or the OAuth2 JSON) from standard input')
    .action(
      runner.action<{ tenant: string; env: string; file: string; passwordStdin?: boolean }>(
        async ({ admin, local, io }, o) => {
          const input = readJson(o.file);
          const secret = o.passwordStdin ? await readSecretFromStdin(io) : undefined;
          const result = await admin.smtp.put(o.tenant, o.env, input, secret);
          return { data: result, text: () => formatSmtpSaved(result, local !== undefined) };
        },
      ),
    );
  group
    .command('test')
    .description(
      "connect to a tenant's relay: TCP, TLS, greeting, EHLO, STARTTLS, AUTH; names the failing step",
    )
    .addOption(opt.tenant())
    .addOption(opt.env())
    .option('--ca-file <relay-ca.pem>', 'trust this CA for the relay (with --local: the twin’s relay CA)')
    .action(
      runner.action<{ tenant: string; env: string; caFile?: string }>(
        async ({ admin }, o) => {
          const result = await admin.smtp.test(o.tenant, o.env);
          return {
            data: result.report,
            text: () => formatConnectionReport(result),
            ...(result.report.ok ? {} : { exit: EXIT.CHECK_FAILED }),
          };
        },
        (o) => (o.caFile ? { caFile: o.caFile } : {}),
      ),
    );
}
