// Runs a Node.js script of the tests inside a lab node's namespace (as a program on that
// node would run) and waits for the first line it prints, its "ready" line.
import { spawn, type ChildProcess } from 'node:child_process';
import type { LabNode } from './lab.js';

export interface NodeScript {
  proc: ChildProcess;
  /** The first line the script printed. */
  line: string;
  stderr(): string;
  /** Ends it with `signal` (SIGKILL after 5 s); resolves when it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startNodeScript(node: LabNode, script: string, args: string[], what: string): Promise<NodeScript> {
  const argv = [...(node.enterNamespace ?? []), process.execPath, script, ...args];
  const proc = spawn(argv[0] ?? 'nsenter', argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} on ${node.name} did not start: ${err}`)), 30_000);
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.split('\n')[0] ?? '');
      }
    });
    proc.once('exit', (c) => {
      clearTimeout(timer);
      reject(new Error(`${what} on ${node.name} exited (${c}): ${err}`));
    });
  });
  return {
    proc,
    line,
    stderr: () => err,
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((r) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return r();
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        proc.once('exit', () => {
          clearTimeout(t);
          r();
        });
        proc.kill(signal);
      }),
  };
}
