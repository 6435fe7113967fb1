import * as z from '../../shared/zod';

/**
 * A deliberately small JSON path: `$` followed by `.name`, `[0]` or `["any key"]` segments — no wildcards, no
 * filters, no script. Enough to point at `$.billTo.email` or `$.invoices`, and safe to evaluate on untrusted data:
 * only own properties are followed, so `$.__proto__` or `$.constructor` resolve to nothing.
 */
export type JsonPath = string & { readonly __brand: 'JsonPath' };

/** At most this many segments, so a stored path cannot be used to make evaluation expensive. */
export const MAX_PATH_SEGMENTS = 32;

const SEGMENT =
  /\.([A-Za-z_$][A-Za-z0-9_$-]*)|\[(\d{1,9})\]|\["((?:[^"\\]|\\.)*)"\]|\['((?:[^'\\]|\\.)*)'\]/y;

/** Splits a path into property names and array indexes; returns `undefined` when it is not a valid path. */
export function parseJsonPath(path: string): (string | number)[] | undefined {
  if (!path.startsWith('$')) return undefined;
  const segments: (string | number)[] = [];
  let position = 1;
  while (position < path.length) {
    SEGMENT.lastIndex = position;
    const match = SEGMENT.exec(path);
    if (!match) return undefined;
    const [whole, name, index, doubleQuoted, singleQuoted] = match;
    if (name !== undefined) segments.push(name);
    else if (index !== undefined) segments.push(Number(index));
    else segments.push((doubleQuoted ?? singleQuoted ?? '').replace(/\\(.)/g, '$1'));
    position += whole.length;
    if (segments.length > MAX_PATH_SEGMENTS) return undefined;
  }
  return segments;
}

/** True when `value` looks like a path (starts with `$`), as opposed to a literal such as an email address. */
export function looksLikeJsonPath(value: string): boolean {
  return value.startsWith('$');
}

/** Schema for a path written by a tenant; the message names the accepted syntax. */
export const jsonPathSchema = z.pipe(
  z.string().check(
    z.maxLength(512),
    z.refine(
      (value) => parseJsonPath(value) !== undefined,
      `must be a JSON path such as $.billTo.email or $.invoices[0] (at most ${MAX_PATH_SEGMENTS} segments; no wildcards)`,
    ),
  ),
  z.transform((value) => value as JsonPath),
);

/** Parsed paths, so a 10,000-element fan-out parses each recipient path once. Bounded: cleared when full. */
const parsedPaths = new Map<string, readonly (string | number)[] | undefined>();

function parsedPath(path: string): readonly (string | number)[] | undefined {
  if (parsedPaths.has(path)) return parsedPaths.get(path);
  if (parsedPaths.size >= 1000) parsedPaths.clear();
  const segments = parseJsonPath(path);
  parsedPaths.set(path, segments);
  return segments;
}

/** The value at `path` in `root`, or `undefined` when any segment is missing. */
export function resolveJsonPath(root: unknown, path: string): unknown {
  const segments = parsedPath(path);
  if (!segments) return undefined;
  let current: unknown = root;
  for (const segment of segments) {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      if (typeof segment !== 'number') return undefined;
      current = current[segment];
    } else {
      if (typeof segment !== 'string' || !Object.hasOwn(current, segment)) return undefined;
      current = (current as Record<string, unknown>)[segment];
    }
  }
  return current;
}
