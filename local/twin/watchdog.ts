import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';

/**
 * Reads instructions (`{"kill":pid}`, `{"remove":path}`, one JSON per line) until its stdin closes, which happens
 * when the process that started it ends in any way, SIGKILL included; then it carries them out and exits.
 */
const WATCHDOG = `const { rmSync } = require('node:fs');
const kill = [], remove = [];
let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  for (let end = buffered.indexOf('\\n'); end >= 0; end = buffered.indexOf('\\n')) {
    const line = JSON.parse(buffered.slice(0, end));
    buffered = buffered.slice(end + 1);
    if (line.kill) kill.push(line.kill);
    if (line.remove) remove.push(line.remove);
  }
});
process.stdin.on('close', () => {
  for (const pid of kill) { try { process.kill(pid, 'SIGKILL'); } catch {} }
  for (const path of remove) { try { rmSync(path, { recursive: true, force: true }); } catch {} }
  process.exit(0);
});`;

/** Cleans up after the twin when its process dies without `stop()` (a test runner ending a worker outright). */
export interface Watchdog {
  /** Kill this process (the DynamoDB Local JVM) if we die. */
  killOnExit(pid: number | undefined): void;
  /** Remove this file or folder (the endpoints file, a temporary data folder) if we die. */
  removeOnExit(path: string): void;
  /** `stop()` did the cleaning: end the watchdog without it doing anything. */
  dismiss(): void;
}

/**
 * A small Node process holding the read end of a pipe from this one, so that a JVM or a stale endpoints file never
 * outlives the twin, even when its process is killed with SIGKILL. It keeps neither this process nor its event loop
 * alive.
 */
export function startWatchdog(): Watchdog {
  const child: ChildProcess = spawn(process.execPath, ['-e', WATCHDOG], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  child.on('error', () => undefined);
  child.stdin?.on('error', () => undefined);
  child.unref();
  (child.stdin as Socket | null)?.unref();
  const send = (instruction: object) => child.stdin?.write(`${JSON.stringify(instruction)}\n`);
  return {
    killOnExit: (pid) => {
      if (pid !== undefined) send({ kill: pid });
    },
    removeOnExit: (path) => send({ remove: path }),
    dismiss: () => {
      child.kill('SIGKILL');
    },
  };
}
