import { ConfigError } from '../../../lambdas/shared/config';
import { loadIdentityRefreshConfig } from '../../../lambdas/shared/identity-config';

const env = {
  SCOPE: 'prod',
  CONFIGURATION_SET_NAME: 'tenant-mail-prod',
  TABLE_IDENTITIES: 'tenant-mail-prod-identities',
  TABLE_TENANTS: 'tenant-mail-prod-tenants',
};

describe('loadIdentityRefreshConfig', () => {
  it('reads the scope, configuration set and tables, with defaults for concurrency and verified re-checks', () => {
    expect(loadIdentityRefreshConfig(env)).toEqual({
      scope: 'prod',
      configurationSetName: 'tenant-mail-prod',
      tables: { identities: 'tenant-mail-prod-identities', tenants: 'tenant-mail-prod-tenants' },
      concurrency: 4,
      includeVerified: false,
    });
    expect(
      loadIdentityRefreshConfig({ ...env, REFRESH_CONCURRENCY: '2', REFRESH_INCLUDE_VERIFIED: 'true' }),
    ).toMatchObject({
      concurrency: 2,
      includeVerified: true,
    });
  });

  it.each([
    [{ TABLE_IDENTITIES: undefined }, 'environment variable TABLE_IDENTITIES is required'],
    [{ TABLE_TENANTS: '' }, 'environment variable TABLE_TENANTS is required'],
    [{ SCOPE: 'staging' }, 'SCOPE must be one of prod, dev'],
    [{ REFRESH_CONCURRENCY: '0' }, 'environment variable REFRESH_CONCURRENCY must be a whole number ≥ 1'],
    [
      { REFRESH_INCLUDE_VERIFIED: 'yes' },
      'environment variable REFRESH_INCLUDE_VERIFIED must be true or false',
    ],
  ])('fails at cold start naming the variable (%j)', (override, message) => {
    expect(() => loadIdentityRefreshConfig({ ...env, ...override })).toThrow(new ConfigError(message));
  });
});
