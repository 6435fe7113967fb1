import { readFileSync } from 'node:fs';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDefinitionStore } from '../../lambdas/adapters/definition-store';
import { parseInboundMessage } from '../../lambdas/domain/notifications/inbound-message';
import {
  NotificationValidationError,
  TemplateInUseError,
  TemplateNotFoundError,
  TemplateRenderError,
} from '../../lambdas/domain/notifications/notification-errors';
import { renderPreview } from '../../lambdas/domain/notifications/template-renderer';
import { ENVIRONMENTS, type Environment, SCOPE_ENVIRONMENTS } from '../../lambdas/domain/scope';
import { type CliCommand, type CommandArgs, EXIT, requireOption, UsageError } from '../cli-command';
import { type CliContext, formatTable } from '../cli-context';

const store = (ctx: CliContext) =>
  new DynamoDefinitionStore({
    client: ctx.documents,
    tableName: ctx.tableName('definitions'),
    cacheTtlSeconds: 0,
  });

function readTextFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

function readJsonFile(file: string): unknown {
  const text = readTextFile(file);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file} is not JSON: ${(error as Error).message}`);
  }
}

function environmentOption(args: CommandArgs, required: boolean): Environment | undefined {
  const value = args.values.env;
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || !(ENVIRONMENTS as readonly string[]).includes(value)) {
    throw new UsageError(`--env must be one of ${ENVIRONMENTS.join(', ')}`);
  }
  return value as Environment;
}

/** Invalid input (definition, template, event) is a usage error: exit 2 with every field problem. */
async function validated<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof NotificationValidationError) throw new UsageError(error.message);
    throw error;
  }
}

export const commands: CliCommand[] = [
  {
    group: 'definition',
    name: 'put',
    summary: 'create or replace a notification definition from a JSON file (its template must exist)',
    usage: '--file definition.json',
    options: { file: { type: 'string' } },
    async run(ctx, args) {
      const input = readJsonFile(requireOption(args, 'file'));
      try {
        const definition = await validated(() => store(ctx).putDefinition(input));
        ctx.out.result(
          definition,
          () =>
            `saved definition ${definition.definitionId} of ${definition.tenantId} in ${definition.environment}: ${definition.eventType} → template ${definition.templateId} (${definition.category}${definition.active ? '' : ', inactive'})`,
        );
        return EXIT.OK;
      } catch (error) {
        if (!(error instanceof TemplateNotFoundError)) throw error;
        ctx.out.error(`${error.message}: put the template first (tenant-mail template put)`);
        return EXIT.NOT_FOUND;
      }
    },
  },
  {
    group: 'definition',
    name: 'list',
    summary: "list a tenant's definitions (all environments, or one)",
    usage: '--tenant T [--env E]',
    options: { tenant: { type: 'string' }, env: { type: 'string' } },
    async run(ctx, args) {
      const tenantId = requireOption(args, 'tenant');
      const definitions = await store(ctx).listDefinitions(tenantId, environmentOption(args, false));
      const rows = definitions.map((d) => ({
        environment: d.environment,
        definition: d.definitionId,
        eventType: d.eventType,
        template: d.templateId,
        category: d.category,
        active: d.active ? 'yes' : 'no',
        fanOut: d.forEach?.items ?? '',
      }));
      ctx.out.result(definitions, () =>
        formatTable(rows, [
          'environment',
          'definition',
          'eventType',
          'template',
          'category',
          'active',
          'fanOut',
        ]),
      );
      return EXIT.OK;
    },
  },
  {
    group: 'definition',
    name: 'delete',
    summary: 'delete a definition',
    usage: '--tenant T --env E --id DEFINITION',
    options: { tenant: { type: 'string' }, env: { type: 'string' }, id: { type: 'string' } },
    async run(ctx, args) {
      const tenantId = requireOption(args, 'tenant');
      const environment = environmentOption(args, true) as Environment;
      const definitionId = requireOption(args, 'id');
      const existed = await store(ctx).deleteDefinition(tenantId, environment, definitionId);
      if (!existed) {
        ctx.out.error(`definition ${definitionId} of ${tenantId} in ${environment} not found`);
        return EXIT.NOT_FOUND;
      }
      ctx.out.result({ deleted: definitionId }, () => `deleted definition ${definitionId}`);
      return EXIT.OK;
    },
  },
  {
    group: 'template',
    name: 'put',
    summary: 'create or replace a template from a JSON file (fields and Liquid syntax are checked)',
    usage: '--file template.json',
    options: { file: { type: 'string' } },
    async run(ctx, args) {
      const input = readJsonFile(requireOption(args, 'file'));
      const template = await validated(() => store(ctx).putTemplate(input));
      ctx.out.result(
        template,
        () => `saved template ${template.templateId} of ${template.tenantId}, version ${template.version}`,
      );
      return EXIT.OK;
    },
  },
  {
    group: 'template',
    name: 'list',
    summary: "list a tenant's templates",
    usage: '--tenant T',
    options: { tenant: { type: 'string' } },
    async run(ctx, args) {
      const templates = await store(ctx).listTemplates(requireOption(args, 'tenant'));
      const rows = templates.map((t) => ({
        template: t.templateId,
        version: t.version,
        subject: t.subject.length > 60 ? `${t.subject.slice(0, 57)}...` : t.subject,
        parts: [t.html === undefined ? '' : 'html', t.text === undefined ? 'text(derived)' : 'text']
          .filter(Boolean)
          .join('+'),
        headers: Object.keys(t.headers).join(' '),
        updatedAt: t.updatedAt,
      }));
      ctx.out.result(templates, () =>
        formatTable(rows, ['template', 'version', 'subject', 'parts', 'headers', 'updatedAt']),
      );
      return EXIT.OK;
    },
  },
  {
    group: 'template',
    name: 'render',
    summary: 'render a stored template for a sample event and print subject, headers, html and text',
    usage: '--tenant T --template ID --event event.json [--definition D]',
    options: {
      tenant: { type: 'string' },
      template: { type: 'string' },
      event: { type: 'string' },
      definition: { type: 'string' },
    },
    async run(ctx, args) {
      const tenantId = requireOption(args, 'tenant');
      const templateId = requireOption(args, 'template');
      const event = readJsonFile(requireOption(args, 'event'));
      const definitions = store(ctx);
      const template = await definitions.getTemplate(tenantId, templateId);
      if (!template) {
        ctx.out.error(`tenant ${tenantId} has no template ${templateId}`);
        return EXIT.NOT_FOUND;
      }
      const definitionId = args.values.definition;
      let definition: Awaited<ReturnType<typeof definitions.getDefinition>>;
      if (typeof definitionId === 'string') {
        const environment = (event as { environment?: unknown } | null)?.environment;
        if (!(ENVIRONMENTS as readonly string[]).includes(String(environment))) {
          throw new UsageError('the sample event has no valid environment to look the definition up in');
        }
        definition = await definitions.getDefinition(tenantId, environment as Environment, definitionId);
        if (!definition) {
          ctx.out.error(`definition ${definitionId} of ${tenantId} in ${String(environment)} not found`);
          return EXIT.NOT_FOUND;
        }
      }
      try {
        const preview = await validated(() =>
          renderPreview(template, event, definition ? { definition } : {}),
        );
        const { context: _context, ...rendered } = preview;
        ctx.out.result(rendered, () =>
          [
            ...(preview.to ? [`To: ${preview.to}`] : []),
            `Subject: ${preview.subject}`,
            ...Object.entries(preview.headers).map(([name, value]) => `${name}: ${value}`),
            '',
            '--- html ---',
            preview.html ?? '(none)',
            '--- text ---',
            preview.text,
          ].join('\n'),
        );
        return EXIT.OK;
      } catch (error) {
        if (!(error instanceof TemplateRenderError)) throw error;
        ctx.out.error(`RENDERING_FAILURE: ${error.message}`);
        return EXIT.CHECK_FAILED;
      }
    },
  },
  {
    group: 'template',
    name: 'delete',
    summary: 'delete a template no definition uses',
    usage: '--tenant T --template ID',
    options: { tenant: { type: 'string' }, template: { type: 'string' } },
    async run(ctx, args) {
      const tenantId = requireOption(args, 'tenant');
      const templateId = requireOption(args, 'template');
      try {
        const existed = await store(ctx).deleteTemplate(tenantId, templateId);
        if (!existed) {
          ctx.out.error(`tenant ${tenantId} has no template ${templateId}`);
          return EXIT.NOT_FOUND;
        }
      } catch (error) {
        if (!(error instanceof TemplateInUseError)) throw error;
        ctx.out.error(error.message);
        return EXIT.CHECK_FAILED;
      }
      ctx.out.result({ deleted: templateId }, () => `deleted template ${templateId}`);
      return EXIT.OK;
    },
  },
  {
    group: 'event',
    name: 'publish',
    summary: 'validate an event (or composed email) JSON file and publish it to the events queue',
    usage: '<file>',
    async run(ctx, args) {
      const [file] = args.positionals;
      if (!file) throw new UsageError('name the JSON file to publish');
      const body = readTextFile(file);
      // Validate before publishing, so a typo is reported here rather than found in the events DLQ.
      const message = await validated(async () => parseInboundMessage(body));
      const environment = message.kind === 'event' ? message.event.environment : message.email.environment;
      if (!SCOPE_ENVIRONMENTS[ctx.scope].includes(environment)) {
        throw new UsageError(
          `environment ${environment} is not served by the ${ctx.scope} scope (it serves ${SCOPE_ENVIRONMENTS[ctx.scope].join(', ')}): use --scope ${ctx.scope === 'prod' ? 'dev' : 'prod'}`,
        );
      }
      const queueUrl = await ctx.queueUrl('events');
      const { MessageId } = await ctx.sqs.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }),
      );
      const what =
        message.kind === 'event'
          ? `event ${message.event.id} (${message.event.type}) of ${message.event.tenantid}`
          : `composed email ${message.email.idempotencyKey} of ${message.email.tenantId}`;
      ctx.out.result({ messageId: MessageId, kind: message.kind, environment, queueUrl }, () =>
        [
          `published ${what} in ${environment} to the ${ctx.scope} events queue (SQS message ${MessageId})`,
          ...(ctx.local ? [`watch the result in the mail viewer: ${ctx.local.viewer}`] : []),
        ].join('\n'),
      );
      return EXIT.OK;
    },
  },
];
