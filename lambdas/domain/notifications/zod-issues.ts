import type * as z from '../../shared/zod';
import type { ValidationIssue } from './notification-errors';

/** Renders a zod path as `data.invoices[3].billTo.email`, so an error names the field the producer must fix. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out;
}

/** Turns zod issues into {@link ValidationIssue}s, prefixing each path with `prefix` when given. */
export function toValidationIssues(
  error: z.ZodError,
  prefix: readonly PropertyKey[] = [],
): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: formatPath([...prefix, ...issue.path]),
    message: issue.message,
  }));
}
