// Starts test/lab/fault-agent.js inside a lab node's namespace and hands back its URL and PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabNode } from './lab.js';

export interface FaultAgent {
  url: string;
  pid: number;
  proc: ChildProcess;
  stderr(): string;
  /** SIGKILL (a crash) or SIGTERM (a clean stop); resolves when it exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startFaultAgent(node: LabNode, uri: string, options: object = {}): Promise<FaultAgent> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'fault-agent.js');
  const argv = [...(node.enterNamespace ?? []), process.execPath, script, uri, `${node.ip}:0`, JSON.stringify(options)];
  const proc = spawn(argv[0] ?? 'nsenter', argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fault agent on ${node.name} did not start: ${err}`)), 30_000);
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.split('\n')[0] ?? '');
      }
    });
    proc.once('exit', (c) => {
      clearTimeout(timer);
      reject(new Error(`fault agent on ${node.name} exited (${c}): ${err}`));
    });
  });
  const [url = '', pid = '0'] = line.split(' ');
  return {
    url,
    pid: Number(pid),
    proc,
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
