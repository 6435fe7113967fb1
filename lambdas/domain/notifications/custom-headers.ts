import { z } from 'zod';

/** A template or composed email may add at most this many custom headers. */
export const MAX_CUSTOM_HEADERS = 10;

/**
 * Header names a tenant may set: `X-` extension headers only (RFC 6648 style), letters, digits and `-`.
 * Structural headers (From, To, Subject, Message-ID, Content-*, …) are out by construction, and so are the
 * prefixes that steer SES or this system (`X-SES-*` selects configuration sets and source ARNs).
 */
const HEADER_NAME = /^X-[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;
const RESERVED_PREFIXES = ['x-ses-', 'x-tenantmail-', 'x-amz-'];

/** Why `name` cannot be a custom header, or `undefined` when it can. */
export function customHeaderNameProblem(name: string): string | undefined {
  if (!HEADER_NAME.test(name)) {
    return `header ${JSON.stringify(name)} is not allowed: custom headers must be X- headers of letters, digits and "-" (From, To, Subject and other structural headers are set by the system)`;
  }
  const lower = name.toLowerCase();
  const reserved = RESERVED_PREFIXES.find((prefix) => lower.startsWith(prefix));
  if (reserved) return `header ${JSON.stringify(name)} is not allowed: the ${reserved}* prefix is reserved`;
  return undefined;
}

/** Lines in a header must stay under 998 octets; a value is kept well below so folding is never needed twice. */
export const MAX_HEADER_VALUE_LENGTH = 900;

/**
 * A map of custom header names to values. `valueSchema` decides what a value is (a literal for composed email,
 * a Liquid template for templates); names are validated and must be unique case-insensitively.
 */
export function customHeadersSchema<T extends z.ZodType<string>>(valueSchema: T) {
  return z.record(z.string(), valueSchema).superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > MAX_CUSTOM_HEADERS) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_CUSTOM_HEADERS} custom headers are allowed` });
    }
    const seen = new Set<string>();
    for (const name of names) {
      const problem = customHeaderNameProblem(name);
      if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
      if (seen.has(name.toLowerCase())) {
        ctx.addIssue({ code: 'custom', path: [name], message: `header ${name} is given twice` });
      }
      seen.add(name.toLowerCase());
    }
  });
}
