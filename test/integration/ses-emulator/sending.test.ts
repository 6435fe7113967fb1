import {
  BadRequestException,
  CreateConfigurationSetCommand,
  GetAccountCommand,
  MessageRejected,
  NotFoundException,
  PutAccountSendingAttributesCommand,
  PutConfigurationSetSendingOptionsCommand,
  SendEmailCommand,
  SendingPausedException,
} from '@aws-sdk/client-sesv2';
import {
  rawContent,
  rawMessage,
  type SesHarness,
  startSesHarness,
  storedMessages,
  verifiedDomain,
  verifiedEmail,
} from './ses-emulator-harness';

const simple = (text: string) => ({
  Simple: { Subject: { Data: 'Invoice posted' }, Body: { Text: { Data: text } } },
});

describe('SES emulator SendEmail', () => {
  let harness: SesHarness;

  beforeAll(async () => {
    harness = await startSesHarness({ maxSendRate: 10_000, max24HourSend: 1_000_000 });
    await verifiedDomain(harness, 'tenant.example');
    await verifiedEmail(harness, 'billing@single.example');
  });

  afterAll(async () => {
    await harness.stop();
  });

  it('sends Simple content from an address under a verified domain and returns a MessageId', async () => {
    const sent = await harness.ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'Acme Billing <noreply@tenant.example>',
        Destination: { ToAddresses: ['customer@example.org'], BccAddresses: ['audit@example.org'] },
        ReplyToAddresses: ['help@tenant.example'],
        Content: simple('Your invoice is ready.'),
      }),
    );
    expect(sent.MessageId).toMatch(/^[0-9a-f]{16}-[0-9a-f-]{36}-000000$/);
    const stored = (await storedMessages(harness)).find((message) => message.messageId === sent.MessageId);
    expect(stored?.destination).toEqual(['customer@example.org', 'audit@example.org']);
    expect(stored?.raw).toContain('Subject: Invoice posted');
    expect(stored?.raw).toContain('Reply-To: help@tenant.example');
    expect(stored?.raw).toMatch(new RegExp(`Message-ID:\\s+<${sent.MessageId}@email\\.amazonses\\.com>`));
    expect(stored?.raw).not.toMatch(/^Bcc:/m);
  });

  it('authorises a subdomain address through its parent domain identity', async () => {
    const sent = await harness.ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'noreply@en.tenant.example',
        Destination: { ToAddresses: ['customer@example.org'] },
        Content: simple('Hello'),
      }),
    );
    expect(sent.MessageId).toBeDefined();
  });

  it('authorises exactly the verified address of an email identity and nothing else in its domain', async () => {
    const ok = await harness.ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'billing@single.example',
        Destination: { ToAddresses: ['customer@example.org'] },
        Content: simple('Hello'),
      }),
    );
    expect(ok.MessageId).toBeDefined();
    await expect(
      harness.ses.send(
        new SendEmailCommand({
          FromEmailAddress: 'other@single.example',
          Destination: { ToAddresses: ['customer@example.org'] },
          Content: simple('Hello'),
        }),
      ),
    ).rejects.toMatchObject({
      name: 'MessageRejected',
      message:
        'Email address is not verified. The following identities failed the check in region US-EAST-1: other@single.example',
    });
  });

  it('keeps a raw message exactly as sent, custom headers included, behind the DKIM signatures', async () => {
    const raw = rawMessage({
      From: 'Acme <invoices@tenant.example>',
      To: 'customer@example.org',
      Subject: 'Raw invoice',
      'Message-ID': '<invoice-42@tenant.example>',
      Date: 'Mon, 05 Jan 2026 10:00:00 +0000',
      'X-Tenant-Event': 'invoice.posted',
    });
    const sent = await harness.ses.send(new SendEmailCommand({ Content: rawContent(raw) }));
    const stored = (await storedMessages(harness)).find((message) => message.messageId === sent.MessageId);
    expect(stored?.destination).toEqual(['customer@example.org']);
    expect(stored?.raw.endsWith(raw)).toBe(true);
    expect(stored?.raw.slice(0, -raw.length)).toMatch(/^DKIM-Signature: [\s\S]*DKIM-Signature: [\s\S]*\r\n$/);
  });

  it('rejects a raw message whose Sender or Return-Path is not covered by a verified identity', async () => {
    for (const header of ['Sender', 'Return-Path']) {
      const raw = rawMessage({
        From: 'invoices@tenant.example',
        [header]: 'bounces@elsewhere.example',
        To: 'customer@example.org',
        Subject: 'x',
      });
      await expect(
        harness.ses.send(new SendEmailCommand({ Content: rawContent(raw) })),
      ).rejects.toMatchObject({
        name: 'MessageRejected',
        message: expect.stringContaining('bounces@elsewhere.example'),
      });
    }
  });

  it('rejects an unverified From with MessageRejected', async () => {
    await expect(
      harness.ses.send(
        new SendEmailCommand({
          FromEmailAddress: 'noreply@unverified.example',
          Destination: { ToAddresses: ['customer@example.org'] },
          Content: simple('Hello'),
        }),
      ),
    ).rejects.toBeInstanceOf(MessageRejected);
  });

  it('refuses more than 50 recipients', async () => {
    const to = Array.from({ length: 51 }, (_, i) => `r${i}@example.org`);
    await expect(
      harness.ses.send(
        new SendEmailCommand({
          FromEmailAddress: 'noreply@tenant.example',
          Destination: { ToAddresses: to },
          Content: simple('Hello'),
        }),
      ),
    ).rejects.toMatchObject({ name: 'BadRequestException', message: 'Recipient count exceeds 50.' });
  });

  it('refuses a raw message over 40 MB with MessageRejected', async () => {
    const raw = rawMessage(
      { From: 'noreply@tenant.example', To: 'customer@example.org', Subject: 'big' },
      'x'.repeat(31 * 1024 * 1024),
    );
    await expect(harness.ses.send(new SendEmailCommand({ Content: rawContent(raw) }))).rejects.toMatchObject({
      name: 'MessageRejected',
      message: 'Message length is more than 40 MB.',
    });
  });

  it('answers NotFoundException for an unknown configuration set', async () => {
    await expect(
      harness.ses.send(
        new SendEmailCommand({
          FromEmailAddress: 'noreply@tenant.example',
          Destination: { ToAddresses: ['customer@example.org'] },
          ConfigurationSetName: 'missing-set',
          Content: simple('Hello'),
        }),
      ),
    ).rejects.toBeInstanceOf(NotFoundException);
  });

  it('refuses Template content as unsupported with BadRequestException', async () => {
    await expect(
      harness.ses.send(
        new SendEmailCommand({
          FromEmailAddress: 'noreply@tenant.example',
          Destination: { ToAddresses: ['customer@example.org'] },
          Content: { Template: { TemplateName: 'welcome', TemplateData: '{}' } },
        }),
      ),
    ).rejects.toBeInstanceOf(BadRequestException);
  });

  it('answers SendingPausedException while the configuration set or the account is paused', async () => {
    const send = (ConfigurationSetName?: string) =>
      harness.ses.send(
        new SendEmailCommand({
          FromEmailAddress: 'noreply@tenant.example',
          Destination: { ToAddresses: ['customer@example.org'] },
          ...(ConfigurationSetName ? { ConfigurationSetName } : {}),
          Content: simple('Hello'),
        }),
      );
    await harness.ses.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'paused-set' }));
    await harness.ses.send(
      new PutConfigurationSetSendingOptionsCommand({
        ConfigurationSetName: 'paused-set',
        SendingEnabled: false,
      }),
    );
    await expect(send('paused-set')).rejects.toMatchObject({
      name: 'SendingPausedException',
      message: 'Sending is paused for this configuration set.',
    });

    await harness.ses.send(new PutAccountSendingAttributesCommand({ SendingEnabled: false }));
    try {
      await expect(send()).rejects.toBeInstanceOf(SendingPausedException);
      const account = await harness.ses.send(new GetAccountCommand({}));
      expect(account.SendingEnabled).toBe(false);
    } finally {
      await harness.ses.send(new PutAccountSendingAttributesCommand({ SendingEnabled: true }));
    }
  });

  it('reports the quota, the rate, production access and what was sent in the last 24 hours', async () => {
    const account = await harness.ses.send(new GetAccountCommand({}));
    expect(account).toMatchObject({
      ProductionAccessEnabled: true,
      SendingEnabled: true,
      SendQuota: { Max24HourSend: 1_000_000, MaxSendRate: 10_000 },
    });
    expect(account.SendQuota?.SentLast24Hours).toBe(
      harness.emulator.store.sentInLast24Hours(harness.emulator.clock.now()),
    );
    expect(account.SendQuota?.SentLast24Hours).toBeGreaterThan(0);
  });
});

