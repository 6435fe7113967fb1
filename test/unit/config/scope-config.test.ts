import { loadScopeConfigs, resolveScopeConfig } from '../../../lib/config/scope-config';
import { cdkJsonContext } from '../../../local/twin/cloud-assembly';

describe('scope configuration', () => {
  const valid = { region: 'eu-west-1', senderDomain: 'mail.example.com' };

  it('serves production and api-sandbox from prod, developer and central sandboxes from dev', () => {
    const configs = loadScopeConfigs(cdkJsonContext().tenantMail, {});
    expect(configs.prod.environments).toEqual(['production', 'api-sandbox']);
    expect(configs.dev.environments).toEqual(['developer-sandbox', 'central-sandbox']);
  });

  it('always retains prod data and lets dev opt out', () => {
    const configs = loadScopeConfigs(cdkJsonContext().tenantMail, {});
    expect(configs.prod.retainData).toBe(true);
    expect(configs.dev.retainData).toBe(false);
    expect(() => resolveScopeConfig('prod', { ...valid, retainData: false })).toThrow(
      'tenantMail.scopes.prod.retainData cannot be false: production data is always retained',
    );
  });

  it('fills defaults for the sender local part and retention', () => {
    expect(resolveScopeConfig('dev', valid)).toMatchObject({
      senderLocalPart: 'notifications',
      messageRetentionDays: 90,
    });
  });

  it('lets TENANT_MAIL_<SCOPE>_<SETTING> environment variables override cdk.json', () => {
    const configs = loadScopeConfigs(cdkJsonContext().tenantMail, {
      TENANT_MAIL_PROD_ACCOUNT: '123456789012',
      TENANT_MAIL_PROD_REGION: 'us-west-2',
    });
    expect(configs.prod).toMatchObject({ account: '123456789012', region: 'us-west-2' });
  });

  it.each([
    [{ senderDomain: 'mail.example.com' }, 'tenantMail.scopes.dev.region is required (e.g. "eu-west-1")'],
    [{ ...valid, region: 'Ireland' }, 'tenantMail.scopes.dev.region "Ireland" is not an AWS region'],
    [
      { region: 'eu-west-1' },
      "tenantMail.scopes.dev.senderDomain is required (the platform's sending domain)",
    ],
    [
      { ...valid, senderDomain: 'not a domain' },
      'tenantMail.scopes.dev.senderDomain "not a domain" is not a valid domain name',
    ],
    [{ ...valid, account: '12' }, 'tenantMail.scopes.dev.account "12" must be a 12-digit AWS account id'],
    [
      { ...valid, messageRetentionDays: 0 },
      'tenantMail.scopes.dev.messageRetentionDays must be a whole number of days ≥ 1',
    ],
  ])('fails synthesis with an exact message for %j', (raw, message) => {
    expect(() => resolveScopeConfig('dev', raw)).toThrow(message);
  });

  it('rejects scopes it does not know', () => {
    expect(() => loadScopeConfigs({ scopes: { staging: valid } }, {})).toThrow(
      'tenantMail.scopes has unknown scope(s) staging; expected prod, dev',
    );
  });
});
