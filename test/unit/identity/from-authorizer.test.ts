import { authorizeFrom, dkimReadiness } from '../../../lambdas/domain/identity/from-authorizer';
import type { IdentityStatusView } from '../../../lambdas/domain/identity/identity';
import {
  InvalidFromAddressError,
  UnverifiedFromAddressError,
} from '../../../lambdas/domain/identity/identity-errors';

const domain = (identity: string, status: IdentityStatusView['status'] = 'SUCCESS'): IdentityStatusView => ({
  identity,
  type: 'domain',
  status,
});
const email = (identity: string, status: IdentityStatusView['status'] = 'SUCCESS'): IdentityStatusView => ({
  identity,
  type: 'email',
  status,
});

describe('authorizeFrom', () => {
  describe('with a verified domain identity', () => {
    const identities = [domain('example.com')];

    it.each([
      ['contact@example.com', 'example.com', 'strict'],
      ['Employee@EXAMPLE.COM', 'example.com', 'strict'],
      ['noreply@example.com.', 'example.com', 'strict'],
      ['noreply@en.example.com', 'en.example.com', 'relaxed'],
      ['noreply@a.b.c.d.example.com', 'a.b.c.d.example.com', 'relaxed'],
      ['"Billing" <billing@EU.Example.com>', 'eu.example.com', 'relaxed'],
    ])('authorises %p, aligned %s by the tenant signature', (from, fromDomain, alignment) => {
      const result = authorizeFrom(from, identities);
      expect(result).toMatchObject({ fromDomain, identity: 'example.com', identityType: 'domain' });
      expect(result.dkim).toEqual({
        signingDomains: ['example.com', 'amazonses.com'],
        tenantDomain: 'example.com',
        alignment,
        aligned: true,
      });
    });

    it.each([
      'noreply@evilexample.com',
      'noreply@example.com.evil.test',
      'noreply@example.co',
      'noreply@xample.com',
    ])('rejects the look-alike %p with rule no-identity', (from) => {
      const error = rejection(from, identities);
      expect(error).toMatchObject({ rule: 'no-identity', code: 'UNVERIFIED_FROM', kind: 'permanent' });
      expect(error.message).toContain('no identity of the tenant covers');
    });
  });

  describe('with IDN identities', () => {
    it.each([
      [domain('bücher.example'), 'info@BÜCHER.example'],
      [domain('xn--bcher-kva.example'), 'info@bücher.example'],
      [domain('bücher.example.'), 'info@shop.xn--bcher-kva.example.'],
      [email('Info@Bücher.Example'), 'info@xn--bcher-kva.example'],
    ])('authorises %o for %p whichever form each side uses', (identity, from) => {
      expect(authorizeFrom(from, [identity]).fromDomain).toMatch(/xn--bcher-kva\.example$/);
    });
  });

  describe('with verified email identities', () => {
    const identities = [email('contact@example.com'), email('billing@example.com')];

    it('authorises exactly the verified address, signed by amazonses.com only', () => {
      const result = authorizeFrom('Contact@Example.com', identities);
      expect(result).toMatchObject({
        from: 'contact@example.com',
        identity: 'contact@example.com',
        identityType: 'email',
      });
      expect(result.dkim).toEqual({ signingDomains: ['amazonses.com'], alignment: 'none', aligned: false });
    });

    it('rejects another address of the same domain, listing the email identities', () => {
      const error = rejection('employee@example.com', identities);
      expect(error).toMatchObject({ rule: 'email-identity-mismatch' });
      expect(error.message).toContain('contact@example.com, billing@example.com');
    });

    it('rejects an address in a subdomain of an email identity with rule no-identity', () => {
      expect(rejection('contact@en.example.com', identities)).toMatchObject({ rule: 'no-identity' });
    });
  });

  describe('with identities that are not verified', () => {
    it.each(['PENDING', 'FAILED', 'TEMPORARY_FAILURE', 'NOT_STARTED'] as const)(
      'rejects a From covered only by a domain identity in status %s',
      (status) => {
        const error = rejection('noreply@en.example.com', [domain('example.com', status)]);
        expect(error).toMatchObject({
          rule: 'identity-not-verified',
          identity: { identity: 'example.com', status },
        });
        expect(error.message).toContain(`status ${status}`);
      },
    );

    it('rejects an exact email identity that is pending', () => {
      expect(rejection('a@example.com', [email('a@example.com', 'PENDING')])).toMatchObject({
        rule: 'identity-not-verified',
      });
    });

    it('uses a verified domain identity even when an email identity for the address is pending', () => {
      const result = authorizeFrom('a@en.example.com', [
        email('a@en.example.com', 'PENDING'),
        domain('example.com'),
      ]);
      expect(result).toMatchObject({ identity: 'example.com', identityType: 'domain' });
    });
  });

  it('prefers the exact email identity but signs with the covering verified domain', () => {
    const result = authorizeFrom('a@en.example.com', [email('a@en.example.com'), domain('example.com')]);
    expect(result.identity).toBe('a@en.example.com');
    expect(result.dkim).toMatchObject({ tenantDomain: 'example.com', alignment: 'relaxed', aligned: true });
  });

  it('says the tenant has no identities when the list is empty', () => {
    expect(rejection('a@example.com', []).message).toContain('has no identities in this scope');
  });

  it('ignores a malformed stored identity rather than failing every send', () => {
    expect(authorizeFrom('a@example.com', [domain('not a domain'), domain('example.com')]).identity).toBe(
      'example.com',
    );
  });

  it.each(['', 'nobody', 'Name <>', 'a@b@', 'noreply@com'])(
    'rejects the malformed From %p as INVALID_FROM_ADDRESS',
    (from) => {
      expect(() => authorizeFrom(from, [domain('example.com')])).toThrow(InvalidFromAddressError);
    },
  );
});

describe('dkimReadiness', () => {
  it('signs with amazonses.com only when no verified domain identity covers From', () => {
    expect(dkimReadiness('other.test', 'example.com')).toEqual({
      signingDomains: ['amazonses.com'],
      alignment: 'none',
      aligned: false,
    });
  });
});

function rejection(from: string, identities: readonly IdentityStatusView[]): UnverifiedFromAddressError {
  try {
    authorizeFrom(from, identities);
  } catch (error) {
    if (error instanceof UnverifiedFromAddressError) return error;
    throw error;
  }
  throw new Error(`expected ${from} to be rejected`);
}
