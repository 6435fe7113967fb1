import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { GetAccountCommand, SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/local-aws';
import { type SesHarness, startSesHarness, storedMessages, verifiedDomain } from './ses-emulator-harness';

describe('SES emulator local viewer', () => {
  let harness: SesHarness;

  beforeAll(async () => {
    harness = await startSesHarness();
    await verifiedDomain(harness, 'tenant.example');
    await harness.ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'noreply@tenant.example',
        Destination: { ToAddresses: ['customer@example.org'] },
        Content: { Simple: { Subject: { Data: 'Shown <here>' }, Body: { Text: { Data: 'x' } } } },
      }),
    );
  });

  afterAll(async () => {
    await harness.stop();
  });

  it('shows identities and messages on an HTML page with content escaped', async () => {
    const response = await fetch(`${harness.emulator.url}/_local/`);
    expect(response.headers.get('content-type')).toContain('text/html');
    const html = await response.text();
    expect(html).toContain('tenant.example');
    expect(html).toContain('Shown &#60;here&#62;');
    expect(html).not.toContain('Shown <here>');
  });

  it('clears stored messages for the next test', async () => {
    expect((await storedMessages(harness)).length).toBeGreaterThan(0);
    const cleared = await fetch(`${harness.emulator.url}/_local/messages`, { method: 'DELETE' });
    expect(cleared.status).toBe(200);
    expect(await storedMessages(harness)).toEqual([]);
  });

  it('answers an unimplemented SES operation with BadRequestException naming it', async () => {
    const response = await fetch(`${harness.emulator.url}/v2/email/templates`);
    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('BadRequestException');
    expect(await response.json()).toEqual({
      message: 'The local SES emulator does not implement GET /v2/email/templates',
    });
  });
});

describe('npm run ses:local', () => {
  it('prints the URL of a free port with --port 0 and serves SES there until stopped', async () => {
    const child = spawn(join(process.cwd(), 'node_modules/.bin/tsx'), ['local/ses/cli.ts', '--port', '0'], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let output = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = output.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
          if (match?.[1]) resolve(match[1]);
        });
        child.once('exit', (code) => reject(new Error(`CLI exited with ${code}: ${output}`)));
      });
      const ses = new SESv2Client({ endpoint: url, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
      const account = await ses.send(new GetAccountCommand({}));
      ses.destroy();
      expect(account.SendQuota).toMatchObject({ MaxSendRate: 14, Max24HourSend: 50_000 });
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });
});
