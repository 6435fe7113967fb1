import { type InvoiceData, invoicePosted, type Publisher } from 'tenant-mail/client';

/** What the billing service does when an invoice is posted: one event, tenant-mail takes it from there. */
export async function announceInvoice(
  publisher: Publisher,
  tenantId: string,
  environment: string,
  invoice: InvoiceData,
) {
  const [result] = await publisher.publish([
    invoicePosted({ tenantId, environment, source: 'https://billing.platform.example' }, invoice),
  ]);
  if (result?.status !== 'accepted')
    throw new Error(`invoice ${invoice.invoiceNumber} not published: ${result?.reason}`);
  return result;
}
