import type { PublishResult } from '../../client/notifications';
import type { Definition } from '../../lambdas/domain/notifications/definition-schema';
import type { PreviewResult } from '../../lambdas/domain/notifications/template-renderer';
import type { Template } from '../../lambdas/domain/notifications/template-schema';
import { formatTable } from '../output';

export const definitionSaved = (d: Definition) =>
  `saved definition ${d.definitionId} of ${d.tenantId} in ${d.environment}: ${d.eventType} → template ${d.templateId} (${d.category}${d.active ? '' : ', inactive'})`;

export const definitionTable = (definitions: readonly Definition[]) =>
  formatTable(
    definitions.map((d) => ({
      environment: d.environment,
      definition: d.definitionId,
      eventType: d.eventType,
      template: d.templateId,
      category: d.category,
      active: d.active ? 'yes' : 'no',
      fanOut: d.forEach?.items ?? '',
    })),
    ['environment', 'definition', 'eventType', 'template', 'category', 'active', 'fanOut'],
  );

export const templateTable = (templates: readonly Template[]) =>
  formatTable(
    templates.map((t) => ({
      template: t.templateId,
      version: t.version,
      subject: t.subject.length > 60 ? `${t.subject.slice(0, 57)}...` : t.subject,
      parts: [t.html === undefined ? '' : 'html', t.text === undefined ? 'text(derived)' : 'text']
        .filter(Boolean)
        .join('+'),
      headers: Object.keys(t.headers).join(' '),
      updatedAt: t.updatedAt,
    })),
    ['template', 'version', 'subject', 'parts', 'headers', 'updatedAt'],
  );

export const renderedText = (preview: Omit<PreviewResult, 'context'>) =>
  [
    ...(preview.to ? [`To: ${preview.to}`] : []),
    `Subject: ${preview.subject}`,
    ...Object.entries(preview.headers).map(([name, value]) => `${name}: ${value}`),
    '',
    '--- html ---',
    preview.html ?? '(none)',
    '--- text ---',
    preview.text,
  ].join('\n');

export function published(result: PublishResult, scope: string, viewer?: string): string {
  const m = result.message;
  const what =
    m.kind === 'event'
      ? `event ${m.event.id} (${m.event.type}) of ${m.event.tenantid}`
      : `composed email ${m.email.idempotencyKey} of ${m.email.tenantId}`;
  return [
    `published ${what} in ${result.environment} to the ${scope} events queue (SQS message ${result.sqsMessageId})`,
    ...(viewer ? [`watch the result in the mail viewer: ${viewer}`] : []),
  ].join('\n');
}
