import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoTenantStore } from '../../../lambdas/adapters/tenant-store';
import { type LocalDnsServer, startLocalDnsServer } from '../../../local/dns/dns-server';
import { type SesEmulator, startSesEmulator } from '../../../local/ses';
import { type CliHarness, createCliHarness } from '../../support/cli-harness';
import { testAws, testStack } from '../../support/env';
import { createScratchTable, deleteScratchTable } from '../../support/scratch-table';
import { countingSesClient, createConfigurationSet, serviceFor, verificationPath } from './identity-fixture';

const dynamodb = new DynamoDBClient(testAws.dynamodb);
const documents = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
const run = `${process.pid}-${Date.now().toString(36)}`;
const prodIdentitiesTable = `identities-prod-cli-${run}`;
let seq = 0;

let dns: LocalDnsServer;
let ses: SesEmulator;
let sesProd: SesEmulator;
let sesClient: SESv2Client;
let sesProdClient: SESv2Client;

let harness: CliHarness;

/** Runs `tenant-mail identity <name> …args --local` through cli/main.ts, against the emulators. */
function cli(argv: readonly string[], json = false) {
  return harness.run(['identity', ...argv, ...(json ? ['--json'] : [])]);
}

async function newTenant(): Promise<string> {
  const tenantId = `cli-${run}-${++seq}`;
  await new DynamoTenantStore(documents, { tableName: testStack.table('tenants') }).put({
    tenantId,
    displayName: 'Acme Billing',
    profileEmail: 'billing@acme.example',
    environments: { 'developer-sandbox': { method: 'advanced' } },
  });
  return tenantId;
}

beforeAll(async () => {
  dns = await startLocalDnsServer();
  ses = await startSesEmulator({ dns, dkimKeyBits: 1024 });
  sesProd = await startSesEmulator({ dns, dkimKeyBits: 1024 });
  sesClient = countingSesClient(ses.url).client;
  sesProdClient = countingSesClient(sesProd.url).client;
  await createConfigurationSet(sesClient, 'dev');
  await createConfigurationSet(sesProdClient, 'prod');
  await createScratchTable(dynamodb, 'identities', { tableName: prodIdentitiesTable });
  harness = await createCliHarness({ ses: ses.url });
});

afterAll(async () => {
  await deleteScratchTable(dynamodb, prodIdentitiesTable);
  sesClient.destroy();
  sesProdClient.destroy();
  await ses.stop();
  await sesProd.stop();
  await dns.stop();
  await harness.stop();
  dynamodb.destroy();
});

