import * as z from '../../shared/zod';

/**
 * The one header and address policy of every entry point (events queue, composed emails, send queue, tenant
 * profiles): what a caller may put into a header, an address or a display name. Everything else is refused
 * with the field's name and the rule, never silently changed or dropped.
 */

/** Control characters no header value, display name or address may hold: C0 (NUL…US), DEL, C1 (with NEL
 * U+0085), and the Unicode line and paragraph separators U+2028/U+2029, which some clients treat as breaks. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this pattern's job
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Why `value` cannot go into a header, or undefined. */
export function controlCharacterProblem(value: string): string | undefined {
  const match = CONTROL.exec(value);
  if (!match) return undefined;
  const code = (match[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
  return code === '000D' || code === '000A'
    ? 'must not contain a line break (CR or LF)'
    : `must not contain control character U+${code}`;
}

/** A header-bound string of at most `max` characters. */
export function headerValue(max: number) {
  return z.string().check(
    z.maxLength(max, `must be at most ${max} characters`),
    z.superRefine((value, ctx) => {
      const problem = controlCharacterProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  );
}

/**
 * Characters a display name must not hold, because a reader could take the name for an address or for the end
 * of one: angle brackets, `@`, quotes, backslash, and their look-alikes (full-width and small forms, guillemets,
 * angle quotation marks, typographic quotes).
 */
const ADDRESS_LOOKALIKES =
  /[<>@"\\\uFF20\uFE6B\uFF1C\uFF1E\uFE64\uFE65\u2039\u203A\u00AB\u00BB\u3008\u3009\u300A\u300B\u27E8\u27E9\u201C\u201D\u201E\u201F\uFF02]/;

/** Why `name` cannot be a display name (the `"Name"` of `"Name" <address>`), or undefined. */
export function displayNameProblem(name: string): string | undefined {
  const control = controlCharacterProblem(name);
  if (control) return control;
  const lookalike = ADDRESS_LOOKALIKES.exec(name);
  if (lookalike) {
    return `must not contain ${JSON.stringify(lookalike[0])}: a display name may not look like (part of) an address`;
  }
  if (name.trim() !== name) return 'must not start or end with white space';
  return undefined;
}

/** A display name of at most `max` characters (see {@link displayNameProblem}). */
export function displayName(max: number) {
  return z.string().check(
    z.minLength(1, 'must not be empty'),
    z.maxLength(max, `must be at most ${max} characters`),
    z.superRefine((value, ctx) => {
      const problem = displayNameProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  );
}

/** Characters allowed in an unquoted local part (RFC 5322 `atext`). */
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]";
const LOCAL_PART = new RegExp(`^${ATEXT}+(\\.${ATEXT}+)*$`);
const DOMAIN_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const TOP_LEVEL = /^(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$/;

/**
 * Why an address is not sendable, or undefined. Deliberately stricter than RFC 5321: no quoted local parts, no
 * IP literals, ASCII only (internationalised domains as punycode `xn--`), at most 254 characters — the subset
 * SES and common relays accept without surprises, and one that cannot smuggle header syntax.
 */
export function emailAddressProblem(address: string): string | undefined {
  if (address.length === 0) return 'is empty';
  if (address.length > 254) return 'is longer than 254 characters';
  const control = controlCharacterProblem(address);
  if (control) return control;
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return 'is not of the form local@domain';
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64) return 'has a local part longer than 64 characters';
  if (!LOCAL_PART.test(local)) return 'has an invalid local part';
  const labels = domain.split('.');
  if (labels.length < 2 || labels.some((label) => !DOMAIN_LABEL.test(label))) return 'has an invalid domain';
  if (!TOP_LEVEL.test(labels[labels.length - 1] ?? '')) return 'has an invalid top-level domain';
  return undefined;
}

/** A validated email address (surrounding white space trimmed first). */
export const emailAddress = z.string().check(
  z.trim(),
  z.superRefine((value, ctx) => {
    const problem = emailAddressProblem(value);
    if (problem)
      ctx.addIssue({
        code: 'custom',
        message: `email address ${JSON.stringify(value.slice(0, 300))} ${problem}`,
      });
  }),
);

/** A request may add at most this many custom headers. */
export const MAX_CUSTOM_HEADERS = 10;

/** Lines in a header must stay under 998 octets; a value is kept well below so folding is never needed twice. */
export const MAX_HEADER_VALUE_LENGTH = 900;

/**
 * Header names a caller may set: `X-` extension headers only, letters, digits and `-`. Every structural or
 * transport header (From, To, Bcc, Subject, Message-ID, Date, MIME-Version, Content-*, Resent-*, DKIM-*,
 * Received, Return-Path…) is out by construction, and so are the prefixes that steer SES (`X-SES-*` selects
 * configuration sets, message tags and source ARNs), AWS or this system.
 */
const HEADER_NAME = /^X-[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;
const RESERVED_PREFIXES = ['x-ses-', 'x-tenantmail-', 'x-amz-'];

/** Why `name` cannot be a custom header, or undefined. */
export function customHeaderNameProblem(name: string): string | undefined {
  if (!HEADER_NAME.test(name)) {
    return `header ${JSON.stringify(name.slice(0, 80))} is not allowed: custom headers must be X- headers of letters, digits and "-" (From, To, Subject and other structural headers are set by the system)`;
  }
  const lower = name.toLowerCase();
  const reserved = RESERVED_PREFIXES.find((prefix) => lower.startsWith(prefix));
  if (reserved) return `header ${JSON.stringify(name)} is not allowed: the ${reserved}* prefix is reserved`;
  return undefined;
}

/**
 * A map of custom header names to values; `valueSchema` decides what a value is (a literal, or a Liquid template
 * for templates). Names are validated and unique case-insensitively.
 */
export function customHeadersSchema<T extends z.ZodType<string>>(valueSchema: T) {
  return z.record(z.string(), valueSchema).check(
    z.superRefine((headers, ctx) => {
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
    }),
  );
}
