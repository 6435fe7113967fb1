import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateConfigurationSetCommand,
  CreateEmailIdentityCommand,
  GetEmailIdentityCommand,
  SESv2Client,
} from '@aws-sdk/client-sesv2';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { type Browser, chromium, type Page } from 'playwright-core';
import { DynamoReputationStore } from '../../lambdas/adapters/reputation-store';
import { DynamoSuppressionStore } from '../../lambdas/adapters/suppression-store';
import { DynamoTenantStore } from '../../lambdas/adapters/tenant-store';
import { messageIdFor } from '../../lambdas/domain/sending/send-request';
import { createSendEmailHandler } from '../../lambdas/handlers/send-email';
import { type LocalDnsServer, startLocalDnsServer } from '../../local/dns/dns-server';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/emulators/local-aws';
import { type SesEmulator, startSesEmulator } from '../../local/ses';
import { type LocalViewer, startLocalViewer } from '../../local/viewer/local-viewer';
import { testAws, testStack } from '../support/env';
import { TEST_CONFIGURATION_SET, TEST_PLATFORM_DOMAIN, testSenderDeps } from '../support/sender-deps';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');

const run = Date.now().toString(36);
const tenantId = `viewer-${run}`;
const sentKey = `invoice-${run}`;
const sentId = messageIdFor(tenantId, sentKey);
const rejectedId = `viewer-rejected-${run}`;
const deferredId = `viewer-deferred-${run}`;
const hostileSubject = '<script>window.__viewerXss = 1</script>Statement ready';

const documents = DynamoDBDocumentClient.from(new DynamoDBClient(testAws.dynamodb), {
  marshallOptions: { removeUndefinedValues: true },
});

let dns: LocalDnsServer;
let ses: SesEmulator;
let sesClient: SESv2Client;
let viewer: LocalViewer;
let browser: Browser;
let page: Page;

/** One SQS record as the event source mapping delivers it (the shared send queue is left to other tests). */
const sqsEvent = (body: string): SQSEvent => ({
  Records: [
    {
      messageId: `sqs-${run}`,
      receiptHandle: 'r',
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '0',
        SenderId: 'test',
        ApproximateFirstReceiveTimestamp: '0',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:local:send',
      awsRegion: LOCAL_REGION,
    },
  ],
});

/**
 * Full-page screenshot with the viewport as tall as the page: headless Chromium does not paint an out-of-process
 * (sandboxed) iframe that lies outside the viewport, so a plain fullPage shot would show the email body blank.
 */
async function screenshot(name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const height = await page.locator('html').evaluate((root) => root.scrollHeight);
  await page.setViewportSize({ width: 1280, height: Math.max(height, 900) });
  await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
}

const seedRecord = (item: Record<string, unknown>) =>
  documents.send(new PutCommand({ TableName: testStack.table('messages'), Item: item }));

async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `the viewer browser test needs Debian's Chromium at ${CHROMIUM}: install it with \`apt-get install chromium\``,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

