/**
 * The validation library: zod's mini build, re-exported by name. The mini build composes with functions
 * (`z.optional(s)`, `s.check(z.maxLength(9))`) where the classic one chains methods that every schema instance
 * carries, so a bundle holds only what we call and a schema is cheaper to build at load: about 60 KiB less per
 * function than classic zod (docs/benchmarks.md, section 3). Naming what we use also keeps out the 40-odd locale
 * tables that zod's namespace re-exports. Import `z` from here, never from 'zod'.
 */

import { en } from 'zod/locales';
import { config } from 'zod/mini';

// Error messages in English, as classic zod sets them at load (the mini build leaves them to the application).
config(en());

export {
  _default,
  array,
  boolean,
  check,
  coerce,
  discriminatedUnion,
  email,
  enum,
  gte,
  includes,
  type infer,
  type input,
  int,
  iso,
  lazy,
  literal,
  looseObject,
  lte,
  maxLength,
  minLength,
  null,
  nullable,
  number,
  object,
  optional,
  partialRecord,
  pipe,
  positive,
  prettifyError,
  record,
  refine,
  regex,
  startsWith,
  strictObject,
  string,
  superRefine,
  toLowerCase,
  transform,
  trim,
  union,
  unknown,
  url,
  type ZodMiniType as ZodType,
} from 'zod/mini';
export type { $RefinementCtx as RefinementCtx, $ZodIssue as ZodIssue } from 'zod/v4/core';
export { $ZodError as ZodError } from 'zod/v4/core';