describe('SES emulator SendEmail in the sandbox', () => {
  let harness: SesHarness;

  beforeAll(async () => {
    harness = await startSesHarness({ sandbox: true, maxSendRate: 10_000 });
    await verifiedDomain(harness, 'tenant.example');
    await verifiedEmail(harness, 'tester@inbox.example');
  });

  afterAll(async () => {
    await harness.stop();
  });

  const sendTo = (to: string) =>
    harness.ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'noreply@tenant.example',
        Destination: { ToAddresses: [to] },
        Content: simple('Hello'),
      }),
    );

  it('delivers to verified identities and mailbox simulator addresses', async () => {
    await expect(sendTo('tester@inbox.example')).resolves.toHaveProperty('MessageId');
    await expect(sendTo('success+label@simulator.amazonses.com')).resolves.toHaveProperty('MessageId');
    await expect(sendTo('someone@tenant.example')).resolves.toHaveProperty('MessageId');
  });

  it('rejects any other recipient with SES wording', async () => {
    await expect(sendTo('stranger@example.org')).rejects.toMatchObject({
      name: 'MessageRejected',
      message:
        'Email address is not verified. The following identities failed the check in region US-EAST-1: stranger@example.org',
    });
  });

  it('reports no production access and the sandbox quota', async () => {
    const account = await harness.ses.send(new GetAccountCommand({}));
    expect(account.ProductionAccessEnabled).toBe(false);
    expect(account.SendQuota?.Max24HourSend).toBe(200);
  });
});
