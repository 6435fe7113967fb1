import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateConfigurationSetCommand,
  CreateTenantCommand,
  DeleteSuppressedDestinationCommand,
  GetAccountCommand,
  GetConfigurationSetCommand,
  GetEmailIdentityCommand,
  GetTenantCommand,
  ListSuppressedDestinationsCommand,
  PutSuppressedDestinationCommand,
  SendEmailCommand,
} from '@aws-sdk/client-sesv2';
import {
  configurationSetToSns,
  createFeedbackQueue,
  rawContent,
  rawMessage,
  type SesHarness,
  startSesHarness,
  storedMessages,
  verifiedDomain,
} from './ses-emulator-harness';

const freshDir = () => mkdtempSync(join(tmpdir(), 'ses-emulator-'));

/** A fresh DNS server still serves the tenant's CNAMEs, as the internet would after a restart. */
function republish(harness: SesHarness, domain: string, tokens: string[]): void {
  for (const token of tokens) {
    harness.dns.setRecords(`${token}._domainkey.${domain}`, 'CNAME', [`${token}.dkim.amazonses.com`]);
  }
}

async function sendOne(harness: SesHarness, from: string, body = 'Invoice 42 is ready.'): Promise<string> {
  const sent = await harness.ses.send(
    new SendEmailCommand({
      Destination: { ToAddresses: ['success@simulator.amazonses.com'] },
      Content: rawContent(
        rawMessage({ From: from, To: 'success@simulator.amazonses.com', Subject: 'Invoice' }, body),
      ),
    }),
  );
  return sent.MessageId ?? '';
}

async function sendWithEvents(harness: SesHarness, from: string, set: string): Promise<string> {
  const sent = await harness.ses.send(
    new SendEmailCommand({
      Destination: { ToAddresses: ['success@simulator.amazonses.com'] },
      Content: rawContent(
        rawMessage({ From: from, To: 'success@simulator.amazonses.com', Subject: 'Receipt' }),
      ),
      ConfigurationSetName: set,
    }),
  );
  return sent.MessageId ?? '';
}

const recordsOf = (records: Record<string, unknown>[]) =>
  records.map((record) => `${record.eventType} ${(record.mail as { messageId: string }).messageId}`).sort();

/** Bytes this process handed to `write` so far (Linux `/proc/self/io`): files, sockets, everything. */
const bytesWritten = (): number => Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1]);

