import { parseArgs } from 'node:util';
import { EVENTS_CHAOS, startSesEmulator } from './index';

/**
 * `npm run ses:local -- --port <n>`: runs the SES v2 emulator on 127.0.0.1 until interrupted.
 * `--port 0` (the default) picks a free port; the URL is printed either way.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      sandbox: { type: 'boolean', default: false },
      paused: { type: 'boolean', default: false },
      'max-send-rate': { type: 'string' },
      'max-24-hour-send': { type: 'string' },
      'sns-endpoint': { type: 'string' },
      'dns-server': { type: 'string', multiple: true },
      'data-dir': { type: 'string' },
      events: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'Usage: npm run ses:local -- [--port 0] [--sandbox] [--paused] [--max-send-rate 14] [--max-24-hour-send 50000]\n' +
        '       [--sns-endpoint http://127.0.0.1:4566] [--dns-server 127.0.0.1:5353] [--data-dir .local/ses]\n' +
        '       [--events ordered|chaos]   chaos: events late by up to 2 s, out of order, 1 in 10 twice\n',
    );
    return;
  }
  const number = (value: string | undefined, name: string): number | undefined => {
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`--${name} must be a non-negative number`);
    return parsed;
  };
  if (values.events !== undefined && values.events !== 'ordered' && values.events !== 'chaos') {
    throw new Error('--events must be ordered or chaos');
  }
  const maxSendRate = number(values['max-send-rate'], 'max-send-rate');
  const max24HourSend = number(values['max-24-hour-send'], 'max-24-hour-send');
  const emulator = await startSesEmulator({
    port: number(values.port, 'port') ?? 0,
    sandbox: values.sandbox,
    sendingEnabled: !values.paused,
    ...(maxSendRate !== undefined ? { maxSendRate } : {}),
    ...(max24HourSend !== undefined ? { max24HourSend } : {}),
    ...(values['sns-endpoint'] ? { snsEndpoint: values['sns-endpoint'] } : {}),
    ...(values['dns-server'] ? { dnsServers: values['dns-server'] } : {}),
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
    ...(values.events === 'chaos' ? { events: EVENTS_CHAOS } : {}),
  });
  process.stdout.write(`SES v2 emulator listening on ${emulator.url} (viewer: ${emulator.url}/_local/)\n`);
  const shutdown = () => {
    void emulator.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
