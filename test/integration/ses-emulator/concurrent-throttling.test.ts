import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { type SesHarness, startSesHarness, verifiedDomain } from './ses-emulator-harness';

describe('SES emulator send rate under concurrent requests', () => {
  let harness: SesHarness;
  const now = Date.parse('2026-01-01T00:00:00Z');

  beforeAll(async () => {
    // A still clock: every request lands in the same one-second window.
    harness = await startSesHarness({ maxSendRate: 5, clock: () => now });
    await verifiedDomain(harness, 'tenant.example');
  });

  afterAll(async () => {
    await harness.stop();
  });

  it('accepts at most the max send rate when 20 sends arrive at once, and throttles the rest', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        harness.ses.send(
          new SendEmailCommand({
            FromEmailAddress: 'billing@tenant.example',
            Destination: { ToAddresses: [`r${i}@customer.example`] },
            Content: { Simple: { Subject: { Data: 'x' }, Body: { Text: { Data: 'x' } } } },
          }),
        ),
      ),
    );
    const accepted = results.filter((result) => result.status === 'fulfilled');
    const throttled = results.filter(
      (result) =>
        result.status === 'rejected' && (result.reason as Error).name === 'TooManyRequestsException',
    );
    expect(accepted).toHaveLength(5);
    expect(throttled).toHaveLength(15);
  });
});
