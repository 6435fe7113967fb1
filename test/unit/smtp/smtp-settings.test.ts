import {
  InvalidSmtpSettingsError,
  parseSmtpSettings,
  tenantSmtpSecretName,
  validateSmtpSettings,
} from '../../../lambdas/domain/smtp/smtp-settings';

const context = { scope: 'prod', tenantId: 'acme' } as const;
const valid = {
  host: 'smtp.office365.com',
  port: 587,
  security: 'starttls',
  auth: {
    type: 'password',
    username: 'billing@acme.example',
    secretRef: 'tenant-mail/prod/tenants/acme/smtp',
  },
  from: 'billing@acme.example',
  provider: 'microsoft-365',
};

function errorsOf(input: unknown) {
  const result = validateSmtpSettings(input, context);
  return result.ok ? [] : result.errors;
}

describe('SMTP settings', () => {
  it('fills Microsoft 365 limits from the preset', () => {
    expect(parseSmtpSettings(valid, context).limits).toEqual({
      messagesPerMinute: 30,
      recipientsPerDay: 10_000,
      maxRecipientsPerMessage: 500,
      maxConnections: 2,
    });
  });

  it('fills the Google Workspace daily message limit from the preset', () => {
    const settings = parseSmtpSettings(
      { ...valid, host: 'smtp.gmail.com', provider: 'google-workspace' },
      context,
    );
    expect(settings.limits.messagesPerDay).toBe(2_000);
  });

  it('lets the tenant override one preset limit and remove another with null', () => {
    const settings = parseSmtpSettings(
      { ...valid, limits: { messagesPerMinute: 20, recipientsPerDay: null, messagesPerSecond: 1 } },
      context,
    );
    expect(settings.limits).toEqual({
      messagesPerMinute: 20,
      messagesPerSecond: 1,
      maxRecipientsPerMessage: 500,
      maxConnections: 2,
    });
  });

  it('treats a missing provider as custom, with no rate limit', () => {
    const { provider: _provider, ...custom } = valid;
    const settings = parseSmtpSettings(custom, context);
    expect(settings.provider).toBe('custom');
    expect(settings.limits.messagesPerMinute).toBeUndefined();
  });

  it('refuses plaintext with a reason on the security field', () => {
    expect(errorsOf({ ...valid, port: 25, security: 'none' })).toEqual([
      { field: 'security', message: expect.stringContaining('plaintext SMTP is refused') },
    ]);
  });

  it('refuses STARTTLS on port 465 and implicit TLS on port 587', () => {
    expect(errorsOf({ ...valid, port: 465 })).toEqual([
      { field: 'security', message: expect.stringContaining("set security to 'tls'") },
    ]);
    expect(errorsOf({ ...valid, security: 'tls' })).toEqual([
      { field: 'security', message: expect.stringContaining("set security to 'starttls'") },
    ]);
  });

  it("refuses a secret reference outside the tenant's own path", () => {
    expect(
      errorsOf({ ...valid, auth: { ...valid.auth, secretRef: 'tenant-mail/prod/tenants/other/smtp' } }),
    ).toEqual([
      { field: 'auth.secretRef', message: expect.stringContaining('tenant-mail/prod/tenants/acme/smtp') },
    ]);
  });

  it('accepts OAuth2 with a mailbox and a secret reference below the tenant path', () => {
    const settings = parseSmtpSettings(
      {
        ...valid,
        auth: {
          type: 'oauth2',
          user: 'ops@acme.example',
          secretRef: `${tenantSmtpSecretName('prod', 'acme')}/oauth2`,
        },
      },
      context,
    );
    expect(settings.auth).toEqual({
      type: 'oauth2',
      user: 'ops@acme.example',
      secretRef: 'tenant-mail/prod/tenants/acme/smtp/oauth2',
    });
  });

  it('reports every invalid field at once', () => {
    const fields = errorsOf({
      host: 'not a host',
      port: 70_000,
      security: 'starttls',
      auth: { type: 'password', username: '', secretRef: 'tenant-mail/prod/tenants/acme/smtp' },
      from: 'not-an-address',
      provider: 'yahoo',
      limits: { messagesPerMinute: 0, perFortnight: 3 },
    }).map((error) => error.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'host',
        'port',
        'auth.username',
        'from',
        'provider',
        'limits.messagesPerMinute',
        'limits',
      ]),
    );
  });

  it('throws a permanent InvalidSmtpSettingsError listing the fields', () => {
    expect(() => parseSmtpSettings({ ...valid, from: 'nope' }, context)).toThrow(InvalidSmtpSettingsError);
    expect(() => parseSmtpSettings({ ...valid, from: 'nope' }, context)).toThrow(
      /from: must be an email address/,
    );
  });

  it('never stores a password in settings: an auth block with a password field is refused', () => {
    const result = validateSmtpSettings(
      { ...valid, auth: { type: 'password', username: 'u', password: 'hunter2' } },
      context,
    );
    expect(result.ok).toBe(false);
  });
});
