import { statusEventDetailSchema } from 'tenant-mail/client';
import { startTwin, type Twin } from 'tenant-mail/local';
import { announceInvoice } from '../src/billing-events';

// tenant-mail's whole stack on local emulators: its real functions, queues, tables, SES and a tenant relay.
let twin: Twin;
beforeAll(async () => {
  twin = await startTwin({ scope: 'dev' });
});
afterAll(() => twin?.stop());

it('emails the bill-to contact when the billing service posts an invoice', async () => {
  const environment = 'developer-sandbox';
  await twin.admin.tenants.put({
    tenantId: 'acme',
    displayName: 'Acme Utilities',
    profileEmail: 'billing@acme.example',
    environments: { [environment]: { method: 'default' } },
  });
  await twin.admin.templates.put({
    tenantId: 'acme',
    templateId: 'invoice-posted',
    name: 'Invoice posted',
    subject: 'Invoice {{ item.invoiceNumber }}: {{ item.amount }} {{ item.currency }}',
    html: '<p>Dear {{ item.billTo.name }}, invoice {{ item.invoiceNumber }} is due on {{ item.dueDate }}.</p>',
  });
  await twin.admin.definitions.put({
    tenantId: 'acme',
    environment,
    definitionId: 'invoice-posted-email',
    name: 'Invoice posted',
    eventType: 'com.tenantmail.invoice.posted',
    templateId: 'invoice-posted',
    to: ['$.billTo'],
    category: 'transactional',
    active: true,
  });

  await announceInvoice(twin.client, 'acme', environment, {
    invoiceId: 'inv-1001',
    invoiceNumber: 'INV-1001',
    accountId: 'A-01001',
    accountNumber: 'A0001001',
    accountName: 'Globex Corporation',
    invoiceDate: '2025-03-01',
    dueDate: '2025-03-31',
    currency: 'EUR',
    amount: '1250.00',
    balance: '1250.00',
    billTo: { name: 'Globex Accounts Payable', email: 'success+globex-ap@simulator.amazonses.com' },
  });

  const [email] = await twin.mailbox.waitFor({ to: 'success+globex-ap@simulator.amazonses.com' });
  expect(email?.subject).toBe('Invoice INV-1001: 1250.00 EUR');
  expect(email?.from).toEqual(['notifications@mail-dev.example-platform.com']);
  expect(email?.raw).toContain('Globex Accounts Payable');

  // The platform hears back: a status event per change on the scope's bus (docs/events.md, "Events out").
  const heard = () =>
    twin
      .events()
      .map(({ event }) => statusEventDetailSchema.parse(event.detail))
      .filter((detail) => detail.recipients.includes('success+globex-ap@simulator.amazonses.com'));
  for (let tries = 0; tries < 120 && !heard().some((d) => d.status === 'DELIVERED'); tries += 1)
    await new Promise((resolve) => setTimeout(resolve, 500));
  const statuses = heard().map((detail) => detail.status);
  // SENT first, unless SES's Delivery event arrived before the sender recorded SENT (then DELIVERED alone).
  expect(['SENT,DELIVERED', 'DELIVERED']).toContain(statuses.join(','));
  expect(heard().at(-1)).toMatchObject({
    tenantId: 'acme',
    environment,
    definitionId: 'invoice-posted-email',
    messageId: expect.any(String),
  });
});
