import {
  dkimCnameRecords,
  dkimCnameRecordsForScopes,
  dmarcRecordName,
  formatDnsRecord,
  mailFromRecords,
} from '../../../lambdas/domain/identity/dns-records';
import { InvalidIdentityError } from '../../../lambdas/domain/identity/identity-errors';

const PROD = [
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3',
];
const DEV = [
  'ddddddddddddddddddddddddddddddd1',
  'ddddddddddddddddddddddddddddddd2',
  'ddddddddddddddddddddddddddddddd3',
];

describe('DKIM CNAME records', () => {
  it('gives the three records of one scope as <token>._domainkey.<domain> CNAME <token>.dkim.amazonses.com', () => {
    const records = dkimCnameRecords('Example.COM.', PROD, 'prod');
    expect(records).toHaveLength(3);
    expect(records[0]).toEqual({
      purpose: 'dkim',
      type: 'CNAME',
      name: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1._domainkey.example.com',
      value: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1.dkim.amazonses.com',
      scope: 'prod',
    });
  });

  it('gives all six records, labelled by scope, for a domain used in both scopes', () => {
    const records = dkimCnameRecordsForScopes('example.com', { prod: PROD, dev: DEV });
    expect(records).toHaveLength(6);
    expect(records.filter((r) => r.scope === 'prod').map((r) => r.value)).toEqual(
      PROD.map((t) => `${t}.dkim.amazonses.com`),
    );
    expect(records.filter((r) => r.scope === 'dev').map((r) => r.name)).toEqual(
      DEV.map((t) => `${t}._domainkey.example.com`),
    );
  });

  it('uses the punycode form of an IDN domain', () => {
    expect(dkimCnameRecords('bücher.example', PROD)[0]?.name).toBe(
      `${PROD[0]}._domainkey.xn--bcher-kva.example`,
    );
  });

  it('refuses a malformed token', () => {
    expect(() => dkimCnameRecords('example.com', ['bad token'])).toThrow(InvalidIdentityError);
  });

  it('formats a record as a zone-file line', () => {
    const [record] = dkimCnameRecords('example.com', PROD);
    expect(record && formatDnsRecord(record)).toBe(
      `${PROD[0]}._domainkey.example.com. CNAME ${PROD[0]}.dkim.amazonses.com.`,
    );
  });
});

describe('custom MAIL FROM records', () => {
  it('gives an MX to feedback-smtp.<region>.amazonses.com at priority 10 and an SPF record', () => {
    expect(
      mailFromRecords({ domain: 'example.com', mailFromDomain: 'Bounce.Example.com', region: 'eu-west-1' }),
    ).toEqual([
      {
        purpose: 'mail-from-mx',
        type: 'MX',
        name: 'bounce.example.com',
        value: 'feedback-smtp.eu-west-1.amazonses.com',
        priority: 10,
      },
      {
        purpose: 'mail-from-spf',
        type: 'TXT',
        name: 'bounce.example.com',
        value: 'v=spf1 include:amazonses.com ~all',
      },
    ]);
  });

  it.each(['example.com', 'bounce.other.test', 'bounceexample.com'])(
    'refuses %p as MAIL FROM domain of example.com',
    (mailFromDomain) => {
      expect(() => mailFromRecords({ domain: 'example.com', mailFromDomain, region: 'eu-west-1' })).toThrow(
        'must be a subdomain of example.com',
      );
    },
  );

  it('refuses a region that is not an AWS region name', () => {
    expect(() =>
      mailFromRecords({ domain: 'example.com', mailFromDomain: 'b.example.com', region: 'moon' }),
    ).toThrow('AWS region');
  });
});

it('places the DMARC record at _dmarc.<domain>', () => {
  expect(dmarcRecordName('Example.com.')).toBe('_dmarc.example.com');
});
