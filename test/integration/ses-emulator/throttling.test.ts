import { SendEmailCommand, TooManyRequestsException } from '@aws-sdk/client-sesv2';
import { type SesHarness, startSesHarness, verifiedDomain } from './ses-emulator-harness';

describe('SES emulator throttling', () => {
  let harness: SesHarness;
  /** The emulator's clock, held still so the one-second window does not depend on how fast the test runs. */
  let now = Date.parse('2026-03-02T09:00:00.000Z');

  beforeAll(async () => {
    harness = await startSesHarness({ maxSendRate: 2, max24HourSend: 5, clock: () => now });
    await verifiedDomain(harness, 'tenant.example');
  });

  afterAll(async () => {
    await harness.stop();
  });

  const send = (recipients: number) =>
    harness.ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'noreply@tenant.example',
        Destination: { ToAddresses: Array.from({ length: recipients }, (_, i) => `r${i}@example.org`) },
        Content: { Simple: { Subject: { Data: 'Rate' }, Body: { Text: { Data: 'x' } } } },
      }),
    );

  it('accepts up to the max send rate per second and answers the SES throttling error above it', async () => {
    await send(1);
    await send(1);
    const error = await send(1).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TooManyRequestsException);
    expect(error).toMatchObject({
      name: 'TooManyRequestsException',
      message: 'Maximum sending rate exceeded.',
      $metadata: { httpStatusCode: 429 },
    });
  });

  it('counts recipients, not requests, against the rate', async () => {
    now += 1000;
    await send(1);
    await expect(send(2)).rejects.toMatchObject({ message: 'Maximum sending rate exceeded.' });
  });

  it('accepts again once the second has passed, and a throttled request is not counted', async () => {
    now += 1000;
    await expect(send(2)).resolves.toHaveProperty('MessageId');
    expect(harness.emulator.store.sentInLast24Hours(now)).toBe(5);
  });

  it('answers "Daily message quota exceeded." once the 24-hour quota is used up', async () => {
    now += 1000;
    await expect(send(1)).rejects.toMatchObject({
      name: 'TooManyRequestsException',
      message: 'Daily message quota exceeded.',
    });
    now += 86_400_000;
    await expect(send(1)).resolves.toHaveProperty('MessageId');
  });
});
