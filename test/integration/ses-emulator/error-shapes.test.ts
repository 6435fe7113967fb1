import { LOCAL_REGION } from '../../../local/emulators/local-aws';
import { type SesEmulator, startSesEmulator } from '../../../local/ses';
import { type SesErrorFixture, sesErrorFixtures } from '../../support/ses-error-fixtures';

const fixtures = sesErrorFixtures();
const NOW = Date.parse('2026-03-02T10:00:00Z');

/** The part of an error answer the SDK reads: status, the error type header (before any `:`), the body. */
const shapeOf = (status: number, errorType: string | null, body: string) => ({
  status,
  errorType: errorType?.split(':')[0] ?? null,
  body: JSON.parse(body) as unknown,
});

function fixtureShape(name: string) {
  const fixture = fixtures.get(name) as SesErrorFixture;
  const { response } = fixture;
  if (!response) throw new Error(`${name} records no response`);
  const errorType = Object.entries(response.headers).find(
    ([key]) => key.toLowerCase() === 'x-amzn-errortype',
  );
  return shapeOf(response.status, errorType?.[1] ?? null, response.body);
}

describe('the SES emulator answers errors in the shapes recorded from SES', () => {
  let emulator: SesEmulator;
  let now = NOW;

  async function send(from = 'notifications@platform.example') {
    const response = await fetch(`${emulator.url}/v2/email/outbound-emails`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        FromEmailAddress: from,
        Destination: { ToAddresses: ['success@simulator.amazonses.com'] },
        Content: { Simple: { Subject: { Data: 'Hi' }, Body: { Text: { Data: 'Hello' } } } },
      }),
    });
    return shapeOf(response.status, response.headers.get('x-amzn-errortype'), await response.text());
  }

  beforeAll(async () => {
    emulator = await startSesEmulator({
      dkimKeyBits: 1024,
      maxSendRate: 1,
      max24HourSend: 3,
      clock: () => now,
    });
    const created = await fetch(`${emulator.url}/v2/email/identities`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ EmailIdentity: 'platform.example' }),
    });
    expect(created.status).toBe(200);
    await fetch(`${emulator.url}/_local/identities/platform.example/verify`, { method: 'POST' });
  });
  afterAll(() => emulator.stop());

  it('over the send rate: 429 TooManyRequestsException "Maximum sending rate exceeded."', async () => {
    now = NOW;
    expect((await send()).status).toBe(200);
    expect(await send()).toEqual(fixtureShape('throttled-max-send-rate'));
  });

  it('over the daily quota: 429 TooManyRequestsException "Daily message quota exceeded."', async () => {
    now = NOW + 2_000;
    expect((await send()).status).toBe(200);
    now = NOW + 4_000;
    expect((await send()).status).toBe(200);
    now = NOW + 6_000;
    expect(await send()).toEqual(fixtureShape('throttled-daily-quota'));
  });

  it('from an unverified address: 400 MessageRejected naming the identities and the region', async () => {
    now = NOW + 86_400_000 * 2;
    expect(LOCAL_REGION).toBe('us-east-1');
    expect(await send('billing@unverified.example')).toEqual(fixtureShape('message-rejected-unverified'));
  });

  it("with the account paused: 400 SendingPausedException with AWS's wording", async () => {
    await fetch(`${emulator.url}/_local/account`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sendingEnabled: false }),
    });
    expect(await send()).toEqual(fixtureShape('sending-paused'));
  });
});
