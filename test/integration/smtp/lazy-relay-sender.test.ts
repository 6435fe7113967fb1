import { LazyRelaySender } from '../../../lambdas/adapters/smtp/lazy-relay-sender';
import { NodemailerRelaySender } from '../../../lambdas/adapters/smtp/nodemailer-relay-sender';
import type { RelaySender } from '../../../lambdas/domain/smtp/relay-sender';
import { type SmtpRelay, startSmtpRelay } from '../../support/smtp-relay';
import { rawMessage, relaySettings, SECRET_REF, temporarySecretStore } from './relay-test-kit';

describe('LazyRelaySender', () => {
  let relay: SmtpRelay;
  let secrets: Awaited<ReturnType<typeof temporarySecretStore>>;
  const created: NodemailerRelaySender[] = [];

  beforeAll(async () => {
    relay = await startSmtpRelay();
    relay.setPassword('relay-user', 'relay-pass');
    secrets = await temporarySecretStore();
    await secrets.store.put(SECRET_REF, 'relay-pass');
  });

  afterAll(async () => {
    for (const sender of created) sender.close();
    await relay.close();
    await secrets.remove();
  });

  const nodemailerRelay = (): RelaySender => {
    const sender = new NodemailerRelaySender({ secrets: secrets.store, tls: { ca: relay.ca } });
    created.push(sender);
    return sender;
  };

  it('creates the relay at the first send, not before, and reuses it for every later send', async () => {
    let loads = 0;
    const lazy = new LazyRelaySender(() => {
      loads += 1;
      return nodemailerRelay();
    });
    expect(loads).toBe(0);
    expect(lazy.isLoaded).toBe(false);

    const before = relay.messages.length;
    for (const to of ['ada@example.com', 'bob@example.com']) {
      const outcome = await lazy.send('tenant-a#developer-sandbox', relaySettings(relay), {
        envelopeFrom: 'billing@tenant-a.example',
        recipients: [to],
        raw: rawMessage([to]).raw,
      });
      expect(outcome.kind).toBe('sent');
    }

    expect(loads).toBe(1);
    expect(lazy.isLoaded).toBe(true);
    expect(relay.messages.slice(before).map((message) => message.recipients)).toEqual([
      ['ada@example.com'],
      ['bob@example.com'],
    ]);
  });

  it('rejects the send whose load fails, and loads again at the next one', async () => {
    let loads = 0;
    const lazy = new LazyRelaySender(() => {
      loads += 1;
      if (loads === 1) throw new Error("Cannot find module './send-email.relay'");
      return nodemailerRelay();
    });
    const send = () =>
      lazy.send('tenant-a#developer-sandbox', relaySettings(relay), {
        envelopeFrom: 'billing@tenant-a.example',
        recipients: ['ada@example.com'],
        raw: rawMessage(['ada@example.com']).raw,
      });

    const first = send();
    await expect(first).rejects.toThrow("Cannot find module './send-email.relay'");
    await expect(send()).resolves.toMatchObject({ kind: 'sent' });
    expect(loads).toBe(2);
  });

  it('runs a connection test through the relay it creates', async () => {
    const lazy = new LazyRelaySender(nodemailerRelay);

    const report = await lazy.testConnection(relaySettings(relay));

    expect(report).toMatchObject({ ok: true });
    expect(lazy.isLoaded).toBe(true);
  });
});
