import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDefinitionStore } from '../lambdas/adapters/definition-store';
import type { Definition } from '../lambdas/domain/notifications/definition-schema';
import { type InboundMessage, parseInboundMessage } from '../lambdas/domain/notifications/inbound-message';
import { type PreviewResult, renderPreview } from '../lambdas/domain/notifications/template-renderer';
import type { Template } from '../lambdas/domain/notifications/template-schema';
import { SCOPE_ENVIRONMENTS } from '../lambdas/domain/scope';
import type { AdminContext } from './admin-context';
import { AdminInputError, AdminNotFoundError } from './admin-errors';

const store = (ctx: AdminContext) =>
  new DynamoDefinitionStore({
    client: ctx.documents,
    tableName: ctx.tableName('definitions'),
    cacheTtlSeconds: 0,
  });

/** Notification definitions: which event type sends which template to whom, per tenant and environment. */
export class DefinitionsApi {
  constructor(private readonly ctx: AdminContext) {}

  /** Creates or replaces one. @throws InvalidDefinitionError; TemplateNotFoundError when its template is missing */
  async put(input: unknown): Promise<Definition> {
    return store(this.ctx).putDefinition(input);
  }

  async list(tenantId: string, env?: string): Promise<Definition[]> {
    return store(this.ctx).listDefinitions(
      tenantId,
      env === undefined ? undefined : this.ctx.environment(env),
    );
  }

  async get(tenantId: string, env: string, definitionId: string): Promise<Definition> {
    const environment = this.ctx.environment(env);
    const definition = await store(this.ctx).getDefinition(tenantId, environment, definitionId);
    if (!definition)
      throw new AdminNotFoundError(
        'definition',
        `definition ${definitionId} of ${tenantId} in ${environment} not found`,
      );
    return definition;
  }

  async delete(tenantId: string, env: string, definitionId: string): Promise<void> {
    const environment = this.ctx.environment(env);
    if (!(await store(this.ctx).deleteDefinition(tenantId, environment, definitionId)))
      throw new AdminNotFoundError(
        'definition',
        `definition ${definitionId} of ${tenantId} in ${environment} not found`,
      );
  }
}

/** Templates (Liquid, rendered for untrusted input) and their preview. */
export class TemplatesApi {
  constructor(
    private readonly ctx: AdminContext,
    private readonly definitions: DefinitionsApi,
  ) {}

  /** Creates or replaces one; fields and Liquid syntax are checked. @throws InvalidTemplateError */
  async put(input: unknown): Promise<Template> {
    return store(this.ctx).putTemplate(input);
  }

  async list(tenantId: string): Promise<Template[]> {
    return store(this.ctx).listTemplates(tenantId);
  }

  async get(tenantId: string, templateId: string): Promise<Template> {
    const template = await store(this.ctx).getTemplate(tenantId, templateId);
    if (!template)
      throw new AdminNotFoundError('template', `tenant ${tenantId} has no template ${templateId}`);
    return template;
  }

  /** Deletes a template no definition uses. @throws TemplateInUseError */
  async delete(tenantId: string, templateId: string): Promise<void> {
    if (!(await store(this.ctx).deleteTemplate(tenantId, templateId)))
      throw new AdminNotFoundError('template', `tenant ${tenantId} has no template ${templateId}`);
  }

  /**
   * Renders a stored template for a sample event, as the dispatcher would (with a definition: its first job).
   * @throws InvalidEventError; TemplateRenderError
   */
  async render(
    tenantId: string,
    templateId: string,
    sampleEvent: unknown,
    options: { readonly definitionId?: string } = {},
  ): Promise<Omit<PreviewResult, 'context'>> {
    const template = await this.get(tenantId, templateId);
    let definition: Definition | undefined;
    if (options.definitionId !== undefined) {
      const environment = (sampleEvent as { environment?: unknown } | null)?.environment;
      if (typeof environment !== 'string')
        throw new AdminInputError('the sample event has no environment to look the definition up in');
      definition = await this.definitions.get(tenantId, environment, options.definitionId);
    }
    const { context: _context, ...rendered } = await renderPreview(
      template,
      sampleEvent,
      definition ? { definition } : {},
    );
    return rendered;
  }
}

export interface PublishResult {
  readonly sqsMessageId: string;
  readonly message: InboundMessage;
  readonly environment: string;
}

/** Publishes an event (or composed email) to the scope's events queue, validated first as the dispatcher does. */
export class EventsApi {
  constructor(private readonly ctx: AdminContext) {}

  async publish(body: string): Promise<PublishResult> {
    const message = parseInboundMessage(body);
    const environment = message.kind === 'event' ? message.event.environment : message.email.environment;
    if (!SCOPE_ENVIRONMENTS[this.ctx.scope].includes(environment)) this.ctx.environment(environment);
    const { MessageId } = await this.ctx.clients.sqs.send(
      new SendMessageCommand({ QueueUrl: await this.ctx.queueUrl('events'), MessageBody: body }),
    );
    return { sqsMessageId: MessageId ?? '', message, environment };
  }
}
