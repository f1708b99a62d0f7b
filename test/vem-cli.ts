// The `vem` command as a child process, for the tests that run the CLI as a user would:
// one run to its exit, or a `vem agent` left serving until the test ends it.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/src/cli.js, beside this file's dist/test. */
export const VEM_CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli.js');

export interface VemRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `vem ARGS` to its exit; a signal or spawn failure counts as code 1. */
export function runVem(args: string[], env?: NodeJS.ProcessEnv): Promise<VemRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [VEM_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('error', (e) => resolve({ code: 1, stdout, stderr: stderr + e.message }));
    p.once('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

export interface VemAgent {
  proc: ChildProcess;
  /** The address from its "serving URL" line (http(s):// or unix:). */
  url: string;
  stderr(): string;
}

/**
 * Starts `vem agent ARGS` and resolves once it says where it serves; rejects with
 * its output if it exits first or says nothing within `timeoutMs`.
 */
export async function startVemAgent(args: string[], timeoutMs = 20_000): Promise<VemAgent> {
  const proc = spawn(process.execPath, [VEM_CLI, 'agent', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const end = Date.now() + timeoutMs;
  for (;;) {
    const url = /serving (\S+)/.exec(err)?.[1];
    if (url) return { proc, url, stderr: () => err };
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`vem agent exited (${proc.exitCode ?? proc.signalCode}) before serving: ${err}`);
    if (Date.now() > end) {
      proc.kill('SIGKILL');
      throw new Error(`vem agent did not start within ${timeoutMs} ms: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
