import { generate } from 'selfsigned';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

/** One message the relay accepted, as the server saw it. */
export interface ReceivedMessage {
  readonly envelopeFrom: string;
  readonly recipients: readonly string[];
  readonly raw: Buffer;
  /** Server-side receive time (from the relay's clock) when the DATA was accepted. */
  readonly receivedAt: number;
  readonly user: string | undefined;
  /** Whether the session was encrypted (STARTTLS or implicit TLS) when the message arrived. */
  readonly secure: boolean;
}

/** An AUTH attempt, successful or not; tests use it to prove credentials never crossed in plaintext. */
export interface AuthAttempt {
  readonly method: string;
  readonly username: string | undefined;
  readonly secure: boolean;
  readonly accepted: boolean;
}

export interface SmtpRelayOptions {
  /** Username to password. @default { 'relay-user': 'relay-pass' } */
  readonly users?: Record<string, string>;
  /** XOAUTH2 user to the access token it accepts. @default {} */
  readonly accessTokens?: Record<string, string>;
  /** Implicit TLS from the first byte (port-465 style) instead of STARTTLS. @default false */
  readonly implicitTls?: boolean;
  /** Do not offer STARTTLS (a plaintext-only relay, to prove we refuse it). @default false */
  readonly withoutStartTls?: boolean;
  /** Clock for `receivedAt`; a test with a fake clock passes the same one to the rate governor. @default Date.now */
  readonly now?: () => number;
  /** TLS key and certificate (PEM). @default a self-signed certificate for 127.0.0.1, made once per process */
  readonly certificate?: { readonly key: string; readonly cert: string };
  /** @default 0 (a free port) */
  readonly port?: number;
}

export interface SmtpRelay {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** PEM of the self-signed certificate; trust it with the sender's `tls.ca`. */
  readonly ca: string;
  readonly messages: ReceivedMessage[];
  readonly authAttempts: AuthAttempt[];
  /** SMTP sessions (client connections) the relay accepted so far; a pooled sender opens few. */
  readonly sessions: number;
  /** Changes (or adds) a user's password, e.g. to make the tenant's stored password wrong. */
  setPassword(user: string, password: string): void;
  /** Answers the next `count` MAIL FROM commands with `reply` (default a 421 rate-limit reply). */
  throttleNext(count: number, reply?: string): void;
  /** Answers RCPT TO for `address` with `reply` (default `550 5.1.1 ... mailbox unavailable`) from now on. */
  rejectRecipient(address: string, reply?: string): void;
  /** Stops listening and drops open sessions; the port stays reserved for `start`. */
  stop(): Promise<void>;
  /** Listens again on the same port after `stop`. */
  start(): Promise<void>;
  /** Resolves once at least `count` messages were accepted. */
  waitForMessages(count: number): Promise<void>;
  /** Stops the relay for good (call in afterAll). */
  close(): Promise<void>;
}

let certificate: Promise<{ key: string; cert: string }> | undefined;

/** A certificate for 127.0.0.1 and localhost, generated once per test process. */
export function selfSignedRelayCertificate(): Promise<{ key: string; cert: string }> {
  certificate ??= generate([{ name: 'commonName', value: 'tenant-mail test relay' }], {
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  }).then((pems) => ({ key: pems.private, cert: pems.cert }));
  return certificate;
}

function smtpError(reply: string): Error & { responseCode: number } {
  const match = /^(\d{3})\s+(.*)$/s.exec(reply);
  const error = new Error(match?.[2] ?? reply) as Error & { responseCode: number };
  error.responseCode = Number(match?.[1] ?? 451);
  return error;
}

/**
 * A real SMTP relay (smtp-server) on 127.0.0.1 with STARTTLS (or implicit TLS) on a self-signed certificate and
 * AUTH PLAIN / LOGIN / XOAUTH2, recording every accepted message with its server-side receive time, and with
 * scriptable faults. Shared by the SMTP tests, the sender tests and the local twin.
 */
