import {
  IdentityAlreadyExistsError,
  IdentityDomainConflictError,
  IdentityLimitExceededError,
} from '../../../lambdas/domain/identity/identity-errors';
import { checkIdentityLimits } from '../../../lambdas/domain/identity/identity-limits';

describe('checkIdentityLimits', () => {
  it('accepts a first domain identity and returns it normalised', () => {
    expect(checkIdentityLimits([], 'Example.COM.')).toEqual({
      type: 'domain',
      identity: 'example.com',
      domain: 'example.com',
    });
  });

  it('rejects a second domain identity with DOMAIN_IDENTITY_LIMIT', () => {
    const error = catchError(() => checkIdentityLimits([{ identity: 'example.com' }], 'other.test'));
    expect(error).toBeInstanceOf(IdentityLimitExceededError);
    expect(error).toMatchObject({ code: 'DOMAIN_IDENTITY_LIMIT', kind: 'permanent' });
    expect((error as Error).message).toContain('at most 1 domain identity');
  });

  it('accepts a third email identity and rejects a fourth with EMAIL_IDENTITY_LIMIT', () => {
    const two = [{ identity: 'a@one.test' }, { identity: 'b@two.test' }];
    expect(checkIdentityLimits(two, 'c@three.test').identity).toBe('c@three.test');
    const error = catchError(() =>
      checkIdentityLimits([...two, { identity: 'c@three.test' }], 'd@four.test'),
    );
    expect(error).toMatchObject({ code: 'EMAIL_IDENTITY_LIMIT' });
    expect((error as Error).message).toContain('at most 3 email identities');
  });

  it('allows two email identities in the same domain', () => {
    expect(checkIdentityLimits([{ identity: 'a@example.com' }], 'b@example.com').type).toBe('email');
  });

  it('rejects an email identity in the domain of the domain identity, compared after normalisation', () => {
    const error = catchError(() =>
      checkIdentityLimits([{ identity: 'bücher.example' }], 'info@BÜCHER.example.'),
    );
    expect(error).toBeInstanceOf(IdentityDomainConflictError);
    expect(error).toMatchObject({ code: 'IDENTITY_DOMAIN_CONFLICT', domain: 'xn--bcher-kva.example' });
  });

  it('rejects a domain identity when an email identity of that domain exists', () => {
    const error = catchError(() => checkIdentityLimits([{ identity: 'info@example.com' }], 'EXAMPLE.com'));
    expect(error).toMatchObject({ code: 'IDENTITY_DOMAIN_CONFLICT', candidateType: 'domain' });
  });

  it('allows an email identity in a subdomain of the domain identity, since the domains differ', () => {
    expect(checkIdentityLimits([{ identity: 'example.com' }], 'info@en.example.com').type).toBe('email');
  });

  it('rejects an identity the tenant already has', () => {
    expect(() => checkIdentityLimits([{ identity: 'info@example.com' }], 'INFO@example.com')).toThrow(
      IdentityAlreadyExistsError,
    );
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
