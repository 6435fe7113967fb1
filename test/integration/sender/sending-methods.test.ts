import { Resolver } from 'node:dns/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateConfigurationSetCommand,
  CreateEmailIdentityCommand,
  GetEmailIdentityCommand,
  SESv2Client,
} from '@aws-sdk/client-sesv2';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { authenticate } from 'mailauth';
import { DynamoIdentityStore } from '../../../lambdas/adapters/identity-store';
import { FileSecretStore } from '../../../lambdas/adapters/secrets/file-secret-store';
import { NodemailerRelaySender } from '../../../lambdas/adapters/smtp/nodemailer-relay-sender';
import { DynamoSuppressionStore } from '../../../lambdas/adapters/suppression-store';
import { DynamoTenantStore } from '../../../lambdas/adapters/tenant-store';
import { messageIdFor } from '../../../lambdas/domain/sending/send-request';
import { createSendEmailHandler } from '../../../lambdas/handlers/send-email';
import { type LocalDnsServer, startLocalDnsServer } from '../../../local/dns/dns-server';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import { type SesEmulator, startSesEmulator } from '../../../local/ses';
import { sqsEvent as twinSqsEvent } from '../../../local/twin/sqs-poller';
import { testAws, testStack } from '../../support/env';
import { TEST_CONFIGURATION_SET, TEST_PLATFORM_DOMAIN, testSenderDeps } from '../../support/sender-deps';
import { type SmtpRelay, startSmtpRelay } from '../../support/smtp-relay';

const run = Date.now().toString(36);
const documents = DynamoDBDocumentClient.from(new DynamoDBClient(testAws.dynamodb));
const tenants = new DynamoTenantStore(documents, {
  tableName: testStack.table('tenants'),
  cacheTtlSeconds: 0,
});
const identities = new DynamoIdentityStore({ client: documents, tableName: testStack.table('identities') });
const suppressions = new DynamoSuppressionStore(documents, testStack.table('suppressions'));

let dns: LocalDnsServer;
let ses: SesEmulator;
let sesClient: SESv2Client;
let relay: SmtpRelay;
let relaySender: NodemailerRelaySender;
let secretsDir: string;

const record = async (messageId: string) =>
  (await documents.send(new GetCommand({ TableName: testStack.table('messages'), Key: { messageId } }))).Item;

/** One SQS event with one record, as the event source mapping delivers it. */
const sqsEvent = (body: unknown, id: string): SQSEvent =>
  twinSqsEvent({ body: JSON.stringify(body), messageId: id });

async function verifyDomainInSes(domain: string): Promise<void> {
  const created = await sesClient.send(new CreateEmailIdentityCommand({ EmailIdentity: domain }));
  for (const token of created.DkimAttributes?.Tokens ?? []) {
    dns.setRecords(`${token}._domainkey.${domain}`, 'CNAME', [`${token}.dkim.amazonses.com`]);
  }
  const verified = await sesClient.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));
  expect(verified.VerifiedForSendingStatus).toBe(true);
}