export async function startSmtpRelay(options: SmtpRelayOptions = {}): Promise<SmtpRelay> {
  const { key, cert } = options.certificate ?? (await selfSignedRelayCertificate());
  const users = new Map(Object.entries(options.users ?? { 'relay-user': 'relay-pass' }));
  const accessTokens = new Map(Object.entries(options.accessTokens ?? {}));
  const now = options.now ?? Date.now;
  const rejectedRecipients = new Map<string, string>();
  const messages: ReceivedMessage[] = [];
  const authAttempts: AuthAttempt[] = [];
  let sessions = 0;
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  let throttles: { remaining: number; reply: string } = { remaining: 0, reply: '' };

  const serverOptions: SMTPServerOptions = {
    key,
    cert,
    secure: options.implicitTls ?? false,
    hideSTARTTLS: options.withoutStartTls ?? false,
    disabledCommands: options.withoutStartTls ? ['STARTTLS'] : [],
    allowInsecureAuth: options.withoutStartTls ?? false,
    authMethods: ['PLAIN', 'LOGIN', 'XOAUTH2'],
    disableReverseLookup: true,
    closeTimeout: 100,
    logger: false,
    onConnect(_session, callback) {
      sessions += 1;
      callback();
    },
    onAuth(auth, session, callback) {
      const accepted =
        auth.method === 'XOAUTH2'
          ? auth.username !== undefined && accessTokens.get(auth.username) === auth.accessToken
          : auth.username !== undefined && users.get(auth.username) === auth.password;
      authAttempts.push({ method: auth.method, username: auth.username, secure: session.secure, accepted });
      if (!accepted) return callback(smtpError('535 5.7.8 Authentication credentials invalid'));
      callback(null, { user: auth.username });
    },
    onMailFrom(_address, _session, callback) {
      if (throttles.remaining > 0) {
        throttles = { ...throttles, remaining: throttles.remaining - 1 };
        return callback(smtpError(throttles.reply));
      }
      callback();
    },
    onRcptTo(address, _session, callback) {
      const reply = rejectedRecipients.get(address.address.toLowerCase());
      callback(reply ? smtpError(reply) : undefined);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const mailFrom = session.envelope.mailFrom;
        messages.push({
          envelopeFrom: mailFrom ? mailFrom.address : '',
          recipients: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks),
          receivedAt: now(),
          user: typeof session.user === 'string' ? session.user : undefined,
          secure: session.secure,
        });
        for (const waiter of [...waiters]) {
          if (messages.length >= waiter.count) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        }
        callback(null, `2.0.0 Ok: queued as test-${messages.length}`);
      });
    },
  };

  let server: SMTPServer | undefined;
  let port = options.port ?? 0;
  const listen = async (): Promise<void> => {
    const instance = new SMTPServer(serverOptions);
    instance.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      instance.server.once('error', reject);
      instance.listen(port, '127.0.0.1', () => {
        instance.server.off('error', reject);
        resolve();
      });
    });
    const address = instance.server.address();
    if (address === null || typeof address === 'string') throw new Error('relay has no TCP address');
    port = address.port;
    server = instance;
  };
  const shutdown = async (): Promise<void> => {
    const instance = server;
    server = undefined;
    if (instance) await new Promise<void>((resolve) => instance.close(() => resolve()));
  };

  await listen();
  return {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    ca: cert,
    messages,
    authAttempts,
    get sessions() {
      return sessions;
    },
    setPassword: (user, password) => {
      users.set(user, password);
    },
    throttleNext: (count, reply = '421 4.7.0 Too many messages, rate limit exceeded, slow down') => {
      throttles = { remaining: count, reply };
    },
    rejectRecipient: (address, reply = '550 5.1.1 Requested action not taken: mailbox unavailable') => {
      rejectedRecipients.set(address.toLowerCase(), reply);
    },
    stop: shutdown,
    start: listen,
    waitForMessages: (count) =>
      messages.length >= count
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ count, resolve })),
    close: shutdown,
  };
}
