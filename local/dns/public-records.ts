import type { LocalDnsServer, LocalRecordType } from './dns-server';

/** A record the public internet serves and the product looks up. */
export interface PublicRecord {
  readonly name: string;
  readonly type: LocalRecordType;
  readonly values: readonly string[];
  /** Where the value comes from. */
  readonly source: string;
}

/**
 * What real DNS answers for names the product depends on but no tenant publishes, so checks through the
 * twin's DNS see what they would see on the internet. Today that is SES's SPF record: every tenant's SPF
 * record is told to `include:amazonses.com`, and an SPF evaluation (the `identity doctor` lookup count, a
 * receiver's check) follows that include. The value is SES's record as AWS published it; the live record
 * lists more ranges, with the same mechanisms and the same `~all`.
 */
export const PUBLIC_RECORDS: readonly PublicRecord[] = [
  {
    name: 'amazonses.com',
    type: 'TXT',
    values: ['v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 ip4:54.240.0.0/18 ~all'],
    source: 'https://aws.amazon.com/blogs/messaging-and-targeting/amazon-ses-ip-addresses/',
  },
];

/** Serves {@link PUBLIC_RECORDS} from the twin's DNS server. */
export function publishPublicRecords(dns: LocalDnsServer): void {
  for (const record of PUBLIC_RECORDS) dns.setRecords(record.name, record.type, record.values);
}
