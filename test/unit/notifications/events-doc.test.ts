import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  STATUS_EVENT_DETAIL_TYPE,
  STATUS_EVENT_SOURCE,
  statusEventDetailSchema,
} from '../../../lambdas/domain/message/status-events';
import { parseComposedEmail } from '../../../lambdas/domain/notifications/composed-email-schema';
import {
  expandJobs,
  matchDefinitions,
  renderContextFor,
} from '../../../lambdas/domain/notifications/definition-matching';
import { parseDefinition } from '../../../lambdas/domain/notifications/definition-schema';
import { parseNotificationEvent } from '../../../lambdas/domain/notifications/event-schema';
import {
  assertTemplateCompiles,
  TemplateRenderer,
} from '../../../lambdas/domain/notifications/template-renderer';
import { parseTemplateContent } from '../../../lambdas/domain/notifications/template-schema';
import { matchesPattern, validatePattern } from '../../../local/eventbridge/event-pattern';

const root = join(__dirname, '../../..');
const fixtureDir = join(root, 'test/fixtures/events');
const readJson = (file: string): unknown => JSON.parse(readFileSync(join(fixtureDir, file), 'utf8'));
const fixtureFiles = readdirSync(fixtureDir).filter((file) => file.endsWith('.json'));
const examples = fixtureFiles
  .filter((file) => file.endsWith('.event.json'))
  .map((file) => file.replace('.event.json', ''));

const doc = readFileSync(join(root, 'docs/events.md'), 'utf8');
const docBlocks = [...doc.matchAll(/```json\n([\s\S]*?)\n```/g)].map((match) => match[1] ?? '');

type Kind = 'event' | 'definition' | 'template' | 'composed-email' | 'status-event' | 'event-pattern';

/** Validates a documented JSON object with the schema its shape calls for; returns which kind it was. */
function validate(value: unknown): Kind {
  const object = value as Record<string, unknown>;
  if ('detail' in object && 'version' in object) {
    expect(object.source).toBe(STATUS_EVENT_SOURCE);
    expect(object['detail-type']).toBe(STATUS_EVENT_DETAIL_TYPE);
    statusEventDetailSchema.parse(object.detail);
    return 'status-event';
  }
  if (Array.isArray(object.source)) {
    validatePattern(value);
    return 'event-pattern';
  }
  if ('specversion' in object) {
    parseNotificationEvent(value);
    return 'event';
  }
  if ('definitionId' in object) {
    parseDefinition(value);
    return 'definition';
  }
  if ('idempotencyKey' in object) {
    parseComposedEmail(value);
    return 'composed-email';
  }
  const template = parseTemplateContent(value);
  assertTemplateCompiles(template);
  return 'template';
}

describe('documented examples (docs/events.md and test/fixtures/events)', () => {
  it('covers the four well-known event types and a custom one', () => {
    const types = examples.map((name) => (readJson(`${name}.event.json`) as { type: string }).type).sort();
    expect(types).toEqual([
      'com.acme.subscription.renewed',
      'com.tenantmail.account-statement.processed',
      'com.tenantmail.bill-run.completed',
      'com.tenantmail.invoice.posted',
      'com.tenantmail.payment.processed',
    ]);
  });

  it.each(fixtureFiles.filter((file) => !file.endsWith('.expected.json')))('validates fixture %s', (file) => {
    const kind = validate(readJson(file));
    expect(file.endsWith(`${kind}.json`)).toBe(true);
  });

  it('parses and validates every JSON block in docs/events.md', () => {
    expect(docBlocks.length).toBeGreaterThanOrEqual(15);
    const kinds = docBlocks.map((block) => validate(JSON.parse(block)));
    expect(new Set(kinds)).toEqual(
      new Set(['event', 'definition', 'template', 'composed-email', 'status-event', 'event-pattern']),
    );
  });

  it('shows a status-event rule that matches the status event example, and not other statuses or tenants', () => {
    const pattern = readJson('bounces-of-one-tenant.event-pattern.json') as Record<string, unknown>;
    const event = readJson('bounced.status-event.json') as { detail: Record<string, unknown> };
    expect(matchesPattern(pattern, event)).toBe(true);
    expect(matchesPattern(pattern, { ...event, detail: { ...event.detail, status: 'DELIVERED' } })).toBe(
      false,
    );
    expect(matchesPattern(pattern, { ...event, detail: { ...event.detail, tenantId: 'globex' } })).toBe(
      false,
    );
  });

  it('shows exactly the fixtures in the doc, so neither can drift', () => {
    const documented = docBlocks.map((block) => JSON.parse(block));
    for (const file of fixtureFiles.filter((f) => !f.endsWith('.expected.json'))) {
      expect(documented).toContainEqual(readJson(file));
    }
    expect(documented).toHaveLength(fixtureFiles.filter((f) => !f.endsWith('.expected.json')).length);
  });

  it.each(examples)('produces the expected emails for the %s example', async (name) => {
    const event = parseNotificationEvent(readJson(`${name}.event.json`));
    const definition = parseDefinition(readJson(`${name}.definition.json`));
    const template = parseTemplateContent(readJson(`${definition.templateId}.template.json`));
    const renderer = new TemplateRenderer();
    const results: unknown[] = [];
    for (const matched of matchDefinitions(event, [definition])) {
      for (const job of expandJobs(event, matched)) {
        if (job.status === 'rejected') {
          results.push({ status: 'rejected', code: job.code, reason: job.reason, itemKey: job.itemKey });
          continue;
        }
        const rendered = await renderer.render(template, renderContextFor(event, job));
        results.push({
          status: 'accepted',
          to: job.to.email,
          cc: job.cc.map((mailbox) => mailbox.email),
          bcc: job.bcc.map((mailbox) => mailbox.email),
          subject: rendered.subject,
          headers: rendered.headers,
          itemKey: job.itemKey,
        });
      }
    }
    expect(JSON.parse(JSON.stringify(results))).toEqual(readJson(`${name}.expected.json`));
  });
});
