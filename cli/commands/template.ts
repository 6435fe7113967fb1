import type { Command } from 'commander';
import { readJson } from '../files';
import { opt } from '../options';
import type { Runner } from '../runner';
import { renderedText, templateTable } from '../views/notifications';

export function register(program: Command, runner: Runner): void {
  const group = program.command('template').description('templates (Liquid) and their preview');
  group
    .command('put')
    .description('create or replace a template from a JSON file (fields and Liquid syntax are checked)')
    .addOption(opt.file('the template'))
    .action(
      runner.action<{ file: string }>(async ({ admin }, o) => {
        const template = await admin.templates.put(readJson(o.file));
        return {
          data: template,
          text: () =>
            `saved template ${template.templateId} of ${template.tenantId}, version ${template.version}`,
        };
      }),
    );
  group
    .command('list')
    .description("list a tenant's templates")
    .addOption(opt.tenant())
    .action(
      runner.action<{ tenant: string }>(async ({ admin }, o) => {
        const templates = await admin.templates.list(o.tenant);
        return { data: templates, text: () => templateTable(templates) };
      }),
    );
  group
    .command('render')
    .description('render a stored template for a sample event and print subject, headers, html and text')
    .addOption(opt.tenant())
    .requiredOption('--template <id>', 'the template id')
    .requiredOption('--event <event.json>', 'a sample event (JSON file)')
    .option('--definition <id>', "render as this definition's first email (fan-out item and recipient)")
    .action(
      runner.action<{ tenant: string; template: string; event: string; definition?: string }>(
        async ({ admin }, o) => {
          const rendered = await admin.templates.render(
            o.tenant,
            o.template,
            readJson(o.event),
            o.definition ? { definitionId: o.definition } : {},
          );
          return { data: rendered, text: () => renderedText(rendered) };
        },
      ),
    );
  group
    .command('delete')
    .description('delete a template no definition uses')
    .addOption(opt.tenant())
    .requiredOption('--template <id>', 'the template id')
    .action(
      runner.action<{ tenant: string; template: string }>(async ({ admin }, o) => {
        await admin.templates.delete(o.tenant, o.template);
        return { data: { deleted: o.template }, text: () => `deleted template ${o.template}` };
      }),
    );
}
