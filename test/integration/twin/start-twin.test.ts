import { existsSync } from 'node:fs';
import { invoicePosted } from '../../../client';
import { startTwin, type Twin } from '../../../local';
import { alive, descendants, endpointPorts, refuses } from '../../support/processes';

const ENVIRONMENT = 'developer-sandbox';
const SOURCE = 'https://billing.platform.example';
let twin: Twin | undefined;
/** Processes this test process had before the twin (the suite's own emulators when Jest runs in band). */
const before = descendants(process.pid);

afterAll(async () => {
  await twin?.stop();
});

/** A tenant with the invoice template and definition of docs/events.md's "Invoice posted" example. */
async function seedInvoiceNotifications(admin: Twin['admin'], tenantId: string): Promise<void> {
  await admin.templates.put({
    tenantId,
    templateId: 'invoice-posted',
    name: 'Invoice posted',
    subject: 'Invoice {{ item.invoiceNumber }}: {{ item.amount }} {{ item.currency }}',
    html: '<p>Dear {{ item.billTo.name }}, invoice <b>{{ item.invoiceNumber }}</b> is due on {{ item.dueDate }}.</p>',
  });
  await admin.definitions.put({
    tenantId,
    environment: ENVIRONMENT,
    definitionId: 'invoice-posted-email',
    name: 'Invoice posted',
    eventType: 'com.tenantmail.invoice.posted',
    templateId: 'invoice-posted',
    to: ['$.billTo'],
    category: 'transactional',
    active: true,
  });
}

const invoice = (number: string, email: string) => ({
  invoiceId: `inv-${number}`,
  invoiceNumber: number,
  accountId: 'A-01001',
  accountNumber: 'A0001001',
  accountName: 'Globex Corporation',
  invoiceDate: '2025-03-01',
  dueDate: '2025-03-31',
  currency: 'EUR',
  amount: '1250.00',
  balance: '1250.00',
  billTo: { name: 'Globex Accounts Payable', email },
});

describe('startTwin (tenant-mail/local)', () => {
  it('runs the stack in this process: an invoice event becomes an email through SES and through the tenant relay, and stop() leaves nothing behind', async () => {
    twin = await startTwin();
    const { admin, client, mailbox, relay } = twin;
    expect(twin.scope).toBe('dev');
    expect(twin.functions).toContain('send-email.handler.ts');

    await admin.tenants.put({
      tenantId: 'acme',
      displayName: 'Acme Utilities',
      profileEmail: 'billing@acme.example',
      environments: { [ENVIRONMENT]: { method: 'default' } },
    });
    await admin.tenants.put({
      tenantId: 'contoso',
      displayName: 'Contoso Energy',
      profileEmail: 'billing@contoso.example',
      environments: { [ENVIRONMENT]: { method: 'default' } },
    });
    // The relay's certificate is self-signed: the deployed sender bundle must trust it without a restart.
    await admin.smtp.put(
      'contoso',
      ENVIRONMENT,
      {
        host: relay.host,
        port: relay.port,
        security: 'starttls',
        auth: { type: 'password', username: relay.user },
        from: 'billing@contoso.example',
      },
      relay.password,
    );
    for (const tenantId of ['acme', 'contoso']) await seedInvoiceNotifications(admin, tenantId);

    const results = await client.publish([
      invoicePosted(
        { tenantId: 'acme', environment: ENVIRONMENT, source: SOURCE },
        invoice('INV-1001', 'success+globex@simulator.amazonses.com'),
      ),
      invoicePosted(
        { tenantId: 'contoso', environment: ENVIRONMENT, source: SOURCE },
        invoice('INV-2002', 'ap@globex.example'),
      ),
    ]);
    expect(results.map((result) => result.status)).toEqual(['accepted', 'accepted']);

    const [viaSes] = await mailbox.waitFor({ to: 'success+globex@simulator.amazonses.com' });
    expect(viaSes).toMatchObject({
      via: 'ses',
      scope: 'dev',
      subject: 'Invoice INV-1001: 1250.00 EUR',
      from: ['notifications@mail-dev.example-platform.com'],
      to: ['success+globex@simulator.amazonses.com'],
    });
    expect(viaSes?.raw).toContain('INV-1001');
    const [viaRelay] = await mailbox.waitFor({ to: 'ap@globex.example' });
    expect(viaRelay).toMatchObject({
      via: 'relay',
      subject: 'Invoice INV-2002: 1250.00 EUR',
      from: ['billing@contoso.example'],
    });
    expect(twin.emulators.relay.messages.map((message) => message.secure)).toEqual([true]);
    expect(await mailbox.list({ subject: /^Invoice / })).toHaveLength(2);
    await mailbox.clear();
    expect(await mailbox.list()).toEqual([]);

    const processes = descendants(process.pid).filter((pid) => !before.includes(pid));
    expect(processes.length).toBeGreaterThanOrEqual(2); // DynamoDB Local's JVM and the twin's watchdog
    const { dataDir, endpointsFile } = twin;
    await twin.stop();
    twin = undefined;
    // A killed child lingers until it is reaped: wait for that (a deadline, not a timing assertion).
    for (let waited = 0; processes.some(alive) && waited < 10_000; waited += 50)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(processes.filter(alive)).toEqual([]);
    expect(existsSync(dataDir)).toBe(false);
    for (const port of endpointPorts(endpointsFile))
      expect({ port, refused: await refuses(port) }).toEqual({ port, refused: true });
  }, 420_000);
});
