import { type Socket, connect as tcpConnect } from 'node:net';
import type { TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import XOAuth2 from 'nodemailer/lib/xoauth2';
import type { ConnectionStep, ConnectionTestReport } from '../../domain/smtp/relay-sender';
import type { SecretStore } from '../../domain/smtp/secret-store';
import { parseOAuth2Secret, parsePasswordSecret } from '../../domain/smtp/secret-values';
import { parseSmtpReply, type SmtpErrorLike } from '../../domain/smtp/smtp-outcome';
import type { SmtpSettings } from '../../domain/smtp/smtp-settings';
import { type RelayTimeouts, type RelayTlsOptions, sessionOptionsFor } from './transport-options';

export interface SmtpConnectionTestOptions {
  readonly tls?: RelayTlsOptions;
  readonly timeouts?: RelayTimeouts;
}

/**
 * Walks one SMTP session step by step (TCP connect, implicit TLS handshake, 220 greeting, EHLO, STARTTLS, AUTH) and
 * reports the first step that failed with the server's reply, then QUITs without sending anything. The TCP
 * connection is opened here rather than by nodemailer so that "nothing listens" and "something listens but never
 * greets" are told apart. Never throws for relay problems; a missing secret still throws its domain error.
 */
export async function testSmtpConnection(
  settings: SmtpSettings,
  secrets: SecretStore,
  options: SmtpConnectionTestOptions = {},
): Promise<ConnectionTestReport> {
  const session = sessionOptionsFor(settings, options.tls, options.timeouts);
  const steps: ConnectionStep[] = [];
  const fail = (failedStep: ConnectionStep, error: SmtpErrorLike, fallback: string): ConnectionTestReport => {
    const reply = parseSmtpReply(error.response, error.responseCode);
    const errorCode = error.originalCode ?? error.code;
    return {
      ok: false,
      steps: [...steps],
      failedStep,
      reason: `${STEP_LABELS[failedStep]} failed: ${reply?.text || error.message || fallback}`,
      ...(reply ? { reply } : {}),
      ...(errorCode ? { errorCode } : {}),
    };
  };

  let socket: Socket;
  try {
    socket = await openSocket(settings.host, settings.port, session.connectionTimeout);
  } catch (error) {
    return fail('connect', error as SmtpErrorLike, 'could not connect');
  }
  steps.push('connect');

  const connection = new SMTPConnection({ ...session, connection: socket });
  // nodemailer reports session failures through 'error' (the connect callback only hears success), so each step
  // waits for whichever comes first.
  let pendingError: ((error: SmtpErrorLike) => void) | undefined;
  connection.on('error', (error: SmtpErrorLike) => pendingError?.(error));
  const step = (run: (done: (error?: SmtpErrorLike | null) => void) => void) =>
    new Promise<SmtpErrorLike | undefined>((resolve) => {
      pendingError = resolve;
      run((error) => resolve(error ?? undefined));
    }).finally(() => {
      pendingError = undefined;
    });
  try {
    const connectError = await step((done) => connection.connect((error) => done(error)));
    if (connectError)
      return fail(
        stepOfConnectError(settings, connectError, steps, connection.upgrading === true),
        connectError,
        'handshake',
      );
    if (settings.security === 'tls') steps.push('tls');
    steps.push('greeting', 'ehlo');
    if (settings.security === 'starttls') steps.push('starttls');

    const auth = await loginData(settings, secrets);
    const authError = await step((done) => connection.login(auth, (error) => done(error)));
    if (authError) return fail('auth', authError, 'authentication refused');
    steps.push('auth');
    const socketInUse = connection._socket;
    const tlsProtocol =
      socketInUse && 'getProtocol' in socketInUse ? (socketInUse as TLSSocket).getProtocol() : null;
    return { ok: true, steps, ...(tlsProtocol ? { tlsProtocol } : {}) };
  } finally {
    connection.quit();
    connection.close();
  }
}

const STEP_LABELS: Record<ConnectionStep, string> = {
  connect: 'Connecting',
  tls: 'TLS handshake',
  greeting: 'Server greeting',
  ehlo: 'EHLO',
  starttls: 'STARTTLS upgrade',
  auth: 'Authentication',
};

/** Which step a failure of `connect()` (after our TCP connect succeeded) belongs to. */
function stepOfConnectError(
  settings: SmtpSettings,
  error: SmtpErrorLike,
  steps: ConnectionStep[],
  upgrading: boolean,
): ConnectionStep {
  // A handshake failure after the server said "220 Ready to start TLS" surfaces as a socket error, not as STARTTLS.
  if (error.command === 'STARTTLS' || (upgrading && settings.security === 'starttls')) {
    steps.push('greeting', 'ehlo');
    return 'starttls';
  }
  if (error.command === 'EHLO' || error.command === 'HELO') {
    if (settings.security === 'tls') steps.push('tls');
    steps.push('greeting');
    return 'ehlo';
  }
  if (error.code === 'ETLS' && settings.security === 'tls') return 'tls';
  if (settings.security === 'tls') steps.push('tls');
  return 'greeting';
}

function openSocket(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        Object.assign(new Error(`no TCP connection to ${host}:${port} within ${timeoutMs} ms`), {
          code: 'ETIMEDOUT',
        }),
      );
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

async function loginData(settings: SmtpSettings, secrets: SecretStore) {
  const value = await secrets.get(settings.auth.secretRef);
  if (settings.auth.type === 'password') {
    const pass = parsePasswordSecret(settings.auth.secretRef, value);
    return {
      user: settings.auth.username,
      credentials: { user: settings.auth.username, pass },
      method: false as const,
    };
  }
  const oauth2 = new XOAuth2({
    user: settings.auth.user,
    ...parseOAuth2Secret(settings.auth.secretRef, value),
  });
  return { type: 'OAUTH2', user: settings.auth.user, oauth2, method: 'XOAUTH2' };
}
