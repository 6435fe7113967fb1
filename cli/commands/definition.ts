import type { Command } from 'commander';
import { readJson } from '../files';
import { opt } from '../options';
import type { Runner } from '../runner';
import { definitionSaved, definitionTable } from '../views/notifications';

export function register(program: Command, runner: Runner): void {
  const group = program
    .command('definition')
    .description('notification definitions: which event sends which template to whom');
  group
    .command('put')
    .description('create or replace a notification definition from a JSON file (its template must exist)')
    .addOption(opt.file('the definition'))
    .action(
      runner.action<{ file: string }>(async ({ admin }, o) => {
        const definition = await admin.definitions.put(readJson(o.file));
        return { data: definition, text: () => definitionSaved(definition) };
      }),
    );
  group
    .command('list')
    .description("list a tenant's definitions (all environments, or one)")
    .addOption(opt.tenant())
    .addOption(opt.env(false))
    .action(
      runner.action<{ tenant: string; env?: string }>(async ({ admin }, o) => {
        const definitions = await admin.definitions.list(o.tenant, o.env);
        return { data: definitions, text: () => definitionTable(definitions) };
      }),
    );
  group
    .command('delete')
    .description('delete a definition')
    .addOption(opt.tenant())
    .addOption(opt.env())
    .requiredOption('--id <definition>', 'the definition id')
    .action(
      runner.action<{ tenant: string; env: string; id: string }>(async ({ admin }, o) => {
        await admin.definitions.delete(o.tenant, o.env, o.id);
        return { data: { deleted: o.id }, text: () => `deleted definition ${o.id}` };
      }),
    );
}
