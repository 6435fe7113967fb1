import { startSesEmulator } from '../../../local/ses';
import { parseDuration, VirtualClock } from '../../../local/ses/virtual-clock';

describe('VirtualClock', () => {
  it('reads durations as SES deadlines are written', () => {
    expect(parseDuration('72h')).toBe(72 * 3_600_000);
    expect(parseDuration('1d12h')).toBe(36 * 3_600_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('250ms')).toBe(250);
    for (const bad of ['', '72', 'h', '72x', '-1h', '1h then 2h'])
      expect(() => parseDuration(bad)).toThrow(RangeError);
  });

  it('adds every advance to the base clock and never goes back', () => {
    const clock = new VirtualClock(() => 1_000);
    expect(clock.advance('1s')).toBe(2_000);
    expect(clock.advance(500)).toBe(2_500);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(clock.now()).toBe(2_500);
  });

  it('is moved through POST /_local/clock and refuses what is not a duration', async () => {
    const emulator = await startSesEmulator({
      dkimKeyBits: 1024,
      clock: () => Date.parse('2026-01-01T00:00:00Z'),
    });
    try {
      const post = (body: unknown) =>
        fetch(`${emulator.url}/_local/clock`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const moved = await post({ advance: '72h' });
      expect(await moved.json()).toEqual({
        now: '2026-01-04T00:00:00.000Z',
        epochMs: Date.parse('2026-01-04T00:00:00Z'),
      });
      const refused = await post({ advance: 'soon' });
      expect(refused.status).toBe(400);
      expect(refused.headers.get('x-amzn-errortype')).toBe('BadRequestException');
      expect(await (await fetch(`${emulator.url}/_local/clock`)).json()).toMatchObject({
        now: '2026-01-04T00:00:00.000Z',
      });
    } finally {
      await emulator.stop();
    }
  });
});
