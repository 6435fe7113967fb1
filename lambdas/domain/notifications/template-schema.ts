import * as z from '../../shared/zod';
import { customHeadersSchema } from '../sending/mail-policy';
import { resourceIdSchema } from './definition-schema';
import { tenantIdSchema } from './event-schema';
import { InvalidTemplateError } from './notification-errors';
import { toValidationIssues } from './zod-issues';

/** Largest template source accepted per part (characters); LiquidJS's `parseLimit` is set to match. */
export const MAX_TEMPLATE_SOURCE_LENGTH = 500_000;

const contentFields = {
  tenantId: tenantIdSchema,
  templateId: resourceIdSchema,
  name: z.optional(z.string().check(z.maxLength(200))),
  /** Liquid source of the subject; rendered without HTML escaping, then checked for line breaks. */
  subject: z.string().check(z.minLength(1, 'must not be empty'), z.maxLength(2000)),
  /** Liquid source of the HTML body; every `{{ output }}` is HTML-escaped. */
  html: z.optional(z.string().check(z.maxLength(MAX_TEMPLATE_SOURCE_LENGTH))),
  /** Liquid source of the text body; derived from the rendered HTML when absent. */
  text: z.optional(z.string().check(z.maxLength(MAX_TEMPLATE_SOURCE_LENGTH))),
  /** Custom `X-` headers; values are Liquid sources, rendered like the subject. */
  headers: z._default(customHeadersSchema(z.string().check(z.maxLength(2000))), {}),
};

function requireBody(
  template: { html?: string | undefined; text?: string | undefined },
  ctx: z.RefinementCtx,
) {
  if (template.html === undefined && template.text === undefined) {
    ctx.addIssue({ code: 'custom', path: ['html'], message: 'html or text (or both) is required' });
  }
}

/** What a tenant writes: a template without a version (the store assigns versions). */
export const templateContentSchema = z.strictObject(contentFields).check(z.superRefine(requireBody));

/** A stored template. `version` grows by one on every put, so caches keyed by id + version never serve stale content. */
export const templateSchema = z
  .strictObject({ ...contentFields, version: z.int().check(z.gte(1)), updatedAt: z.optional(z.string()) })
  .check(z.superRefine(requireBody));

export type TemplateContent = z.infer<typeof templateContentSchema>;
export type TemplateContentInput = z.input<typeof templateContentSchema>;
export type Template = z.infer<typeof templateSchema>;

/**
 * Validates a template's fields (not its Liquid syntax: see `assertTemplateCompiles`).
 * @throws InvalidTemplateError listing every issue with its field path.
 */
export function parseTemplateContent(input: unknown): TemplateContent {
  const result = templateContentSchema.safeParse(input);
  if (!result.success) throw new InvalidTemplateError(toValidationIssues(result.error));
  return result.data;
}

/** Like {@link parseTemplateContent} for a stored template with its version. */
export function parseTemplate(input: unknown): Template {
  const result = templateSchema.safeParse(input);
  if (!result.success) throw new InvalidTemplateError(toValidationIssues(result.error));
  return result.data;
}
