import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';

/** Every process below `pid`, from `ps` (Linux and macOS). */
export function descendants(pid: number): number[] {
  const rows = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of rows) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Ports of every endpoint `endpoints` lists (URLs and host:port forms, anywhere in the object). */
export function endpointPorts(endpoints: unknown): number[] {
  const text = JSON.stringify(endpoints);
  return [...new Set([...text.matchAll(/127\.0\.0\.1:(\d+)/g)].map((match) => Number(match[1])))];
}

/** Whether nothing accepts a TCP connection on 127.0.0.1:`port`. */
export const refuses = (port: number): Promise<boolean> =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