describe('SES emulator persistence', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const dir = freshDir();
    dirs.push(dir);
    return dir;
  };

  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps identities, configuration sets, tenants, suppressions, messages and quota use across a restart', async () => {
    const dir = dataDir();
    const first = await startSesHarness({ dataDir: dir });
    let tokens: string[] = [];
    let before: Awaited<ReturnType<typeof storedMessages>> = [];
    try {
      tokens = await verifiedDomain(first, 'kept.example');
      await first.ses.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'kept-set' }));
      await first.ses.send(new CreateTenantCommand({ TenantName: 'kept-tenant' }));
      for (const address of ['gone@example.org', 'stays@example.org']) {
        await first.ses.send(
          new PutSuppressedDestinationCommand({ EmailAddress: address, Reason: 'BOUNCE' }),
        );
      }
      await first.ses.send(new DeleteSuppressedDestinationCommand({ EmailAddress: 'gone@example.org' }));
      for (let i = 0; i < 3; i++) await sendOne(first, 'billing@kept.example', `Invoice ${i}`);
      before = await storedMessages(first);
    } finally {
      await first.stop();
    }

    const second = await startSesHarness({ dataDir: dir });
    try {
      republish(second, 'kept.example', tokens);
      const identity = await second.ses.send(new GetEmailIdentityCommand({ EmailIdentity: 'kept.example' }));
      expect(identity.VerificationStatus).toBe('SUCCESS');
      expect(identity.DkimAttributes?.Tokens).toEqual(tokens);
      const set = await second.ses.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'kept-set' }));
      expect(set.ConfigurationSetName).toBe('kept-set');
      const tenant = await second.ses.send(new GetTenantCommand({ TenantName: 'kept-tenant' }));
      expect(tenant.Tenant?.TenantName).toBe('kept-tenant');
      const suppressed = await second.ses.send(new ListSuppressedDestinationsCommand({}));
      expect(suppressed.SuppressedDestinationSummaries?.map((entry) => entry.EmailAddress)).toEqual([
        'stays@example.org',
      ]);
      const after = await storedMessages(second);
      expect(after.map((m) => [m.messageId, m.rawBase64])).toEqual(
        before.map((m) => [m.messageId, m.rawBase64]),
      );
      expect(after.filter((m) => m.kind === 'email')).toHaveLength(3);
      const account = await second.ses.send(new GetAccountCommand({}));
      expect(account.SendQuota?.SentLast24Hours).toBe(3);
      // The restored domain still signs: a new send works and is kept after the earlier ones.
      const next = await sendOne(second, 'billing@kept.example');
      expect((await storedMessages(second)).at(-1)?.messageId).toBe(next);
    } finally {
      await second.stop();
    }
  });

  it('ignores a journal line torn by a crash and keeps everything written before it', async () => {
    const dir = dataDir();
    const first = await startSesHarness({ dataDir: dir, maxSendRate: 1000 });
    const journal = first.emulator.store.journalPath ?? '';
    let sent: string[] = [];
    try {
      await verifiedDomain(first, 'torn.example');
      sent = [await sendOne(first, 'a@torn.example'), await sendOne(first, 'b@torn.example')];
    } finally {
      await first.stop();
    }
    expect(existsSync(journal)).toBe(true);
    // What a crash in the middle of a write leaves: the start of a line, no newline.
    appendFileSync(journal, '{"op":"message","value":{"messageId":"0000000000000000-torn');

    const second = await startSesHarness({ dataDir: dir, maxSendRate: 1000 });
    try {
      const kept = (await storedMessages(second)).filter((m) => m.kind === 'email').map((m) => m.messageId);
      expect(kept).toEqual(sent);
      sent.push(await sendOne(second, 'c@torn.example'));
    } finally {
      await second.stop();
    }
    const third = await startSesHarness({ dataDir: dir, maxSendRate: 1000 });
    try {
      const kept = (await storedMessages(third)).filter((m) => m.kind === 'email').map((m) => m.messageId);
      expect(kept).toEqual(sent);
    } finally {
      await third.stop();
    }
  });

  it('publishes after a restart the event records a crash left unpublished (SES delivers each at least once)', async () => {
    const dir = dataDir();
    const crashed = dataDir();
    const feedback = await createFeedbackQueue('ses-persist-events');
    // Records wait 2 s before they are published: the copy taken within that time is what a SIGKILL would leave.
    const first = await startSesHarness({ dataDir: dir, events: { delayMs: { min: 2000, max: 2000 } } });
    let messageId = '';
    try {
      await verifiedDomain(first, 'owed.example');
      await configurationSetToSns(first, 'owed-set', feedback.topicArn, ['SEND', 'DELIVERY']);
      messageId = await sendWithEvents(first, 'billing@owed.example', 'owed-set');
      expect(first.emulator.store.events.map((event) => event.status)).toEqual(['pending', 'pending']);
      cpSync(dir, crashed, { recursive: true });
    } finally {
      await first.stop();
    }
    // The first emulator published its records before it stopped; the crashed copy never did.
    expect(recordsOf(await feedback.receive(2))).toEqual([`Delivery ${messageId}`, `Send ${messageId}`]);

    const second = await startSesHarness({ dataDir: crashed });
    try {
      expect(recordsOf(await feedback.receive(2))).toEqual([`Delivery ${messageId}`, `Send ${messageId}`]);
      await second.emulator.settled();
      expect(second.emulator.store.events.map((event) => event.status)).toEqual(['published', 'published']);
    } finally {
      await second.stop();
      feedback.destroy();
    }
    // Published records are not owed any more: a third start publishes nothing.
    const third = await startSesHarness({ dataDir: crashed });
    try {
      expect(third.emulator.store.unpublishedEvents()).toEqual([]);
      expect(third.emulator.store.events.every((event) => event.status === 'published')).toBe(true);
    } finally {
      await third.stop();
    }
  });

  it('publishes after a restart the records SNS refused while it was unreachable', async () => {
    const dir = dataDir();
    const feedback = await createFeedbackQueue('ses-persist-failed');
    // A closed port: every publish fails, as when fauxqs is down.
    const first = await startSesHarness({ dataDir: dir, snsEndpoint: 'http://127.0.0.1:9' });
    let messageId = '';
    try {
      await verifiedDomain(first, 'refused.example');
      await configurationSetToSns(first, 'refused-set', feedback.topicArn, ['SEND', 'DELIVERY']);
      messageId = await sendWithEvents(first, 'billing@refused.example', 'refused-set');
      await first.emulator.settled();
      expect(first.emulator.store.events.map((event) => event.status)).toEqual(['failed', 'failed']);
    } finally {
      await first.stop();
    }
    const second = await startSesHarness({ dataDir: dir });
    try {
      expect(recordsOf(await feedback.receive(2))).toEqual([`Delivery ${messageId}`, `Send ${messageId}`]);
    } finally {
      await second.stop();
      feedback.destroy();
    }
  });

  it('still owes records that failed again after a restart (kept in the snapshot, not only the journal)', async () => {
    const dir = dataDir();
    const feedback = await createFeedbackQueue('ses-persist-twice');
    const first = await startSesHarness({ dataDir: dir, snsEndpoint: 'http://127.0.0.1:9' });
    let messageId = '';
    try {
      await verifiedDomain(first, 'twice.example');
      await configurationSetToSns(first, 'twice-set', feedback.topicArn, ['SEND', 'DELIVERY']);
      messageId = await sendWithEvents(first, 'billing@twice.example', 'twice-set');
      await first.emulator.settled();
    } finally {
      await first.stop();
    }
    // SNS still unreachable: the records fail again, and this start folds them into its snapshot.
    const second = await startSesHarness({ dataDir: dir, snsEndpoint: 'http://127.0.0.1:9' });
    try {
      await second.emulator.settled();
      expect(second.emulator.store.unpublishedEvents().map((event) => event.status)).toEqual([
        'failed',
        'failed',
      ]);
    } finally {
      await second.stop();
    }
    const third = await startSesHarness({ dataDir: dir });
    try {
      expect(recordsOf(await feedback.receive(2))).toEqual([`Delivery ${messageId}`, `Send ${messageId}`]);
    } finally {
      await third.stop();
      feedback.destroy();
    }
  });

  it('writes the same bytes per send whether it holds 20 messages or 400', async () => {
    const harness = await startSesHarness({
      dataDir: dataDir(),
      maxSendRate: 100_000,
      snsEndpoint: undefined,
    });
    const body = 'x'.repeat(2000);
    const perSend = async (count: number): Promise<number> => {
      const start = bytesWritten();
      for (let i = 0; i < count; i++) await sendOne(harness, 'billing@bytes.example', body);
      return (bytesWritten() - start) / count;
    };
    try {
      await verifiedDomain(harness, 'bytes.example');
      const early = await perSend(20);
      await perSend(360);
      const late = await perSend(20);
      // A send writes its HTTP exchange and one journal line (~9 KB here, the message in base64 with its
      // signatures); rewriting the whole store would write ~400 messages by the end.
      expect(early).toBeGreaterThan(2000);
      expect(late).toBeLessThan(early * 1.25);
    } finally {
      await harness.stop();
    }
  });
});
