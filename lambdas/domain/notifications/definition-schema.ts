import * as z from '../../shared/zod';
import { emailAddressProblem } from '../sending/mail-policy';
import { emailCategorySchema } from './composed-email-schema';
import { MAX_RECIPIENTS_PER_MESSAGE } from './email-address';
import { environmentSchema, tenantIdSchema } from './event-schema';
import { type JsonPath, jsonPathSchema, looksLikeJsonPath, parseJsonPath } from './json-path';
import { InvalidDefinitionError } from './notification-errors';
import { toValidationIssues } from './zod-issues';

/** Ids of definitions and templates: 1–64 characters, letters, digits, `_`, `-`, starting alphanumeric. */
export const resourceIdSchema = z
  .string()
  .check(
    z.regex(
      /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/,
      'must be 1-64 letters, digits, "_" or "-", starting with a letter or digit',
    ),
  );

type Scalar = string | number | boolean | null;
const scalar = z.union([z.string().check(z.maxLength(256)), z.number(), z.boolean(), z.null()], {
  error: 'must be a string, number, boolean or null',
});

/**
 * A filter on event data: a small expression tree evaluated without `eval` — equality, membership, existence,
 * and `all` / `any` / `not` combinations, each leaf naming a JSON path. Depth and size are bounded.
 */
export type Filter =
  | { readonly path: JsonPath; readonly eq: Scalar }
  | { readonly path: JsonPath; readonly in: readonly Scalar[] }
  | { readonly path: JsonPath; readonly exists: boolean }
  | { readonly all: readonly Filter[] }
  | { readonly any: readonly Filter[] }
  | { readonly not: Filter };

/** Filters nest at most this deep and hold at most this many nodes. */
export const MAX_FILTER_DEPTH = 6;
export const MAX_FILTER_NODES = 64;

export const filterSchema: z.ZodType<Filter> = z.lazy(() =>
  z.union(
    [
      z.strictObject({ path: jsonPathSchema, eq: scalar }),
      z.strictObject({ path: jsonPathSchema, in: z.array(scalar).check(z.minLength(1), z.maxLength(100)) }),
      z.strictObject({ path: jsonPathSchema, exists: z.boolean() }),
      z.strictObject({ all: z.array(filterSchema).check(z.minLength(1), z.maxLength(20)) }),
      z.strictObject({ any: z.array(filterSchema).check(z.minLength(1), z.maxLength(20)) }),
      z.strictObject({ not: filterSchema }),
    ],
    {
      error:
        'must be one of {path, eq}, {path, in: [...]}, {path, exists}, {all: [...]}, {any: [...]} or {not: {...}}',
    },
  ),
);

function filterShape(filter: Filter, depth = 1): { depth: number; nodes: number } {
  const children =
    'all' in filter ? filter.all : 'any' in filter ? filter.any : 'not' in filter ? [filter.not] : [];
  let maxDepth = depth;
  let nodes = 1;
  for (const child of children) {
    const shape = filterShape(child, depth + 1);
    maxDepth = Math.max(maxDepth, shape.depth);
    nodes += shape.nodes;
  }
  return { depth: maxDepth, nodes };
}

/**
 * A recipient in a definition: either a literal address (`ar@acme.example`) or a JSON path into the event data
 * (`$.billTo.email`, or `$.billTo` for a `{ email, name }` contact, or a path to an array of either). Inside a
 * `forEach`, paths are relative to the current item.
 */
export const recipientSpecSchema = z.string().check(
  z.trim(),
  z.maxLength(512),
  z.superRefine((value, ctx) => {
    if (looksLikeJsonPath(value)) {
      if (!parseJsonPath(value)) {
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a valid JSON path` });
      }
      return;
    }
    const problem = emailAddressProblem(value);
    if (problem) {
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(value)} is neither a JSON path (starting with $) nor a valid address: it ${problem}`,
      });
    }
  }),
);

const recipientSpecs = z.array(recipientSpecSchema).check(z.maxLength(MAX_RECIPIENTS_PER_MESSAGE));

/**
 * Fan-out: one email per element of the array at `items` (e.g. each invoice of a bill run). `key` names a
 * stable id inside each element (e.g. `$.invoiceId`) used in job ids, so ids do not depend on the order of
 * the array; without it the element's index is used. `filter` keeps only matching elements.
 */
export const forEachSchema = z.strictObject({
  items: jsonPathSchema,
  key: z.optional(jsonPathSchema),
  filter: z.optional(filterSchema),
});

export type ForEach = z.infer<typeof forEachSchema>;

/**
 * A notification definition: which event (type + optional filter) sends which template to whom, per tenant and
 * environment. `to` gets one email per resolved recipient; `cc`/`bcc` go on each of those emails.
 */
export const definitionSchema = z
  .strictObject({
    tenantId: tenantIdSchema,
    environment: environmentSchema,
    definitionId: resourceIdSchema,
    name: z.optional(z.string().check(z.maxLength(200))),
    description: z.optional(z.string().check(z.maxLength(2000))),
    eventType: z
      .string()
      .check(z.regex(/^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*){2,}$/, 'must be an event type name')),
    filter: z.optional(filterSchema),
    forEach: z.optional(forEachSchema),
    templateId: resourceIdSchema,
    to: recipientSpecs.check(z.minLength(1, 'must name at least one recipient (an address or a JSON path)')),
    cc: z._default(recipientSpecs, []),
    bcc: z._default(recipientSpecs, []),
    category: emailCategorySchema,
    active: z.boolean(),
  })
  .check(
    z.superRefine((definition, ctx) => {
      const check = (filter: Filter | undefined, path: (string | number)[]) => {
        if (!filter) return;
        const shape = filterShape(filter);
        if (shape.depth > MAX_FILTER_DEPTH) {
          ctx.addIssue({
            code: 'custom',
            path,
            message: `nests ${shape.depth} deep; at most ${MAX_FILTER_DEPTH}`,
          });
        }
        if (shape.nodes > MAX_FILTER_NODES) {
          ctx.addIssue({
            code: 'custom',
            path,
            message: `has ${shape.nodes} nodes; at most ${MAX_FILTER_NODES}`,
          });
        }
      };
      check(definition.filter, ['filter']);
      check(definition.forEach?.filter, ['forEach', 'filter']);
      if (1 + definition.cc.length + definition.bcc.length > MAX_RECIPIENTS_PER_MESSAGE) {
        ctx.addIssue({
          code: 'custom',
          path: ['cc'],
          message: `one recipient plus cc and bcc must stay within ${MAX_RECIPIENTS_PER_MESSAGE}`,
        });
      }
    }),
  );

export type Definition = z.infer<typeof definitionSchema>;
/** What a caller writes (defaults such as `cc: []` may be left out). */
export type DefinitionInput = z.input<typeof definitionSchema>;

/**
 * Validates a definition.
 * @throws InvalidDefinitionError listing every issue with its field path.
 */
export function parseDefinition(input: unknown): Definition {
  const result = definitionSchema.safeParse(input);
  if (!result.success) throw new InvalidDefinitionError(toValidationIssues(result.error));
  return result.data;
}