describe('tenant-mail identity add-domain / dns / doctor / status', () => {
  it('shows exactly the records to add, checks them in live DNS until all are ok, then the domain verifies', async () => {
    const tenantId = await newTenant();
    const domain = `${tenantId}.example.test`;
    const server = ['--dns-server', dns.server];

    const added = await cli(['add-domain', '--tenant', tenantId, '--domain', domain, ...server]);
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(
      `Added domain identity ${domain} for tenant ${tenantId} in the dev scope: status PENDING.`,
    );
    expect(added.stdout).toContain(`SES tenant tm-dev-${tenantId}`);
    // The next steps speak of "the records below": the records come after them.
    expect(added.stdout).toMatch(/Next:\n[\s\S]*records below[\s\S]*\nDNS records to publish:\n/);

    const dnsJson = await cli(['dns', '--tenant', tenantId, ...server], true);
    expect(dnsJson.code).toBe(0);
    const records = (
      JSON.parse(dnsJson.stdout) as {
        records: { purpose: string; scope: string; name: string; value: string; action: string }[];
      }
    ).records;
    const dkim = records.filter((r) => r.purpose === 'DKIM');
    expect(dkim).toHaveLength(3);
    for (const r of dkim) {
      expect(r).toMatchObject({ scope: 'dev', action: 'add' });
      expect(r.name).toMatch(new RegExp(`^([a-z0-9]+)\\._domainkey\\.${domain.replace(/\./g, '\\.')}$`));
      expect(r.value).toBe(`${r.name.split('.')[0]}.dkim.amazonses.com`);
      // The table for people and the add-domain output carry the same records.
      expect(added.stdout).toContain(r.name);
    }
    expect(records.filter((r) => r.purpose !== 'DKIM')).toEqual([
      {
        purpose: 'SPF',
        scope: 'all',
        type: 'TXT',
        name: domain,
        value: 'v=spf1 include:amazonses.com ~all',
        action: 'add',
      },
      {
        purpose: 'DMARC',
        scope: 'all',
        type: 'TXT',
        name: `_dmarc.${domain}`,
        value: `v=DMARC1; p=none; rua=mailto:dmarc-reports@${domain}`,
        action: 'add',
      },
    ]);
    const dnsText = await cli(['dns', '--tenant', tenantId, ...server]);
    expect(dnsText.stdout.split('\n')[0]).toMatch(/^PURPOSE\s+SCOPE\s+TYPE\s+NAME\s+VALUE\s+ACTION$/);
    for (const r of records) expect(dnsText.stdout).toContain(r.value);

    // Nothing published: every record missing, each with its fix; exit 1.
    const before = await cli(['doctor', '--tenant', tenantId, ...server]);
    expect(before.code).toBe(1);
    expect(before.stdout).toContain('0 ok, 5 missing, 0 wrong');
    for (const r of dkim)
      expect(before.stdout).toContain(`Add a CNAME record: name ${r.name}, value ${r.value}`);
    expect(before.stdout).toContain(
      `Add a TXT record: name ${domain}, value "v=spf1 include:amazonses.com ~all"`,
    );

    // One CNAME typed wrong, the rest right: that one is WRONG with the change to make.
    const [first, ...others] = dkim as [(typeof dkim)[number], ...typeof dkim];
    dns.setRecords(first.name, 'CNAME', ['typo.dkim.amazonses.com']);
    for (const r of others) dns.setRecords(r.name, 'CNAME', [r.value]);
    dns.setRecords(domain, 'TXT', ['v=spf1 include:_spf.example.net ~all']);
    const partly = await cli(['doctor', '--tenant', tenantId, ...server], true);
    expect(partly.code).toBe(1);
    const report = JSON.parse(partly.stdout) as {
      allOk: boolean;
      checks: { name: string; purpose: string; status: string; fix?: string }[];
    };
    expect(report.allOk).toBe(false);
    expect(report.checks.find((c) => c.name === first.name)).toMatchObject({
      status: 'wrong',
      fix: `Change the CNAME record ${first.name} from typo.dkim.amazonses.com to ${first.value}`,
    });
    expect(report.checks.find((c) => c.purpose === 'spf')).toMatchObject({
      status: 'wrong',
      fix: `Change the TXT record ${domain} from "v=spf1 include:_spf.example.net ~all" to "v=spf1 include:_spf.example.net include:amazonses.com ~all"`,
    });

    // Everything right: exit 0, and the refreshed status is SUCCESS.
    dns.setRecords(first.name, 'CNAME', [first.value]);
    dns.setRecords(domain, 'TXT', ['v=spf1 include:_spf.example.net include:amazonses.com ~all']);
    dns.setRecords(`_dmarc.${domain}`, 'TXT', ['v=DMARC1; p=quarantine; rua=mailto:dmarc@example.test']);
    const after = await cli(['doctor', '--tenant', tenantId, ...server]);
    expect(after.stdout).toContain('5 ok, 0 missing, 0 wrong, 0 lookup errors');
    expect(after.code).toBe(0);

    const status = await cli(['status', '--tenant', tenantId, '--refresh'], true);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual([
      expect.objectContaining({ identity: domain, previous: 'PENDING', status: 'SUCCESS', changed: true }),
    ]);
    const list = await cli(['list', '--tenant', tenantId]);
    expect(list.stdout).toMatch(new RegExp(`${domain.replace(/\./g, '\\.')}\\s+domain\\s+SUCCESS\\s+3`));
  });

  it('--both-scopes prints all 6 DKIM CNAMEs labelled by scope, or says how to get the other scope’s', async () => {
    const tenantId = await newTenant();
    const domain = `${tenantId}.example.test`;
    const prod = serviceFor({
      scope: 'prod',
      documents,
      identitiesTable: prodIdentitiesTable,
      tenantsTable: testStack.table('tenants'),
      ses: sesProdClient,
    });
    const inProd = await prod.service.addIdentity(tenantId, domain);
    expect(
      (await cli(['add-domain', '--tenant', tenantId, '--domain', domain, '--dns-server', dns.server])).code,
    ).toBe(0);

    const both = await cli(
      [
        'dns',
        '--tenant',
        tenantId,
        '--both-scopes',
        '--other-table',
        prodIdentitiesTable,
        '--dns-server',
        dns.server,
      ],
      true,
    );
    const dkim = (
      JSON.parse(both.stdout) as { records: { purpose: string; scope: string; name: string }[] }
    ).records.filter((r) => r.purpose === 'DKIM');
    expect(dkim).toHaveLength(6);
    expect(dkim.filter((r) => r.scope === 'prod').map((r) => r.name)).toEqual(
      inProd.identity.dkimTokens.map((t) => `${t}._domainkey.${domain}`),
    );
    expect(dkim.filter((r) => r.scope === 'dev')).toHaveLength(3);

    // The other scope's table not reachable (another account in real life; here a name that does not exist, since
    // other test files may provision the prod scope's real tables in the shared DynamoDB Local).
    const unreachable = await cli([
      'dns',
      '--tenant',
      tenantId,
      '--both-scopes',
      '--other-table',
      `tenant-mail-prod-identities-unreachable-${tenantId}`,
      '--dns-server',
      dns.server,
    ]);
    expect(unreachable.code).toBe(0);
    expect(unreachable.stdout).toContain(`prod scope: could not read the prod scope's identities`);
    expect(unreachable.stdout).toContain(
      `run \`tenant-mail identity dns --scope prod --tenant ${tenantId}\` with that scope's AWS credentials.`,
    );

    // The doctor checks all 6 when asked.
    const doctor = await cli(
      [
        'doctor',
        '--tenant',
        tenantId,
        '--both-scopes',
        '--other-table',
        prodIdentitiesTable,
        '--dns-server',
        dns.server,
      ],
      true,
    );
    const checks = (JSON.parse(doctor.stdout) as { checks: { purpose: string; scope?: string }[] }).checks;
    expect(
      checks
        .filter((c) => c.purpose === 'dkim')
        .map((c) => c.scope)
        .sort(),
    ).toEqual(['dev', 'dev', 'dev', 'prod', 'prod', 'prod']);
    expect(doctor.code).toBe(1);
  });
});

