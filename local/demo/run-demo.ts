import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetEmailIdentityCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { main as cli } from '../../cli/main';
import { type MessageStatus, PENDING_STATUSES } from '../../lambdas/domain/message';
import type { Scope } from '../../lambdas/domain/scope';
import { tenantSmtpSecretName } from '../../lambdas/domain/smtp/smtp-settings';
import type { LocalDnsServer } from '../dns/dns-server';
import type { SecretsManagerEmulator } from '../secrets/secrets-manager-emulator';
import type { SmtpRelay } from '../smtp/smtp-relay';

export interface DemoContext {
  readonly scope: Scope;
  readonly dataDir: string;
  readonly dns: LocalDnsServer;
  readonly ses: SESv2Client;
  readonly documents: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  /** The scope's queue URLs by queue name; the summary waits until those that feed functions are empty. */
  readonly queues: Readonly<Record<string, string>>;
  readonly relay: SmtpRelay;
  readonly relayUser: string;
  readonly relayPassword: string;
  readonly secrets: SecretsManagerEmulator;
  readonly tables: { readonly messages: string; readonly suppressions: string };
}

const ADVANCED = 'northwind';
const RELAY = 'contoso';
const DOMAIN = 'northwind.example';

/**
 * `npm start -- --demo`: two tenants set up through the operator CLI as a platform team would — one on
 * `advanced` with a domain identity whose DKIM records the local DNS serves, one on `external-smtp` behind a
 * Microsoft 365-style limit on the local relay — then a bill run and transactional events with mailbox-simulator
 * recipients, and a live summary of what happened.
 */