beforeAll(async () => {
  dns = await startLocalDnsServer();
  ses = await startSesEmulator({ dns, dkimKeyBits: 1024, maxSendRate: 1000 });
  sesClient = new SESv2Client({ endpoint: ses.url, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  await sesClient.send(new CreateConfigurationSetCommand({ ConfigurationSetName: TEST_CONFIGURATION_SET }));
  await verifyDomainInSes(TEST_PLATFORM_DOMAIN);
  relay = await startSmtpRelay();
  secretsDir = await mkdtemp(join(tmpdir(), 'tenant-mail-sender-secrets-'));
  const secrets = new FileSecretStore({ folder: secretsDir });
  await secrets.put(`tenant-mail/dev/tenants/relay-${run}/smtp`, 'relay-pass');
  await secrets.put(`tenant-mail/dev/tenants/relaycap-${run}/smtp`, 'relay-pass');
  relaySender = new NodemailerRelaySender({ secrets, tls: { ca: relay.ca } });
});

afterAll(async () => {
  relaySender.close();
  await relay.close();
  await rm(secretsDir, { recursive: true, force: true });
  sesClient.destroy();
  await ses.stop();
  await dns.stop();
});

const handler = () => createSendEmailHandler(testSenderDeps({ ses: sesClient, relay: relaySender }));

describe('advanced method', () => {
  const tenantId = `adv-${run}`;
  const domain = `acme-${run}.example`;

  beforeAll(async () => {
    await tenants.put({
      tenantId,
      displayName: 'Acme Corp',
      profileEmail: `billing@${domain}`,
      environments: { 'developer-sandbox': { method: 'advanced' } },
    });
    await identities.addIdentity({ tenantId, identity: domain, status: 'SUCCESS' });
    await identities.addIdentity({ tenantId, identity: 'owner@gmail.example', status: 'PENDING' });
    await verifyDomainInSes(domain);
  });

  it('sends from a verified subdomain address, DKIM-signed by the tenant domain (mailauth passes) and aligned', async () => {
    const from = `noreply@en.${domain}`;
    const body = {
      tenantId,
      environment: 'developer-sandbox',
      from,
      to: ['ap@customer.example'],
      subject: 'Invoice',
      text: 'Hi',
      idempotencyKey: 'adv-1',
    };
    expect(await handler()(sqsEvent(body, `adv-1-${run}`), {} as never)).toEqual({ batchItemFailures: [] });

    const item = await record(messageIdFor(tenantId, 'adv-1'));
    expect(item).toMatchObject({
      status: 'SENT',
      method: 'advanced',
      fromAddress: from,
      dkim: { aligned: true, signingDomains: [domain, 'amazonses.com'] },
    });
    const raw = ses.store.messages.find((message) => message.messageId === item?.sesMessageId)?.raw ?? '';
    const resolver = new Resolver();
    resolver.setServers([dns.server]);
    const result = await authenticate(Buffer.from(raw), {
      resolver: (name: string, type: string) =>
        resolver.resolve(name, type) as Promise<string[] | string[][]>,
      ip: '127.0.0.1',
      helo: 'localhost',
      sender: from,
      mta: 'test.local',
    });
    const passing = result.dkim.results
      .filter((entry) => entry.status?.result === 'pass')
      .map((entry) => entry.signingDomain);
    expect(passing).toEqual(expect.arrayContaining([domain, 'amazonses.com']));
  });

  it.each([
    [`billing@${domain}.evil.test`, 'no-identity'],
    ['owner@gmail.example', 'not verified'],
  ])('rejects From %s with a readable reason and sends nothing', async (from, fragment) => {
    const key = `adv-bad-${from}`;
    const before = ses.store.messages.length;
    const body = {
      tenantId,
      environment: 'developer-sandbox',
      from,
      to: ['ap@customer.example'],
      subject: 'x',
      text: 'x',
      idempotencyKey: key,
    };
    await handler()(sqsEvent(body, `${key}-${run}`), {} as never);
    const item = await record(messageIdFor(tenantId, key));
    expect(item).toMatchObject({ status: 'REJECTED', reasonCode: 'UNVERIFIED_FROM' });
    expect(String(item?.reason)).toMatch(new RegExp(fragment.replace('no-identity', 'identity'), 'i'));
    expect(ses.store.messages.length).toBe(before);
  });
});

describe('suppression list', () => {
  const tenantId = `sup-${run}`;

  beforeAll(async () => {
    await tenants.put({
      tenantId,
      displayName: 'Suppressed Ltd',
      profileEmail: 'billing@suppressed.example',
      environments: { 'developer-sandbox': { method: 'default' } },
    });
    await suppressions.put({
      tenantId,
      address: 'gone@customer.example',
      reason: 'PERMANENT_BOUNCE',
      sourceMessageId: 'earlier',
      createdAt: new Date().toISOString(),
    });
  });

  it('does not send to a suppressed address and records SUPPRESSED', async () => {
    const body = {
      tenantId,
      environment: 'developer-sandbox',
      to: ['Gone@customer.example'],
      subject: 's',
      text: 't',
      idempotencyKey: 'sup-1',
    };
    await handler()(sqsEvent(body, `sup-1-${run}`), {} as never);
    expect(await record(messageIdFor(tenantId, 'sup-1'))).toMatchObject({
      status: 'SUPPRESSED',
      reasonCode: 'SUPPRESSED',
    });
    expect(ses.store.messages.some((m) => m.destination.includes('gone@customer.example'))).toBe(false);
  });

  it('sends to the other recipients and records which were suppressed', async () => {
    const other = `still-here-${run}@customer.example`;
    const body = {
      tenantId,
      environment: 'developer-sandbox',
      to: ['gone@customer.example', other],
      subject: 's',
      text: 't',
      idempotencyKey: 'sup-2',
    };
    await handler()(sqsEvent(body, `sup-2-${run}`), {} as never);
    expect(await record(messageIdFor(tenantId, 'sup-2'))).toMatchObject({
      status: 'SENT',
      suppressedRecipients: ['gone@customer.example'],
    });
    const sent = ses.store.messages.find((m) => m.destination.includes(other));
    expect(sent?.destination).toEqual([other]);
  });
});

describe('external-smtp method', () => {
  const tenantId = `relay-${run}`;
  const smtp = (limits: Record<string, number> = {}) => ({
    host: '127.0.0.1',
    port: relay.port,
    security: 'starttls',
    auth: { type: 'password', username: 'relay-user', secretRef: `tenant-mail/dev/tenants/${tenantId}/smtp` },
    from: `billing@relay-${run}.example`,
    provider: 'microsoft-365',
    limits,
  });

  it('sends through the tenant relay over STARTTLS with AUTH, From the relay address', async () => {
    await tenants.put({
      tenantId,
      displayName: 'Relay Inc',
      profileEmail: 'billing@relay.example',
      environments: { 'developer-sandbox': { method: 'external-smtp', smtp: smtp() } },
    });
    const before = relay.messages.length;
    const body = {
      tenantId,
      environment: 'developer-sandbox',
      to: ['a@customer.example'],
      subject: 'Receipt',
      text: 'Paid',
      idempotencyKey: 'relay-1',
    };
    expect(await handler()(sqsEvent(body, `relay-1-${run}`), {} as never)).toEqual({ batchItemFailures: [] });
    expect(await record(messageIdFor(tenantId, 'relay-1'))).toMatchObject({
      status: 'SENT',
      method: 'external-smtp',
    });
    const received = relay.messages.slice(before);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      envelopeFrom: `billing@relay-${run}.example`,
      recipients: ['a@customer.example'],
      secure: true,
    });
    expect(received[0]?.raw.toString()).toMatch(/^From: "?Relay Inc"? <billing@relay-/m);
  });

  it('records a 550 for one recipient as a bounce and suppression while the other recipient gets the mail', async () => {
    relay.rejectRecipient(`nobody-${run}@customer.example`);
    const body = {
      tenantId,
      environment: 'developer-sandbox',
      to: [`nobody-${run}@customer.example`, 'b@customer.example'],
      subject: 'Receipt',
      text: 'Paid',
      idempotencyKey: 'relay-550',
    };
    await handler()(sqsEvent(body, `relay-550-${run}`), {} as never);
    const item = await record(messageIdFor(tenantId, 'relay-550'));
    expect(item).toMatchObject({
      status: 'SENT',
      rejectedRecipients: [
        expect.objectContaining({ recipient: `nobody-${run}@customer.example`, code: 550 }),
      ],
    });
    const suppressed = await suppressions.isSuppressed(tenantId, [`nobody-${run}@customer.example`]);
    expect(suppressed.get(`nobody-${run}@customer.example`)).toMatchObject({ reason: 'RELAY_REJECTION' });
  });

  it('defers, never drops, when the relay limit is used up, and keeps the idempotency key', async () => {
    const capped = `relaycap-${run}`;
    await tenants.put({
      tenantId: capped,
      displayName: 'Capped Relay',
      profileEmail: 'billing@relay.example',
      environments: {
        'developer-sandbox': {
          method: 'external-smtp',
          smtp: {
            ...smtp({ messagesPerDay: 4 }),
            auth: {
              type: 'password',
              username: 'relay-user',
              secretRef: `tenant-mail/dev/tenants/${capped}/smtp`,
            },
          },
        },
      },
    });
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const body = {
        tenantId: capped,
        environment: 'developer-sandbox',
        to: ['c@customer.example'],
        subject: 'Bill',
        text: 'x',
        idempotencyKey: `cap-${i}`,
      };
      await handler()(sqsEvent(body, `cap-${i}-${run}`), {} as never);
      statuses.push((await record(messageIdFor(capped, `cap-${i}`)))?.status);
    }
    expect(statuses).toEqual(['SENT', 'SENT', 'DEFERRED']);
    expect(await record(messageIdFor(capped, 'cap-2'))).toMatchObject({
      reasonCode: 'RATE_LIMITED',
      eligibleAt: expect.any(String),
    });
  });
});
