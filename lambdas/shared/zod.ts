/**
 * The validation library, re-exported by name: importing `zod`'s namespace object into a bundle drags in every
 * export it has, its 40-odd locale tables (260 KiB) among them. Naming what we use lets esbuild leave the rest out.
 * Import `z` from here, never from 'zod'.
 */
export {
  array,
  boolean,
  coerce,
  discriminatedUnion,
  email,
  enum,
  type infer,
  type input,
  int,
  iso,
  lazy,
  literal,
  looseObject,
  null,
  number,
  object,
  partialRecord,
  preprocess,
  prettifyError,
  type RefinementCtx,
  record,
  strictObject,
  string,
  union,
  unknown,
  url,
  ZodError,
  type ZodType,
} from 'zod';
