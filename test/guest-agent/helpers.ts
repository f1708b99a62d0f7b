/** Shared by the guest-agent tests: a real `vem guest-agent` child process on a unix socket standing in for the channel. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function cliPath(): string {
  // dist/test/guest-agent/helpers.js -> dist/src/cli.js
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli.js');
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `vem-guest-${tag}-`));
}

export interface ChildAgent {
  proc: ChildProcess;
  socket: string;
  stderr(): string;
  kill(sig?: NodeJS.Signals): Promise<void>;
}

/** Starts `vem guest-agent --port unix:SOCK` and waits for its socket. */
export async function startChildAgent(dir: string, extra: string[] = [], socket = join(dir, 'channel.sock')): Promise<ChildAgent> {
  const proc = spawn(process.execPath, [cliPath(), 'guest-agent', '--port', `unix:${socket}`, '--policy', join(dir, 'policy.json'), '--log', join(dir, 'actions.log'), ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const t0 = Date.now();
  const connects = (): Promise<boolean> =>
    new Promise((r) => {
      const c = net.connect(socket);
      c.once('connect', () => {
        c.destroy();
        r(true);
      });
      c.once('error', () => r(false));
    });
  // A socket file left by a killed agent exists but refuses: wait for one that accepts.
  while (!existsSync(socket) || !(await connects())) {
    if (proc.exitCode !== null) throw new Error(`guest agent exited: ${err}`);
    if (Date.now() - t0 > 10_000) throw new Error(`guest agent socket did not appear: ${err}`);
    await new Promise((r) => setTimeout(r, 30));
  }
  return {
    proc,
    socket,
    stderr: () => err,
    kill: (sig = 'SIGTERM') =>
      new Promise<void>((r) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return r();
        proc.once('exit', () => r());
        proc.kill(sig);
      }),
  };
}
