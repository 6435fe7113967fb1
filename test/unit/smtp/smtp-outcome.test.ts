import { PermanentError, ThrottledError, TransientError } from '../../../lambdas/domain/errors';
import {
  classifySmtpError,
  classifySmtpResult,
  isThrottleReply,
  outcomeError,
  parseSmtpReply,
  QUOTA_THROTTLE_RETRY_SECONDS,
} from '../../../lambdas/domain/smtp/smtp-outcome';

const reply = (text: string) => parseSmtpReply(text) ?? { text };

describe('SMTP outcome classification', () => {
  it('splits a reply into code, enhanced code and text', () => {
    expect(parseSmtpReply('550 5.1.1 <x@example.com>: Recipient address rejected')).toEqual({
      code: 550,
      enhancedCode: '5.1.1',
      text: '550 5.1.1 <x@example.com>: Recipient address rejected',
    });
  });

  it.each([
    '421 4.7.0 Try again later, closing connection',
    '450 4.2.1 Peak SMTP relay limit exceeded for customer',
    '451 4.7.1 Rate limited, please slow down',
    '454 Throttling failure: Maximum sending rate exceeded',
    '432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded',
    '550 5.4.5 Daily user sending quota exceeded',
    '554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException',
  ])('reads "%s" as throttling', (text) => {
    expect(isThrottleReply(reply(text))).toBe(true);
  });

  it.each([
    '450 4.2.0 Mailbox busy',
    '454 4.7.0 TLS not available due to local problem',
    '452 4.5.3 Too many recipients',
    '552 5.3.4 Message size exceeds fixed limit',
    '550 5.1.1 User unknown',
  ])('does not read "%s" as throttling', (text) => {
    expect(isThrottleReply(reply(text))).toBe(false);
  });

  it('keeps a 5xx for one recipient to that recipient and reports the message as sent', () => {
    const outcome = classifySmtpResult({
      accepted: ['a@example.com'],
      rejected: ['b@example.com'],
      rejectedErrors: [{ recipient: 'b@example.com', responseCode: 550, response: '550 5.1.1 User unknown' }],
      response: '250 2.0.0 Ok: queued',
    });
    expect(outcome.kind).toBe('sent');
    expect(outcome.recipients).toEqual([
      { recipient: 'a@example.com', kind: 'sent' },
      { recipient: 'b@example.com', kind: 'rejected', reply: reply('550 5.1.1 User unknown') },
    ]);
    expect(outcomeError(outcome)).toBeUndefined();
  });

  it('classifies a 535 as an auth failure, permanent for the tenant configuration', () => {
    const outcome = classifySmtpError(
      {
        code: 'EAUTH',
        responseCode: 535,
        response: '535 5.7.8 Authentication credentials invalid',
        command: 'AUTH PLAIN',
      },
      ['a@example.com'],
    );
    expect(outcome.kind).toBe('auth-failed');
    expect(outcome.reason).toContain('535 5.7.8 Authentication credentials invalid');
    expect(outcomeError(outcome)).toBeInstanceOf(PermanentError);
  });

  it('classifies a temporary 454 during AUTH as transient', () => {
    const outcome = classifySmtpError(
      { code: 'EAUTH', responseCode: 454, response: '454 4.7.0 Temporary authentication failure' },
      ['a@example.com'],
    );
    expect(outcome.kind).toBe('transient');
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'])('classifies %s as transient', (originalCode) => {
    const outcome = classifySmtpError(
      { code: 'ESOCKET', originalCode, message: 'socket failed', command: 'CONN' },
      ['a@example.com'],
    );
    expect(outcome.kind).toBe('transient');
    expect(outcome.reason).toContain(originalCode);
    expect(outcomeError(outcome)).toBeInstanceOf(TransientError);
  });

  it('classifies a refused STARTTLS as transient, not as a rejection of the message', () => {
    const outcome = classifySmtpError(
      { code: 'ETLS', responseCode: 502, response: '502 5.5.2 Command not recognized', command: 'STARTTLS' },
      ['a@example.com'],
    );
    expect(outcome.kind).toBe('transient');
  });

  it('defers a daily quota reply for an hour and a rate reply for a minute', () => {
    const quota = classifySmtpError(
      { code: 'EENVELOPE', response: '550 5.4.5 Daily user sending quota exceeded', command: 'MAIL FROM' },
      ['a@example.com'],
    );
    expect(quota).toMatchObject({ kind: 'throttled', retryAfterSeconds: QUOTA_THROTTLE_RETRY_SECONDS });
    const rate = classifySmtpError(
      {
        code: 'EENVELOPE',
        response: '454 Throttling failure: Maximum sending rate exceeded',
        command: 'DATA',
      },
      ['a@example.com'],
    );
    expect(rate).toMatchObject({ kind: 'throttled', retryAfterSeconds: 60 });
    expect(outcomeError(rate)).toBeInstanceOf(ThrottledError);
  });

  it('rejects the message when every recipient is refused with a 5xx, keeping each reply', () => {
    const outcome = classifySmtpError(
      {
        code: 'EENVELOPE',
        response: '550 5.1.1 User unknown',
        rejected: ['a@example.com', 'b@example.com'],
        rejectedErrors: [
          { recipient: 'a@example.com', responseCode: 550, response: '550 5.1.1 User unknown' },
          { recipient: 'b@example.com', responseCode: 553, response: '553 5.1.3 Bad address syntax' },
        ],
      },
      ['a@example.com', 'b@example.com'],
    );
    expect(outcome.kind).toBe('rejected');
    expect(outcome.recipients.map((r) => r.reply?.code)).toEqual([550, 553]);
  });

  it('defers rather than rejects when one recipient is refused and another throttled', () => {
    const outcome = classifySmtpError(
      {
        code: 'EENVELOPE',
        rejectedErrors: [
          { recipient: 'a@example.com', responseCode: 550, response: '550 5.1.1 User unknown' },
          { recipient: 'b@example.com', responseCode: 451, response: '451 4.7.1 Rate limited' },
        ],
      },
      ['a@example.com', 'b@example.com'],
    );
    expect(outcome.kind).toBe('throttled');
    expect(outcome.recipients.map((r) => r.kind)).toEqual(['rejected', 'throttled']);
  });
});