describe('tenant-mail identity add-email / delete', () => {
  it('adds up to 3 email identities, refuses a 4th with exit 2 and a clear message, and deletes one', async () => {
    const tenantId = await newTenant();
    const domain = `${tenantId}.example.test`;
    for (const local of ['a', 'b', 'c']) {
      const added = await cli(['add-email', '--tenant', tenantId, '--email', `${local}@${domain}`]);
      expect(added.code).toBe(0);
      expect(added.stdout).toContain(`SES sent a verification email to ${local}@${domain}`);
    }

    const fourth = await cli(['add-email', '--tenant', tenantId, '--email', `d@${domain}`], true);
    expect(fourth.code).toBe(2);
    expect(JSON.parse(fourth.stdout)).toEqual({
      error: {
        code: 'EMAIL_IDENTITY_LIMIT',
        message: 'A tenant can have at most 3 email identities; delete one before adding another.',
      },
    });
    expect(fourth.stderr).toBe(
      'error: A tenant can have at most 3 email identities; delete one before adding another.',
    );

    await fetch(`${ses.url}${verificationPath(ses, `a@${domain}`)}`);
    const refreshed = await cli(['status', '--tenant', tenantId, '--identity', `A@${domain}`, '--refresh']);
    expect(refreshed.stdout).toMatch(
      new RegExp(`a@${domain.replace(/\./g, '\\.')}\\s+email\\s+PENDING\\s+SUCCESS`),
    );

    const deleted = await cli(['delete', '--tenant', tenantId, '--identity', `b@${domain}`]);
    expect(deleted).toMatchObject({
      code: 0,
      stdout: `deleted email identity b@${domain} of tenant ${tenantId} in the dev scope`,
    });
    expect(ses.store.identities.has(`b@${domain}`)).toBe(false);
    expect((await cli(['add-email', '--tenant', tenantId, '--email', `d@${domain}`])).code).toBe(0);

    const again = await cli(['delete', '--tenant', tenantId, '--identity', `b@${domain}`]);
    expect(again).toMatchObject({ code: 3, stderr: `error: The tenant has no identity b@${domain}.` });
  });

  it('refuses bad input (an address as a domain, an invalid domain: exit 2) and an unknown tenant (exit 3)', async () => {
    const tenantId = await newTenant();
    const address = await cli(['add-domain', '--tenant', tenantId, '--domain', `x@${tenantId}.example.test`]);
    expect(address.code).toBe(2);
    expect(address.stderr).toContain('a domain identity takes a domain; use `identity add-email');
    const invalid = await cli(['add-domain', '--tenant', tenantId, '--domain', 'not a domain']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('"not a domain" is not a valid identity');
    const unknown = await cli(['add-domain', '--tenant', `nobody-${run}`, '--domain', `${run}.example.test`]);
    expect(unknown.code).toBe(3);
  });
});