export async function runDemo(ctx: DemoContext): Promise<void> {
  const environment = ctx.scope === 'prod' ? 'production' : 'developer-sandbox';
  const dir = join(ctx.dataDir, 'demo');
  mkdirSync(dir, { recursive: true });
  const file = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, `${JSON.stringify(content, null, 2)}\n`);
    return path;
  };
  const run = async (...args: string[]) => {
    const code = await cli([...args, '--local', '--scope', ctx.scope]);
    if (code !== 0 && code !== 1)
      throw new Error(`demo step failed (exit ${code}): tenant-mail ${args.join(' ')}`);
  };
  const step = (text: string) => process.stdout.write(`\n▶ ${text}\n`);

  step(`tenant ${ADVANCED}: advanced method, domain identity ${DOMAIN}`);
  await run(
    'tenant',
    'put',
    '--file',
    file(`${ADVANCED}.tenant.json`, {
      tenantId: ADVANCED,
      displayName: 'Northwind Traders',
      profileEmail: `billing@${DOMAIN}`,
      environments: { [environment]: { method: 'advanced', fromAddress: `billing@${DOMAIN}` } },
    }),
  );
  await run('identity', 'add-domain', '--tenant', ADVANCED, '--domain', DOMAIN);
  // The tenant adds the three CNAMEs to its DNS; here the local DNS server is that DNS.
  const identity = await ctx.ses.send(new GetEmailIdentityCommand({ EmailIdentity: DOMAIN }));
  for (const token of identity.DkimAttributes?.Tokens ?? []) {
    ctx.dns.setRecords(`${token}._domainkey.${DOMAIN}`, 'CNAME', [`${token}.dkim.amazonses.com`]);
  }
  ctx.dns.setRecords(DOMAIN, 'TXT', ['v=spf1 mx include:amazonses.com ~all']);
  ctx.dns.setRecords(`_dmarc.${DOMAIN}`, 'TXT', [
    'v=DMARC1; p=quarantine; rua=mailto:dmarc@northwind.example',
  ]);
  await run('identity', 'status', '--tenant', ADVANCED, '--refresh');
  await run('identity', 'doctor', '--tenant', ADVANCED, '--domain', DOMAIN, '--dns-server', ctx.dns.server);

  step(`tenant ${RELAY}: external-smtp through the local relay, Microsoft 365 limits (30 messages a minute)`);
  await ctx.secrets.store.put(tenantSmtpSecretName(ctx.scope, RELAY), ctx.relayPassword);
  await run(
    'tenant',
    'put',
    '--file',
    file(`${RELAY}.tenant.json`, {
      tenantId: RELAY,
      displayName: 'Contoso Energy',
      profileEmail: 'billing@contoso.example',
      environments: {
        [environment]: {
          method: 'external-smtp',
          smtp: {
            host: '127.0.0.1',
            port: ctx.relay.port,
            security: 'starttls',
            auth: {
              type: 'password',
              username: ctx.relayUser,
              secretRef: tenantSmtpSecretName(ctx.scope, RELAY),
            },
            from: 'billing@contoso.example',
            provider: 'microsoft-365',
          },
        },
      },
    }),
  );
  await run('smtp', 'test', '--tenant', RELAY, '--env', environment);

  step(
    'templates and definitions: invoice (bulk, per invoice of a bill run) and payment receipt (transactional)',
  );
  for (const tenantId of [ADVANCED, RELAY]) {
    await run(
      'template',
      'put',
      '--file',
      file(`${tenantId}.invoice.template.json`, {
        tenantId,
        templateId: 'invoice-posted',
        name: 'Invoice posted',
        subject:
          'Invoice {{ item.invoiceNumber }}: {{ item.amount }} {{ item.currency }} due {{ item.dueDate }}',
        html: '<p>Dear {{ item.billTo.name }},</p><p>invoice <b>{{ item.invoiceNumber }}</b> of {{ item.amount }} {{ item.currency }} is due on {{ item.dueDate }}.</p>',
      }),
    );
    await run(
      'template',
      'put',
      '--file',
      file(`${tenantId}.receipt.template.json`, {
        tenantId,
        templateId: 'payment-receipt',
        name: 'Payment receipt',
        subject: 'Payment {{ item.paymentNumber }} received: {{ item.amount }} {{ item.currency }}',
        html: '<p>We received your payment of {{ item.amount }} {{ item.currency }}. Thank you.</p>',
      }),
    );
    await run(
      'definition',
      'put',
      '--file',
      file(`${tenantId}.bill-run.definition.json`, {
        tenantId,
        environment,
        definitionId: 'bill-run-invoices',
        name: 'Invoices of a bill run',
        eventType: 'com.tenantmail.bill-run.completed',
        forEach: { items: '$.invoices', key: '$.invoiceId' },
        templateId: 'invoice-posted',
        to: ['$.billTo'],
        category: 'bulk',
        active: true,
      }),
    );
    await run(
      'definition',
      'put',
      '--file',
      file(`${tenantId}.receipt.definition.json`, {
        tenantId,
        environment,
        definitionId: 'payment-receipt',
        name: 'Payment receipt',
        eventType: 'com.tenantmail.payment.processed',
        templateId: 'payment-receipt',
        to: ['$.billTo.email'],
        category: 'transactional',
        active: true,
      }),
    );
  }

  step(
    'publishing: a 40-invoice bill run per tenant, then payment receipts to every mailbox-simulator address',
  );
  const stamp = Date.now().toString(36);
  const billRun = (tenantId: string) => ({
    specversion: '1.0',
    id: `demo-bill-run-${tenantId}-${stamp}`,
    source: `https://billing.platform.example/tenants/${tenantId}`,
    type: 'com.tenantmail.bill-run.completed',
    time: new Date().toISOString(),
    tenantid: tenantId,
    environment,
    data: {
      billRunId: `BR-${stamp}`,
      billRunNumber: `BR-${stamp}`,
      targetDate: new Date().toISOString().slice(0, 10),
      invoices: Array.from({ length: 40 }, (_, i) => ({
        invoiceId: `inv-${stamp}-${i}`,
        invoiceNumber: `INV-${String(i + 1).padStart(5, '0')}`,
        accountId: `A-${i}`,
        accountNumber: `A${String(i).padStart(7, '0')}`,
        accountName: `Customer ${i + 1}`,
        invoiceDate: new Date().toISOString().slice(0, 10),
        dueDate: new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10),
        currency: 'EUR',
        amount: `${(49 + i).toFixed(2)}`,
        balance: `${(49 + i).toFixed(2)}`,
        billTo: { name: `Customer ${i + 1} AP`, email: `success+${tenantId}-${i}@simulator.amazonses.com` },
      })),
    },
  });
  const payment = (tenantId: string, mailbox: string, n: number) => ({
    specversion: '1.0',
    id: `demo-payment-${tenantId}-${mailbox}-${stamp}`,
    source: `https://billing.platform.example/tenants/${tenantId}`,
    type: 'com.tenantmail.payment.processed',
    time: new Date().toISOString(),
    tenantid: tenantId,
    environment,
    data: {
      paymentId: `pay-${stamp}-${n}`,
      paymentNumber: `P-${String(n).padStart(6, '0')}`,
      accountId: 'A-1',
      accountNumber: 'A0000001',
      accountName: 'Demo customer',
      effectiveDate: new Date().toISOString().slice(0, 10),
      currency: 'EUR',
      amount: '120.00',
      billTo: { name: 'Demo customer', email: `${mailbox}@simulator.amazonses.com` },
    },
  });
  for (const tenantId of [RELAY, ADVANCED])
    await run('event', 'publish', file(`${tenantId}.bill-run.event.json`, billRun(tenantId)));
  const mailboxes = ['success', 'bounce', 'complaint', 'ooto', 'suppressionlist'];
  for (const [n, mailbox] of mailboxes.entries()) {
    await run(
      'event',
      'publish',
      file(`${ADVANCED}.payment-${mailbox}.event.json`, payment(ADVANCED, mailbox, n)),
    );
  }
  await run('event', 'publish', file(`${RELAY}.payment.event.json`, payment(RELAY, 'success', 99)));

  step('live summary (Ctrl-C stops everything; the viewer has the details)');
  await liveSummary(ctx, [ADVANCED, RELAY]);
}

