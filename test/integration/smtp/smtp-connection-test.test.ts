import { createServer, type Server, type Socket } from 'node:net';
import { NodemailerRelaySender } from '../../../lambdas/adapters/smtp/nodemailer-relay-sender';
import { testSmtpConnection } from '../../../lambdas/adapters/smtp/smtp-connection-test';
import { type SmtpRelay, startSmtpRelay } from '../../support/smtp-relay';
import { relaySettings, SECRET_REF, temporarySecretStore } from './relay-test-kit';

describe('SMTP connection test', () => {
  let relay: SmtpRelay;
  let secrets: Awaited<ReturnType<typeof temporarySecretStore>>;
  const timeouts = { connectionMs: 2_000, greetingMs: 1_000, socketMs: 2_000 };

  beforeAll(async () => {
    relay = await startSmtpRelay();
    secrets = await temporarySecretStore();
  });

  afterAll(async () => {
    await relay.close();
    await secrets.remove();
  });

  beforeEach(async () => {
    await secrets.store.put(SECRET_REF, 'relay-pass');
  });

  it('passes every step against a healthy STARTTLS relay and names the TLS version', async () => {
    const sender = new NodemailerRelaySender({ secrets: secrets.store, tls: { ca: relay.ca }, timeouts });
    const report = await sender.testConnection(relaySettings(relay));

    expect(report).toEqual({
      ok: true,
      steps: ['connect', 'greeting', 'ehlo', 'starttls', 'auth'],
      tlsProtocol: expect.stringMatching(/^TLSv1\.[23]$/),
    });
    expect(relay.messages.filter((message) => message.user === 'relay-user')).toHaveLength(0);
  });

  it('reports the AUTH step with the 535 reply when the password is wrong', async () => {
    await secrets.store.put(SECRET_REF, 'not-the-password');
    const report = await testSmtpConnection(relaySettings(relay), secrets.store, {
      tls: { ca: relay.ca },
      timeouts,
    });

    expect(report).toMatchObject({
      ok: false,
      failedStep: 'auth',
      steps: ['connect', 'greeting', 'ehlo', 'starttls'],
      reply: { code: 535, enhancedCode: '5.7.8' },
      errorCode: 'EAUTH',
    });
    if (!report.ok) expect(report.reason).toContain('Authentication credentials invalid');
  });

  it('reports the connect step when nothing listens on the port', async () => {
    const stopped = await startSmtpRelay();
    const port = stopped.port;
    await stopped.close();

    const report = await testSmtpConnection(relaySettings({ port }), secrets.store, { timeouts });

    expect(report).toMatchObject({ ok: false, failedStep: 'connect', steps: [], errorCode: 'ECONNREFUSED' });
  });

  it('reports the STARTTLS step when the relay certificate is not trusted', async () => {
    const report = await testSmtpConnection(relaySettings(relay), secrets.store, { timeouts });

    expect(report).toMatchObject({
      ok: false,
      failedStep: 'starttls',
      steps: ['connect', 'greeting', 'ehlo'],
    });
    if (!report.ok) expect(report.reason).toMatch(/certificate/i);
  });

  it('reports the STARTTLS step when the relay only speaks plaintext', async () => {
    const plaintext = await startSmtpRelay({ withoutStartTls: true });
    try {
      const report = await testSmtpConnection(relaySettings(plaintext), secrets.store, {
        tls: { ca: plaintext.ca },
        timeouts,
      });

      expect(report).toMatchObject({ ok: false, failedStep: 'starttls' });
      expect(plaintext.authAttempts).toEqual([]);
    } finally {
      await plaintext.close();
    }
  });

  it('passes the TLS handshake step against an implicit-TLS relay', async () => {
    const implicit = await startSmtpRelay({ implicitTls: true });
    try {
      const report = await testSmtpConnection(relaySettings(implicit, { security: 'tls' }), secrets.store, {
        tls: { ca: implicit.ca },
        timeouts,
      });

      expect(report).toMatchObject({ ok: true, steps: ['connect', 'tls', 'greeting', 'ehlo', 'auth'] });
    } finally {
      await implicit.close();
    }
  });

  it('reports the greeting step with the reply when the server answers 554 instead of 220', async () => {
    const server: Server = createServer((socket) => socket.end('554 5.3.2 No SMTP service here\r\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const report = await testSmtpConnection(relaySettings({ port }), secrets.store, { timeouts });

      expect(report).toMatchObject({
        ok: false,
        failedStep: 'greeting',
        steps: ['connect'],
        reply: { code: 554 },
      });
      if (!report.ok) expect(report.reason).toContain('No SMTP service here');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reports the greeting step when the server accepts the connection but never greets', async () => {
    const sockets: Socket[] = [];
    const server: Server = createServer((socket) => {
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const report = await testSmtpConnection(relaySettings({ port }), secrets.store, {
        timeouts: { ...timeouts, greetingMs: 300 },
      });

      expect(report).toMatchObject({
        ok: false,
        failedStep: 'greeting',
        steps: ['connect'],
        errorCode: 'ETIMEDOUT',
      });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
