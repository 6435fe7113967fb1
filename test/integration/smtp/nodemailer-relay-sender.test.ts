import { NodemailerRelaySender } from '../../../lambdas/adapters/smtp/nodemailer-relay-sender';
import { PermanentError, ThrottledError, TransientError } from '../../../lambdas/domain/errors';
import { outcomeError, SmtpAuthError } from '../../../lambdas/domain/smtp/smtp-outcome';
import { type SmtpRelay, startSmtpRelay } from '../../support/smtp-relay';
import { rawMessage, relaySettings, SECRET_REF, temporarySecretStore } from './relay-test-kit';

describe('NodemailerRelaySender against a real STARTTLS relay', () => {
  let relay: SmtpRelay;
  let secrets: Awaited<ReturnType<typeof temporarySecretStore>>;
  let sender: NodemailerRelaySender;

  beforeAll(async () => {
    relay = await startSmtpRelay();
    secrets = await temporarySecretStore();
    await secrets.store.put(SECRET_REF, 'relay-pass');
    sender = new NodemailerRelaySender({
      secrets: secrets.store,
      tls: { ca: relay.ca },
      timeouts: { connectionMs: 2_000, greetingMs: 2_000, socketMs: 5_000 },
    });
  });

  afterAll(async () => {
    sender.close();
    await relay.close();
    await secrets.remove();
  });

  beforeEach(async () => {
    relay.setPassword('relay-user', 'relay-pass');
    await secrets.store.put(SECRET_REF, 'relay-pass');
  });

  it('delivers the prepared MIME message over TLS with AUTH and reports every recipient as sent', async () => {
    const { raw, id } = rawMessage(['ada@example.com']);
    const before = relay.messages.length;

    const outcome = await sender.send('tenant-a#developer-sandbox', relaySettings(relay), {
      envelopeFrom: 'billing@tenant-a.example',
      recipients: ['ada@example.com'],
      raw,
    });

    expect(outcome.kind).toBe('sent');
    expect(outcome.recipients).toEqual([{ recipient: 'ada@example.com', kind: 'sent' }]);
    expect(outcome.reply?.code).toBe(250);
    const received = relay.messages[before];
    expect(received?.secure).toBe(true);
    expect(received?.user).toBe('relay-user');
    expect(received?.envelopeFrom).toBe('billing@tenant-a.example');
    expect(received?.raw.toString('utf8')).toContain(`Message-ID: ${id}`);
  });

  it('reuses one pooled transport per tenant while its settings and credential stay the same', async () => {
    const settings = relaySettings(relay);
    const message = { envelopeFrom: 'billing@tenant-a.example', recipients: ['bob@example.com'] };
    const sessionsBefore = relay.sessions;
    await sender.send('tenant-pool#production', settings, {
      ...message,
      raw: rawMessage(['bob@example.com']).raw,
    });
    const pools = sender.poolCount;
    const sessions = relay.sessions;
    await sender.send('tenant-pool#production', settings, {
      ...message,
      raw: rawMessage(['bob@example.com']).raw,
    });
    expect(sender.poolCount).toBe(pools);
    // The relay's side: the new tenant key opened a session, the second email went over it.
    expect(sessions).toBe(sessionsBefore + 1);
    expect(relay.sessions).toBe(sessions);
  });

  it('reports a wrong password as an auth failure with the server reply, and recovers once the secret is fixed', async () => {
    relay.setPassword('relay-user', 'rotated-pass');
    const message = { envelopeFrom: 'billing@tenant-a.example', recipients: ['ada@example.com'] };

    const failed = await sender.send('tenant-a#production', relaySettings(relay), {
      ...message,
      raw: rawMessage(['ada@example.com']).raw,
    });

    expect(failed.kind).toBe('auth-failed');
    expect(failed.reply?.code).toBe(535);
    expect(failed.reason).toContain('Authentication credentials invalid');
    const error = outcomeError(failed);
    expect(error).toBeInstanceOf(SmtpAuthError);
    expect(error).toBeInstanceOf(PermanentError);

    await secrets.store.put(SECRET_REF, 'rotated-pass');
    const recovered = await sender.send('tenant-a#production', relaySettings(relay), {
      ...message,
      raw: rawMessage(['ada@example.com']).raw,
    });
    expect(recovered.kind).toBe('sent');
  });

  it('treats a relay that is down as transient and sends once it is back', async () => {
    const settings = relaySettings(relay);
    const message = { envelopeFrom: 'billing@tenant-a.example', recipients: ['ada@example.com'] };
    await relay.stop();

    const down = await sender.send('tenant-down#production', settings, {
      ...message,
      raw: rawMessage(['ada@example.com']).raw,
    });
    expect(down.kind).toBe('transient');
    expect(down.reason).toContain('ECONNREFUSED');
    expect(outcomeError(down)).toBeInstanceOf(TransientError);

    await relay.start();
    const before = relay.messages.length;
    const up = await sender.send('tenant-down#production', settings, {
      ...message,
      raw: rawMessage(['ada@example.com']).raw,
    });
    expect(up.kind).toBe('sent');
    expect(relay.messages).toHaveLength(before + 1);
  });

  it('defers on a 421 rate-limit reply and sends on the next attempt', async () => {
    const settings = relaySettings(relay);
    const message = { envelopeFrom: 'billing@tenant-a.example', recipients: ['ada@example.com'] };
    relay.throttleNext(1);

    const throttled = await sender.send('tenant-a#production', settings, {
      ...message,
      raw: rawMessage(['ada@example.com']).raw,
    });
    expect(throttled.kind).toBe('throttled');
    expect(throttled.reply?.code).toBe(421);
    expect(throttled.retryAfterSeconds).toBeGreaterThan(0);
    expect(outcomeError(throttled)).toBeInstanceOf(ThrottledError);

    const retried = await sender.send('tenant-a#production', settings, {
      ...message,
      raw: rawMessage(['ada@example.com']).raw,
    });
    expect(retried.kind).toBe('sent');
  });

  it('marks only the recipient the relay refused with 550 as rejected, keeping its reply, and delivers to the other', async () => {
    relay.rejectRecipient('gone@example.com');
    const before = relay.messages.length;

    const outcome = await sender.send('tenant-a#production', relaySettings(relay), {
      envelopeFrom: 'billing@tenant-a.example',
      recipients: ['ada@example.com', 'gone@example.com'],
      raw: rawMessage(['ada@example.com', 'gone@example.com']).raw,
    });

    expect(outcome.kind).toBe('sent');
    expect(outcome.recipients).toEqual(
      expect.arrayContaining([
        { recipient: 'ada@example.com', kind: 'sent' },
        expect.objectContaining({
          recipient: 'gone@example.com',
          kind: 'rejected',
          reply: expect.objectContaining({ code: 550, text: expect.stringContaining('mailbox unavailable') }),
        }),
      ]),
    );
    expect(relay.messages[before]?.recipients).toEqual(['ada@example.com']);
  });

  it('rejects the message when every recipient is refused with a 5xx', async () => {
    relay.rejectRecipient('nobody@example.com', '550 5.1.1 No such user here');

    const outcome = await sender.send('tenant-a#production', relaySettings(relay), {
      envelopeFrom: 'billing@tenant-a.example',
      recipients: ['nobody@example.com'],
      raw: rawMessage(['nobody@example.com']).raw,
    });

    expect(outcome.kind).toBe('rejected');
    expect(outcome.recipients[0]?.reply?.text).toContain('No such user here');
    expect(outcomeError(outcome)).toBeInstanceOf(PermanentError);
  });

  it('authenticates with an XOAUTH2 access token', async () => {
    const oauthRelay = await startSmtpRelay({ accessTokens: { 'ops@tenant-a.example': 'token-123' } });
    const oauthSender = new NodemailerRelaySender({ secrets: secrets.store, tls: { ca: oauthRelay.ca } });
    const ref = `${SECRET_REF}/oauth2`;
    await secrets.store.put(ref, JSON.stringify({ accessToken: 'token-123' }));
    try {
      const outcome = await oauthSender.send(
        'tenant-a#production',
        relaySettings(oauthRelay, { auth: { type: 'oauth2', user: 'ops@tenant-a.example', secretRef: ref } }),
        {
          envelopeFrom: 'ops@tenant-a.example',
          recipients: ['ada@example.com'],
          raw: rawMessage(['ada@example.com']).raw,
        },
      );
      expect(outcome.kind).toBe('sent');
      expect(oauthRelay.authAttempts).toEqual([
        { method: 'XOAUTH2', username: 'ops@tenant-a.example', secure: true, accepted: true },
      ]);
    } finally {
      oauthSender.close();
      await oauthRelay.close();
    }
  });
});

describe('NodemailerRelaySender with a relay that offers no TLS', () => {
  it('refuses to continue in plaintext: no AUTH and no message cross the wire', async () => {
    const plaintextRelay = await startSmtpRelay({ withoutStartTls: true });
    const secrets = await temporarySecretStore();
    await secrets.store.put(SECRET_REF, 'relay-pass');
    const sender = new NodemailerRelaySender({ secrets: secrets.store, tls: { ca: plaintextRelay.ca } });
    try {
      const outcome = await sender.send('tenant-a#production', relaySettings(plaintextRelay), {
        envelopeFrom: 'billing@tenant-a.example',
        recipients: ['ada@example.com'],
        raw: rawMessage(['ada@example.com']).raw,
      });

      expect(outcome.kind).toBe('transient');
      expect(outcome.reason).toMatch(/STARTTLS/);
      expect(plaintextRelay.authAttempts).toEqual([]);
      expect(plaintextRelay.messages).toEqual([]);
    } finally {
      sender.close();
      await plaintextRelay.close();
      await secrets.remove();
    }
  });
});