beforeAll(async () => {
  browser = await launchChromium();
  dns = await startLocalDnsServer();
  ses = await startSesEmulator({ dns, dkimKeyBits: 1024, verificationRecheckMs: 100 });
  sesClient = new SESv2Client({ endpoint: ses.url, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  await sesClient.send(new CreateConfigurationSetCommand({ ConfigurationSetName: TEST_CONFIGURATION_SET }));
  const identity = await sesClient.send(
    new CreateEmailIdentityCommand({ EmailIdentity: TEST_PLATFORM_DOMAIN }),
  );
  for (const token of identity.DkimAttributes?.Tokens ?? []) {
    dns.setRecords(`${token}._domainkey.${TEST_PLATFORM_DOMAIN}`, 'CNAME', [`${token}.dkim.amazonses.com`]);
  }
  await sesClient.send(new GetEmailIdentityCommand({ EmailIdentity: TEST_PLATFORM_DOMAIN }));

  await new DynamoTenantStore(documents, { tableName: testStack.table('tenants'), cacheTtlSeconds: 0 }).put({
    tenantId,
    displayName: 'Viewer & Co Billing',
    profileEmail: 'billing@viewer.example',
    environments: { 'developer-sandbox': { method: 'default' } },
  });
  const now = new Date();
  const earlier = new Date(now.getTime() - 60_000).toISOString();
  await seedRecord({
    messageId: rejectedId,
    tenantId,
    environment: 'developer-sandbox',
    status: 'REJECTED',
    subject: hostileSubject,
    recipients: ['someone@example.org'],
    reasonCode: 'UNVERIFIED_FROM',
    reason: 'no verified identity of this scope covers <ceo@evil.example>',
    createdAt: earlier,
    timeline: [{ status: 'REJECTED', at: earlier, detail: 'UNVERIFIED_FROM: from not authorised' }],
  });
  await seedRecord({
    messageId: deferredId,
    tenantId,
    environment: 'developer-sandbox',
    status: 'DEFERRED',
    subject: 'Payment processed',
    recipients: ['payer@example.org'],
    reasonCode: 'SES_THROTTLED',
    reason: 'SES max send rate reached',
    eligibleAt: now.toISOString(),
    createdAt: earlier,
    timeline: [
      { status: 'SENDING', at: earlier },
      { status: 'DEFERRED', at: earlier, detail: 'SES_THROTTLED: SES max send rate reached' },
    ],
  });
  await new DynamoSuppressionStore(documents, testStack.table('suppressions')).put({
    tenantId,
    address: 'bounced@example.org',
    reason: 'PERMANENT_BOUNCE',
    createdAt: now.toISOString(),
  });
  await new DynamoReputationStore(documents, testStack.table('counters')).record(tenantId, [
    { eventKey: `viewer-${run}`, at: now.toISOString(), sends: 4, bounces: 1, complaints: 0 },
  ]);

  const handler = createSendEmailHandler(testSenderDeps({ ses: sesClient }));
  const result = await handler(
    sqsEvent(
      JSON.stringify({
        tenantId,
        environment: 'developer-sandbox',
        to: ['success@simulator.amazonses.com'],
        subject: 'Invoice INV-7 posted',
        html: "<p>Your invoice <b>INV-7</b> is ready.</p><script>document.write('SCRIPT ' + 'RAN')</script>",
        text: 'Your invoice INV-7 is ready.',
        idempotencyKey: sentKey,
      }),
    ),
    {} as never,
  );
  // The record first: when the send failed, its reason is in the failure message.
  const sent = await documents.send(
    new GetCommand({ TableName: testStack.table('messages'), Key: { messageId: sentId } }),
  );
  expect(sent.Item).toMatchObject({ status: 'SENT' });
  expect(result).toEqual({ batchItemFailures: [] });

  viewer = await startLocalViewer({
    documents,
    tables: {
      messages: testStack.table('messages'),
      tenants: testStack.table('tenants'),
      counters: testStack.table('counters'),
      suppressions: testStack.table('suppressions'),
    },
    sesUrl: ses.url,
    dnsServer: dns.server,
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
});

afterAll(async () => {
  await browser?.close();
  await viewer?.stop();
  sesClient?.destroy();
  await ses?.stop();
  await dns?.stop();
});

describe('local viewer in Chromium', () => {
  it('lists a tenant’s emails with status, recipients, subject and method, and its counters', async () => {
    await page.goto(viewer.url);
    await page.fill('input[name="tenant"]', tenantId);
    await page.click('button[type="submit"]');
    await page.waitForURL(`**/?tenant=${tenantId}*`);

    const sent = page.locator(`table.messages tr[data-message-id="${sentId}"]`);
    await expect(sent.locator('td').nth(1).textContent()).resolves.toBe('SENT');
    await expect(sent.textContent()).resolves.toEqual(
      expect.stringContaining('success@simulator.amazonses.com (delivered)'),
    );
    await expect(sent.locator('td.subject').textContent()).resolves.toBe('Invoice INV-7 posted');
    await expect(sent.locator('td').nth(5).textContent()).resolves.toBe('default');
    await expect(page.locator('table.messages tbody tr').count()).resolves.toBe(3);

    const counters = page.locator(`table.counters tr[data-tenant="${tenantId}"]`);
    await expect(counters.textContent()).resolves.toContain('Viewer & Co Billing');
    await expect(counters.locator('td[data-status="SENT"]').textContent()).resolves.toBe('1');
    await expect(counters.locator('td[data-status="REJECTED"]').textContent()).resolves.toBe('1');
    await expect(counters.locator('td[data-status="DEFERRED"]').textContent()).resolves.toBe('1');
    await expect(counters.locator('td.suppressions').textContent()).resolves.toContain('PERMANENT_BOUNCE: 1');
    await expect(counters.locator('td.reputation-24h').textContent()).resolves.toBe('4 / 1 / 0');

    await screenshot('viewer-list.png');
  });

  it('filters by status, failed only and recipient, with the filters in the URL', async () => {
    const ids = async () =>
      page
        .locator('table.messages tbody tr[data-message-id]')
        .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-message-id')));
    await page.goto(`${viewer.url}/?tenant=${encodeURIComponent(tenantId)}&failed=1`);
    const failed = await ids();
    expect(failed).toHaveLength(1);
    await expect(page.locator('table.messages tbody tr td').nth(1).textContent()).resolves.toBe('REJECTED');
    await page.goto(`${viewer.url}/?tenant=${encodeURIComponent(tenantId)}&status=SENT`);
    expect(await ids()).toEqual([sentId]);
    // The form keeps the filters and adds the recipient one.
    await page.fill('input[name="recipient"]', 'SUCCESS@simulator');
    await page.click('button[type="submit"]');
    await page.waitForURL('**recipient=SUCCESS%40simulator*');
    expect(await ids()).toEqual([sentId]);
    await page.goto(`${viewer.url}/?tenant=${encodeURIComponent(tenantId)}&recipient=nobody.example`);
    expect(await ids()).toEqual([]);
    // Back to the tenant's whole list, where the next tests start.
    await page.goto(`${viewer.url}/?tenant=${encodeURIComponent(tenantId)}`);
  });

  it('renders a <script> in a subject as text and never runs it', async () => {
    const row = page.locator(`table.messages tr[data-message-id="${rejectedId}"]`);
    await expect(row.locator('td.subject').textContent()).resolves.toBe(hostileSubject);
    await expect(page.locator('script').count()).resolves.toBe(0);
    await expect(
      page.evaluate(() => (globalThis as { __viewerXss?: number }).__viewerXss),
    ).resolves.toBeUndefined();

    await row.locator('td.subject a').click();
    await expect(page.locator('h1.subject').textContent()).resolves.toBe(hostileSubject);
    await expect(page.locator('dd.reason').textContent()).resolves.toContain('<ceo@evil.example>');
    await expect(page.locator('script').count()).resolves.toBe(0);
  });

  it('opens a sent email: timeline SENDING → SENT, DKIM passes for amazonses.com, body sandboxed, raw source', async () => {
    await page.goto(`${viewer.url}/?tenant=${tenantId}`);
    await page.locator(`table.messages tr[data-message-id="${sentId}"] td.subject a`).click();
    await page.waitForURL(`**/messages/${sentId}`);

    const timeline = await page
      .locator('ol.timeline li')
      .evaluateAll((items) => items.map((item) => item.getAttribute('data-status')));
    expect(timeline).toEqual(['SENDING', 'SENT']);
    await expect(page.locator('dd.status').textContent()).resolves.toBe('SENT');

    await expect(
      page.locator('table.dkim tr[data-domain="amazonses.com"] td.result').textContent(),
    ).resolves.toBe('pass');
    await expect(
      page.locator(`table.dkim tr[data-domain="${TEST_PLATFORM_DOMAIN}"] td.result`).textContent(),
    ).resolves.toBe('pass');

    const body = page.frameLocator('iframe.email-body').locator('body');
    await expect(body.getByText('Your invoice INV-7 is ready.').isVisible()).resolves.toBe(true);
    await expect(body.textContent()).resolves.toContain('Your invoice INV-7 is ready.');
    await expect(body.textContent()).resolves.not.toContain('SCRIPT RAN');
    await expect(page.locator('iframe.email-body').getAttribute('sandbox')).resolves.toBe('');

    const source = await page.locator('pre.raw').textContent();
    expect(source).toMatch(/^DKIM-Signature: .*d=amazonses\.com/m);
    expect(source).toContain('Subject: Invoice INV-7 posted');

    await screenshot('viewer.png');
  });

  it('serves the same list as JSON at /api/messages', async () => {
    const response = await fetch(`${viewer.url}/api/messages?tenant=${encodeURIComponent(tenantId)}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { messages: { id: string; status: string }[]; total: number };
    expect(body.total).toBe(3);
    expect(body.messages.map((message) => [message.id, message.status])).toEqual(
      expect.arrayContaining([
        [sentId, 'SENT'],
        [rejectedId, 'REJECTED'],
        [deferredId, 'DEFERRED'],
      ]),
    );
  });

  it('answers an unknown message id with a 404 page', async () => {
    const response = await page.goto(`${viewer.url}/messages/${encodeURIComponent('<nope>')}`);
    expect(response?.status()).toBe(404);
    await expect(page.locator('main p').first().textContent()).resolves.toContain('<nope>');
  });
});
