import { InvalidIdentityError } from '../../../lambdas/domain/identity/identity-errors';
import {
  isSameOrSubdomain,
  normaliseDomain,
  parseFromAddress,
  parseIdentity,
} from '../../../lambdas/domain/identity/identity-name';

describe('identity normalisation', () => {
  it.each([
    ['Example.COM', 'example.com'],
    ['example.com.', 'example.com'],
    ['  example.com  ', 'example.com'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['BÜCHER.example.', 'xn--bcher-kva.example'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    ['en.mail.example.co.uk', 'en.mail.example.co.uk'],
  ])('normalises the domain %p to %p', (input, expected) => {
    expect(normaliseDomain(input)).toBe(expected);
  });

  it.each([
    ['', 'empty'],
    ['localhost', 'at least two labels'],
    ['example..com', 'empty label'],
    ['-example.com', 'label "-example"'],
    ['exa_mple.com', 'label "exa_mple"'],
    ['192.168.0.1', 'IP address'],
    ['example.com..', 'empty label'],
    ['http://example.com', 'cannot contain'],
    [`${'a'.repeat(64)}.com`, 'label'],
  ])('rejects the domain %p with a reason mentioning %p', (input, reason) => {
    expect(() => normaliseDomain(input)).toThrow(InvalidIdentityError);
    expect(() => normaliseDomain(input)).toThrow(reason);
  });

  it('treats text with an @ as an email identity and normalises both parts', () => {
    expect(parseIdentity('Contact@Bücher.Example.')).toEqual({
      type: 'email',
      identity: 'contact@xn--bcher-kva.example',
      localPart: 'contact',
      domain: 'xn--bcher-kva.example',
    });
  });

  it('treats text without an @ as a domain identity', () => {
    expect(parseIdentity('Example.com')).toEqual({
      type: 'domain',
      identity: 'example.com',
      domain: 'example.com',
    });
  });

  it.each([
    ['@example.com', 'before "@" is empty'],
    ['a..b@example.com', 'separated by single dots'],
    ['"quoted"@example.com', 'may hold'],
    ['jörg@example.com', 'may hold'],
    ['contact@localhost', 'its domain is invalid'],
    [`${'a'.repeat(65)}@example.com`, 'at most 64'],
  ])('rejects the email %p with a reason mentioning %p', (input, reason) => {
    expect(() => parseIdentity(input)).toThrow(reason);
  });

  it('extracts the address from a From header with a display name', () => {
    expect(parseFromAddress('"Acme Billing" <Billing@Acme.Example>').identity).toBe('billing@acme.example');
    expect(parseFromAddress('billing@acme.example').identity).toBe('billing@acme.example');
  });

  it.each([
    ['example.com', 'example.com', true],
    ['en.example.com', 'example.com', true],
    ['a.b.c.example.com', 'example.com', true],
    ['evilexample.com', 'example.com', false],
    ['example.com.evil.test', 'example.com', false],
    ['com', 'example.com', false],
  ])('decides %p is within %p: %p', (domain, parent, expected) => {
    expect(isSameOrSubdomain(domain, parent)).toBe(expected);
  });
});
