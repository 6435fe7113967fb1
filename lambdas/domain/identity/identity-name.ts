import { domainToASCII } from 'node:url';
import type { DomainIdentityName, EmailIdentityName, IdentityName } from './identity';
import { InvalidIdentityError } from './identity-errors';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** RFC 5322 dot-atom; quoted local parts are refused (SES and most mailbox providers reject them). */
const DOT_ATOM = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const MAX_DOMAIN_LENGTH = 253;
const MAX_LOCAL_PART_LENGTH = 64;
const MAX_ADDRESS_LENGTH = 254;

/**
 * Normalises a domain the way identities are compared everywhere: trimmed, one trailing dot removed,
 * IDN converted to punycode (`node:url` `domainToASCII`, which also lower-cases), then checked as a
 * host name (LDH labels of 1–63 characters, at least two labels, a non-numeric top-level label, ≤ 253 characters).
 * @throws InvalidIdentityError with the reason.
 */
export function normaliseDomain(input: string): string {
  const trimmed = input.trim();
  if (trimmed === '') throw new InvalidIdentityError(input, 'it is empty');
  const withoutDot = trimmed.endsWith('.') ? trimmed.slice(0, -1) : trimmed;
  if (/[\s/\\@:]/.test(withoutDot)) {
    throw new InvalidIdentityError(input, 'a domain cannot contain spaces, "/", "\\", "@" or ":"');
  }
  const ascii = domainToASCII(withoutDot);
  if (ascii === '')
    throw new InvalidIdentityError(input, 'it is not a valid (internationalised) domain name');
  if (ascii.length > MAX_DOMAIN_LENGTH) {
    throw new InvalidIdentityError(input, `a domain has at most ${MAX_DOMAIN_LENGTH} characters`);
  }
  const labels = ascii.split('.');
  if (labels.length < 2)
    throw new InvalidIdentityError(input, 'a domain needs at least two labels (example.com)');
  for (const label of labels) {
    if (label === '') throw new InvalidIdentityError(input, 'it contains an empty label (two dots in a row)');
    if (!LABEL.test(label)) {
      throw new InvalidIdentityError(
        input,
        `the label "${label}" must be 1–63 letters, digits or hyphens, not starting or ending with a hyphen`,
      );
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) {
    throw new InvalidIdentityError(input, 'an IP address is not a domain');
  }
  return ascii;
}

/**
 * Normalises an email address: trimmed, lower-cased local part (identities are compared case-insensitively,
 * as SES does), and the domain normalised by {@link normaliseDomain}.
 * @throws InvalidIdentityError with the reason.
 */
export function normaliseEmailAddress(input: string): EmailIdentityName {
  const trimmed = input.trim();
  const at = trimmed.lastIndexOf('@');
  if (at < 0) throw new InvalidIdentityError(input, 'an email address needs an "@"');
  const localPart = trimmed.slice(0, at).toLowerCase();
  const domainPart = trimmed.slice(at + 1);
  if (localPart === '') throw new InvalidIdentityError(input, 'the part before "@" is empty');
  if (localPart.length > MAX_LOCAL_PART_LENGTH) {
    throw new InvalidIdentityError(
      input,
      `the part before "@" has at most ${MAX_LOCAL_PART_LENGTH} characters`,
    );
  }
  if (!DOT_ATOM.test(localPart)) {
    throw new InvalidIdentityError(
      input,
      'the part before "@" may hold ASCII letters, digits and !#$%&\'*+/=?^_`{|}~- separated by single dots',
    );
  }
  let domain: string;
  try {
    domain = normaliseDomain(domainPart);
  } catch (error) {
    const detail = error instanceof InvalidIdentityError ? error.message : String(error);
    throw new InvalidIdentityError(input, `its domain is invalid (${detail})`, { cause: error });
  }
  const identity = `${localPart}@${domain}`;
  if (identity.length > MAX_ADDRESS_LENGTH) {
    throw new InvalidIdentityError(input, `an address has at most ${MAX_ADDRESS_LENGTH} characters`);
  }
  return { type: 'email', identity, localPart, domain };
}

/** Parses a domain identity. @throws InvalidIdentityError */
export function parseDomainIdentity(input: string): DomainIdentityName {
  const domain = normaliseDomain(input);
  return { type: 'domain', identity: domain, domain };
}

/**
 * Parses an identity as the operator types it: text with an "@" is an email identity, anything else a domain.
 * @throws InvalidIdentityError
 */
export function parseIdentity(input: string): IdentityName {
  return input.includes('@') ? normaliseEmailAddress(input) : parseDomainIdentity(input);
}

/**
 * Extracts and normalises the address of a From header value: a bare address or `Display Name <address>`.
 * @throws InvalidIdentityError
 */
export function parseFromAddress(from: string): EmailIdentityName {
  const open = from.lastIndexOf('<');
  const close = from.lastIndexOf('>');
  const address = open >= 0 && close > open ? from.slice(open + 1, close) : from;
  return normaliseEmailAddress(address);
}

/** True when `domain` is `parent` or one of its subdomains, on a label boundary. Both must be normalised. */
export function isSameOrSubdomain(domain: string, parent: string): boolean {
  return domain === parent || domain.endsWith(`.${parent}`);
}
