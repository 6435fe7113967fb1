/**
 * EventBridge event-pattern matching, as the EventBridge user guide describes it ("Creating event patterns",
 * "Comparison operators for use in event patterns"): every field the pattern names must be in the event with
 * the same nesting; a leaf is a list of alternatives (any one matching is enough); an event value that is a
 * list matches when any of its elements does; `$or` lists alternative sub-patterns. Operators: exact values
 * (string, number, null, boolean), `prefix`, `suffix` (each also with `equals-ignore-case`), `equals-ignore-case`,
 * `anything-but` (a value, a list, or `prefix` / `suffix` / `equals-ignore-case` / `wildcard`), `numeric`,
 * `exists`, `wildcard` and `cidr` (IPv4). Pure: no I/O. The fixtures in test/fixtures/eventbridge-patterns cite
 * the documentation page of each example.
 */

export type EventPattern = { readonly [field: string]: unknown };

/** A malformed pattern, worded as EventBridge's `InvalidEventPatternException` is. */
export class InvalidEventPatternError extends Error {
  constructor(message: string) {
    super(`Event pattern is not valid. Reason: ${message}`);
    this.name = 'InvalidEventPatternError';
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** True when `event` matches `pattern`. @throws InvalidEventPatternError for a pattern EventBridge refuses. */
export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  if (!isObject(pattern)) throw new InvalidEventPatternError('Filter is not an object');
  return matchObject(pattern, event);
}

/** Throws InvalidEventPatternError when EventBridge would refuse `pattern` (checked once, at PutRule). */
export function validatePattern(pattern: unknown): asserts pattern is EventPattern {
  if (!isObject(pattern)) throw new InvalidEventPatternError('Filter is not an object');
  checkLeaves(pattern);
}

function checkLeaves(pattern: Record<string, unknown>): void {
  for (const [field, value] of Object.entries(pattern)) {
    if (field === '$or') {
      if (!Array.isArray(value) || value.length < 2)
        throw new InvalidEventPatternError('$or must be an array of at least 2 objects');
      for (const sub of value) {
        if (!isObject(sub)) throw new InvalidEventPatternError('$or must contain objects');
        checkLeaves(sub);
      }
    } else if (isObject(value)) checkLeaves(value);
    else if (Array.isArray(value)) {
      if (value.length === 0) throw new InvalidEventPatternError(`Empty arrays are not allowed (${field})`);
      for (const matcher of value) leafMatches(matcher, undefined, false);
    } else throw new InvalidEventPatternError(`"${field}" must be an object or an array`);
  }
}

function matchObject(pattern: Record<string, unknown>, event: unknown): boolean {
  for (const [field, expected] of Object.entries(pattern)) {
    if (field === '$or') {
      if (!Array.isArray(expected)) throw new InvalidEventPatternError('$or must be an array');
      if (!expected.some((sub) => isObject(sub) && matchObject(sub, event))) return false;
      continue;
    }
    const present = isObject(event) && Object.hasOwn(event, field);
    const actual = present ? (event as Record<string, unknown>)[field] : undefined;
    if (isObject(expected)) {
      const candidates = Array.isArray(actual) ? actual : [actual];
      if (!candidates.some((candidate) => isObject(candidate) && matchObject(expected, candidate)))
        return false;
    } else if (Array.isArray(expected)) {
      if (!matchLeaf(expected, actual, present)) return false;
    } else throw new InvalidEventPatternError(`"${field}" must be an object or an array`);
  }
  return true;
}

function matchLeaf(matchers: readonly unknown[], actual: unknown, present: boolean): boolean {
  // A list in the event matches when any element matches; `exists` looks at the field, not the elements.
  const values = Array.isArray(actual) ? (actual as unknown[]) : [actual];
  return matchers.some((matcher) => {
    if (isObject(matcher) && 'exists' in matcher) return leafMatches(matcher, actual, present);
    if (Array.isArray(actual) && actual.length === 0) return false;
    return values.some((value) => leafMatches(matcher, value, present));
  });
}

function leafMatches(matcher: unknown, value: unknown, present: boolean): boolean {
  if (!isObject(matcher)) {
    if (matcher === null || typeof matcher === 'string' || typeof matcher === 'boolean')
      return present && value === matcher;
    if (typeof matcher === 'number') return present && typeof value === 'number' && value === matcher;
    throw new InvalidEventPatternError('Match value must be String, number, true, false, null or an object');
  }
  const entries = Object.entries(matcher);
  const [entry] = entries;
  if (entries.length !== 1 || !entry)
    throw new InvalidEventPatternError('Only one key allowed in match expression');
  const [operator, operand] = entry;
  switch (operator) {
    case 'exists':
      if (typeof operand !== 'boolean')
        throw new InvalidEventPatternError('exists match pattern must be either true or false');
      // Only leaves exist: a field holding an object does not count.
      return operand === (present && !isObject(value));
    case 'prefix':
      return stringTest(operand, value, 'prefix', (v, s) => v.startsWith(s));
    case 'suffix':
      return stringTest(operand, value, 'suffix', (v, s) => v.endsWith(s));
    case 'equals-ignore-case':
      return typeof operand === 'string'
        ? typeof value === 'string' && value.toLowerCase() === operand.toLowerCase()
        : invalid('equals-ignore-case match pattern must be a string');
    case 'wildcard':
      return typeof operand === 'string'
        ? typeof value === 'string' && wildcardRegExp(operand).test(value)
        : invalid('wildcard match pattern must be a string');
    case 'numeric':
      return numericMatches(operand, value);
    case 'cidr':
      return cidrMatches(operand, value);
    case 'anything-but':
      return present && value !== undefined && anythingBut(operand, value);
    default:
      throw new InvalidEventPatternError(`Unrecognized match type ${operator}`);
  }
}

function invalid(message: string): never {
  throw new InvalidEventPatternError(message);
}

/** `prefix` / `suffix` with a string, or with `{ "equals-ignore-case": string }`. */
function stringTest(
  operand: unknown,
  value: unknown,
  name: string,
  test: (value: string, operand: string) => boolean,
): boolean {
  if (typeof operand === 'string') return typeof value === 'string' && test(value, operand);
  if (isObject(operand) && typeof operand['equals-ignore-case'] === 'string') {
    return (
      typeof value === 'string' && test(value.toLowerCase(), operand['equals-ignore-case'].toLowerCase())
    );
  }
  return invalid(`${name} match pattern must be a string`);
}

function anythingBut(operand: unknown, value: unknown): boolean {
  if (Array.isArray(operand)) return !operand.some((excluded) => sameScalar(excluded, value));
  if (!isObject(operand)) return !sameScalar(operand, value);
  const [entry] = Object.entries(operand);
  if (!entry || Object.keys(operand).length !== 1) return invalid('anything-but takes one operator');
  const [operator, inner] = entry;
  const strings = (Array.isArray(inner) ? inner : [inner]) as Json[];
  if (strings.some((s) => typeof s !== 'string')) return invalid(`anything-but ${operator} takes strings`);
  const texts = strings as string[];
  if (typeof value !== 'string') return true;
  switch (operator) {
    case 'prefix':
      return !texts.some((s) => value.startsWith(s));
    case 'suffix':
      return !texts.some((s) => value.endsWith(s));
    case 'equals-ignore-case':
      return !texts.some((s) => s.toLowerCase() === value.toLowerCase());
    case 'wildcard':
      return !texts.some((s) => wildcardRegExp(s).test(value));
    default:
      return invalid(`Unsupported anything-but pattern: ${operator}`);
  }
}

function sameScalar(expected: unknown, value: unknown): boolean {
  if (typeof expected === 'number') return typeof value === 'number' && value === expected;
  return expected === value;
}

const NUMERIC_OPERATORS: Record<string, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '=': (a, b) => a === b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

/** `numeric: [op, n]` or `[lower-op, n, upper-op, m]`; EventBridge compares numbers only, never numeric strings. */
function numericMatches(operand: unknown, value: unknown): boolean {
  if (!Array.isArray(operand) || (operand.length !== 2 && operand.length !== 4))
    return invalid('Value of numeric must be an array of 2 or 4 elements');
  const checks: [(a: number, b: number) => boolean, number][] = [];
  for (let i = 0; i < operand.length; i += 2) {
    const compare = NUMERIC_OPERATORS[String(operand[i])];
    const bound = operand[i + 1];
    if (!compare || typeof bound !== 'number')
      return invalid(`Unrecognized numeric range operator: ${operand[i]}`);
    checks.push([compare, bound]);
  }
  return typeof value === 'number' && checks.every(([compare, bound]) => compare(value, bound));
}

function ipv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

function cidrMatches(operand: unknown, value: unknown): boolean {
  const [base, bits] = typeof operand === 'string' ? operand.split('/') : [];
  const network = base === undefined ? undefined : ipv4(base);
  const length = Number(bits);
  if (network === undefined || !Number.isInteger(length) || length < 0 || length > 32)
    return invalid(`Nonstandard IP address: ${String(operand)}`);
  const address = typeof value === 'string' ? ipv4(value) : undefined;
  if (address === undefined) return false;
  const size = 2 ** (32 - length);
  return Math.floor(address / size) === Math.floor(network / size);
}

/** `*` matches any run of characters (`\*` is a literal star); everything else is literal. */
function wildcardRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i] ?? '';
    if (char === '\\' && pattern[i + 1] === '*') {
      source += '\\*';
      i += 1;
    } else if (char === '*') source += '.*';
    else source += char.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}
