import { SESv2Client, SESv2ServiceException } from '@aws-sdk/client-sesv2';
import { classifySesError, SesEmailSender } from '../../../lambdas/adapters/ses-email-sender';
import { DomainError } from '../../../lambdas/domain/errors';
import type { OutgoingEmail } from '../../../lambdas/domain/sending/ports';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import { sesErrorFixtures, startReplayServer } from '../../support/ses-error-fixtures';

const fixtures = sesErrorFixtures();

const email: OutgoingEmail = {
  messageId: 'msg-replay-1',
  tenantId: 'acme',
  environment: 'production',
  from: { address: 'notifications@platform.example', name: 'Acme' },
  to: ['customer@example.com'],
  cc: [],
  bcc: [],
  subject: 'Invoice posted',
  text: 'Your invoice is ready.',
  headers: {},
  tags: { 'tenant-id': 'acme' },
};

/**
 * Sends one email through the product's SesEmailSender and the real SES v2 client (one attempt, as the
 * sender paces by itself) against a server replaying `name`, and returns what the SDK raised and what the
 * sender turned it into.
 */
async function replay(name: string): Promise<{ sdkError: unknown; domainError: DomainError }> {
  const fixture = fixtures.get(name);
  if (!fixture) throw new Error(`no fixture ${name}`);
  const server = await startReplayServer(fixture);
  const client = new SESv2Client({
    endpoint: server.url,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
    // Only the `timeout` fixture waits for this: its server never answers. Without throwOnRequestTimeout,
    // @smithy/node-http-handler 4.x only logs a warning and the request waits forever.
    requestHandler: { requestTimeout: 500, throwOnRequestTimeout: true },
  });
  try {
    const sender = new SesEmailSender(client, {
      configurationSetName: 'tenant-mail-prod',
      messageIdDomain: 'platform.example',
    });
    const failure = await sender.send(email).then(
      () => undefined,
      (error: unknown) => error,
    );
    if (!(failure instanceof DomainError))
      throw new Error(`${name}: the sender did not fail with a DomainError`);
    return { sdkError: failure.cause, domainError: failure };
  } finally {
    client.destroy();
    await server.stop();
  }
}

const outcome = (error: DomainError) => ({
  kind: error.kind,
  code: error.code,
  ...('retryAfterSeconds' in error ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
});

describe('classifySesError on SES v2 error responses recorded from public sources', () => {
  it('has a public source for every fixture', () => {
    expect(fixtures.size).toBeGreaterThanOrEqual(10);
    for (const fixture of fixtures.values()) {
      expect(fixture.source).toMatch(/^https:\/\/(docs\.aws\.amazon\.com|github\.com)\//);
      expect(Boolean(fixture.response) !== Boolean(fixture.network)).toBe(true);
    }
  });

  it.each([
    [
      'throttled-max-send-rate',
      'TooManyRequestsException',
      429,
      { kind: 'throttled', code: 'SES_THROTTLED', retryAfterSeconds: 2 },
    ],
    [
      'throttled-daily-quota',
      'TooManyRequestsException',
      429,
      { kind: 'throttled', code: 'SES_DAILY_QUOTA', retryAfterSeconds: 600 },
    ],
    [
      'sending-paused',
      'SendingPausedException',
      400,
      { kind: 'throttled', code: 'SES_SENDING_PAUSED', retryAfterSeconds: 600 },
    ],
    [
      'account-suspended',
      'AccountSuspendedException',
      400,
      { kind: 'throttled', code: 'SES_ACCOUNT_SUSPENDED', retryAfterSeconds: 3600 },
    ],
    [
      'limit-exceeded',
      'LimitExceededException',
      400,
      { kind: 'throttled', code: 'SES_LIMIT', retryAfterSeconds: 60 },
    ],
    ['message-rejected-unverified', 'MessageRejected', 400, { kind: 'permanent', code: 'SES_REJECTED' }],
    [
      'mail-from-not-verified',
      'MailFromDomainNotVerifiedException',
      400,
      { kind: 'permanent', code: 'SES_BAD_REQUEST' },
    ],
  ])(
    '%s: the SDK raises %s (HTTP %i) and the sender maps it to %o',
    async (name, sdkName, status, expected) => {
      const { sdkError, domainError } = await replay(name);
      expect(sdkError).toBeInstanceOf(SESv2ServiceException);
      const service = sdkError as SESv2ServiceException;
      expect(service.name).toBe(sdkName);
      expect(service.$metadata.httpStatusCode).toBe(status);
      const body = JSON.parse(fixtures.get(name)?.response?.body ?? '{}') as { message: string };
      expect(service.message).toBe(body.message);
      expect(outcome(domainError)).toEqual(expected);
    },
  );

  it.each([['connection-reset'], ['connection-refused'], ['request-timeout']])(
    '%s: a network failure is not a service answer, so the send is retried',
    async (name) => {
      const { sdkError, domainError } = await replay(name);
      expect(sdkError).not.toBeInstanceOf(SESv2ServiceException);
      expect(outcome(domainError)).toEqual({ kind: 'transient', code: 'SES_UNREACHABLE' });
    },
  );

  it('passes a domain error through unchanged', () => {
    const { domainError } = { domainError: classifySesError(new Error('boom')) as DomainError };
    expect(classifySesError(domainError)).toBe(domainError);
  });
});