async function scanAll(documents: DynamoDBDocumentClient, table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(new ScanCommand({ TableName: table, ExclusiveStartKey }));
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

/**
 * Whether an email can still change: pending (QUEUED, SENDING, DEFERRED), or SENT through SES and still
 * waiting for SES's feedback (Delivery, Bounce or Complaint arrive later, through SNS). A relay's SENT is final:
 * a tenant's SMTP server sends no feedback.
 */
export function inFlight(message: { readonly status?: unknown; readonly method?: unknown }): boolean {
  if (PENDING_STATUSES.includes(message.status as MessageStatus)) return true;
  return message.status === 'SENT' && message.method !== 'external-smtp';
}

/** Messages visible, in flight or delayed in the scope's queues that functions read (dead-letter queues aside). */
async function queuedMessages(ctx: DemoContext): Promise<number> {
  let total = 0;
  for (const [name, url] of Object.entries(ctx.queues)) {
    if (name.endsWith('-dlq')) continue;
    const { Attributes = {} } = await ctx.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    total += Object.values(Attributes).reduce((sum, value) => sum + Number(value ?? 0), 0);
  }
  return total;
}

/**
 * Prints, every few seconds, emails per status and tenant until nothing is in flight (no email pending or
 * awaiting SES feedback, every queue feeding a function empty) on two looks in a row, or 15 minutes have
 * passed; then the final counts.
 */
async function liveSummary(ctx: DemoContext, tenants: readonly string[]): Promise<void> {
  let previous = '';
  let settledLooks = 0;
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    const messages = (await scanAll(ctx.documents, ctx.tables.messages)).filter((m) =>
      tenants.includes(String(m.tenantId)),
    );
    const suppressions = (await scanAll(ctx.documents, ctx.tables.suppressions)).filter((s) =>
      tenants.some((tenant) => s.pk === `TENANT#${tenant}`),
    );
    const lines = tenants.map((tenant) => {
      const counts = new Map<string, number>();
      for (const message of messages.filter((m) => m.tenantId === tenant)) {
        counts.set(String(message.status), (counts.get(String(message.status)) ?? 0) + 1);
      }
      const deferrals = messages.filter(
        (m) =>
          m.tenantId === tenant &&
          Array.isArray(m.timeline) &&
          m.timeline.some((e: { status?: string }) => e.status === 'DEFERRED'),
      ).length;
      const statuses = [...counts.entries()]
        .sort()
        .map(([status, n]) => `${status} ${n}`)
        .join(', ');
      return `  ${tenant.padEnd(10)} ${statuses || '(nothing yet)'} | rate-limit deferrals ${deferrals} | suppressed addresses ${
        suppressions.filter((s) => s.pk === `TENANT#${tenant}`).length
      }`;
    });
    const moving = messages.filter(inFlight).length;
    const queued = await queuedMessages(ctx);
    const text = lines.join('\n');
    if (text !== previous) {
      process.stdout.write(
        `${new Date().toISOString().slice(11, 19)} (in flight: ${moving} emails, ${queued} queue messages)\n${text}\n`,
      );
      previous = text;
    }
    settledLooks = moving === 0 && queued === 0 ? settledLooks + 1 : 0;
    if (settledLooks >= 2) {
      process.stdout.write(
        `final:\n${text}\ndone: every email is in its final state (the viewer has each timeline)\n`,
      );
      return;
    }
    if (Date.now() > deadline) {
      process.stdout.write(
        `(still in flight after 15 minutes: ${moving} emails, ${queued} queue messages; see the viewer)\n`,
      );
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
}
