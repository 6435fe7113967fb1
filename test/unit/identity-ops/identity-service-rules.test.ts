import { guideRows } from '../../../client/dns-rows';
import { dnsGuide, nextSteps } from '../../../lambdas/domain/identity/dns-guide';
import { sesTenantNameFor, statusFromSes } from '../../../lambdas/domain/identity/identity-service';

const TOKENS = [
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3',
];
const PROD_TOKENS = [
  'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1',
  'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2',
  'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb3',
];

describe('statusFromSes', () => {
  it.each([
    [{ verifiedForSending: true, verificationStatus: 'SUCCESS' }, 'SUCCESS'],
    [{ verifiedForSending: true }, 'SUCCESS'],
    [{ verifiedForSending: false, verificationStatus: 'PENDING', dkimStatus: 'PENDING' }, 'PENDING'],
    [{ verifiedForSending: false, verificationStatus: 'FAILED' }, 'FAILED'],
    [{ verifiedForSending: false, dkimStatus: 'TEMPORARY_FAILURE' }, 'TEMPORARY_FAILURE'],
    [{ verifiedForSending: false, verificationStatus: 'SUCCESS', dkimStatus: 'FAILED' }, 'FAILED'],
    [{ verifiedForSending: false, verificationStatus: 'SUCCESS' }, 'PENDING'],
    [{ verifiedForSending: false }, 'PENDING'],
  ] as const)('maps %j to %s (SUCCESS only when SES will send from it)', (state, expected) => {
    expect(statusFromSes({ dkimTokens: [], ...state })).toBe(expected);
  });
});

describe('statusFromSes for an email identity', () => {
  it('ignores the DKIM status, which SES reports as NOT_STARTED for addresses', () => {
    expect(
      statusFromSes({ verifiedForSending: false, dkimStatus: 'NOT_STARTED', dkimTokens: [] }, 'email'),
    ).toBe('PENDING');
  });
});

describe('sesTenantNameFor', () => {
  it('names the SES tenant after the scope and tenant id', () => {
    expect(sesTenantNameFor('acme', 'dev')).toBe('tm-dev-acme');
    expect(sesTenantNameFor('acme', 'prod')).toBe('tm-prod-acme');
  });

  it('keeps long ids within SES’s 64 characters and unique through a hash of the full id', () => {
    const a = sesTenantNameFor(`${'x'.repeat(60)}-a`, 'prod');
    const b = sesTenantNameFor(`${'x'.repeat(60)}-b`, 'prod');
    expect(a).toHaveLength(64);
    expect(a).toMatch(/^tm-prod-x+-[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
  });
});

describe('dnsGuide', () => {
  it('lists 3 DKIM CNAMEs for one scope, a new SPF record and a monitoring DMARC record when nothing is published', () => {
    const guide = dnsGuide({
      domain: 'Example.COM.',
      tokensByScope: { dev: TOKENS },
      txt: { root: [], dmarc: [] },
    });
    expect(guideRows(guide)).toEqual([
      ...TOKENS.map((t) => ({
        purpose: 'DKIM',
        scope: 'dev',
        type: 'CNAME',
        name: `${t}._domainkey.example.com`,
        value: `${t}.dkim.amazonses.com`,
        action: 'add',
      })),
      {
        purpose: 'SPF',
        scope: 'all',
        type: 'TXT',
        name: 'example.com',
        value: 'v=spf1 include:amazonses.com ~all',
        action: 'add',
      },
      {
        purpose: 'DMARC',
        scope: 'all',
        type: 'TXT',
        name: '_dmarc.example.com',
        value: 'v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com',
        action: 'add',
      },
    ]);
    expect(guide.basedOnPublishedRecords).toBe(true);
  });

  it('labels all 6 DKIM CNAMEs by scope when both scopes’ tokens are known', () => {
    const guide = dnsGuide({ domain: 'example.com', tokensByScope: { prod: PROD_TOKENS, dev: TOKENS } });
    expect(guide.dkim.map((r) => `${r.scope} ${r.name}`)).toEqual([
      ...PROD_TOKENS.map((t) => `prod ${t}._domainkey.example.com`),
      ...TOKENS.map((t) => `dev ${t}._domainkey.example.com`),
    ]);
  });

  it('merges include:amazonses.com into the published SPF record and keeps a good DMARC record', () => {
    const guide = dnsGuide({
      domain: 'example.com',
      tokensByScope: { dev: TOKENS },
      txt: {
        root: ['google-site-verification=x', 'v=spf1 include:_spf.google.com -all'],
        dmarc: ['v=DMARC1; p=reject'],
      },
    });
    const rows = guideRows(guide);
    expect(rows.find((r) => r.purpose === 'SPF')).toMatchObject({
      value: 'v=spf1 include:_spf.google.com include:amazonses.com -all',
      action: 'replace',
    });
    expect(rows.find((r) => r.purpose === 'DMARC')).toMatchObject({
      value: 'v=DMARC1; p=reject',
      action: 'keep',
    });
  });

  it('says to merge rather than add when the published records could not be read', () => {
    const guide = dnsGuide({ domain: 'example.com', tokensByScope: { dev: TOKENS } });
    expect(guide.basedOnPublishedRecords).toBe(false);
    expect(guide.notes.join(' ')).toContain(
      'add include:amazonses.com to it instead of publishing a second one',
    );
  });
});

describe('nextSteps', () => {
  const base = { tenantId: 'acme', dkimTokens: [], createdAt: '2024-01-01T00:00:00Z' };
  it('tells an email identity’s owner to click the verification link', () => {
    expect(
      nextSteps(
        { ...base, identity: 'a@example.com', domain: 'example.com', type: 'email', status: 'PENDING' },
        'dev',
      ).join(' '),
    ).toContain('clicks the link');
  });
  it('tells a domain identity’s owner to publish the records and run the doctor', () => {
    expect(
      nextSteps(
        { ...base, identity: 'example.com', domain: 'example.com', type: 'domain', status: 'PENDING' },
        'prod',
      ).join(' '),
    ).toContain('tenant-mail identity doctor --scope prod --tenant acme');
  });
});
