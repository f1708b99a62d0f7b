// Process helpers for the lab: everything is found and ended by PID, never by name,
// because other labs (other test files, other people) run the same binaries here.
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** Our environment with the sbin folders on PATH (daemons live there; a plain user PATH lacks them). */
export function labEnv(): NodeJS.ProcessEnv {
  // VEM_LAB_PATH replaces the search path outright: tests use it to show what a machine without libvirtd says.
  const only = process.env['VEM_LAB_PATH'];
  if (only !== undefined) return { ...process.env, PATH: only };
  const path = process.env['PATH'] ?? '/usr/bin:/bin';
  const extra = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'].filter((d) => !path.split(':').includes(d));
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: [path, ...extra].join(':') };
  delete env['LIBVIRT_DEFAULT_URI'];
  return env;
}

export class LabCommandError extends Error {
  constructor(message: string, readonly stdout: string, readonly stderr: string, readonly code: number | string | null) {
    super(message);
    this.name = 'LabCommandError';
  }
}

/** Runs a command with a timeout and returns stdout; throws with stderr in the message. */
export function run(cmd: string, args: string[], o: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: o.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024, env: o.env ?? labEnv(), killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string | null };
        const why = e.killed ? `timed out after ${o.timeoutMs ?? 30_000} ms` : `exit ${String(e.code)}`;
        reject(new LabCommandError(`${cmd} ${args.join(' ')}: ${why}: ${stderr.trim() || stdout.trim() || e.message}`, stdout, stderr, e.code ?? null));
      } else {
        resolve(stdout);
      }
    });
    if (o.input !== undefined) child.stdin?.end(o.input);
    else child.stdin?.end();
  });
}

/** Starts a long-lived process detached (own process group, survives our exit), output to a log file. */
export function spawnDaemon(cmd: string, args: string[], logPath: string, env?: NodeJS.ProcessEnv): number {
  const fd = openSync(logPath, 'a');
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: env ?? labEnv() });
    if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
    child.on('error', () => undefined);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie is as good as gone for us: it holds no resources but its PID.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns a value (not undefined/false) or the time is up. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => T | undefined | false | Promise<T | undefined | false>, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      const detail = lastErr instanceof Error ? `: ${lastErr.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(intervalMs);
  }
}

/** The mount namespace id of a process ("mnt:[4026532...]"), or undefined if it is gone. */
export function mountNamespaceOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return undefined;
  }
}

/**
 * Every live process in the given mount namespace whose mount table shows `marker` (a
 * unique piece of the node's folder). The kernel reuses namespace ids once a namespace
 * is gone, so the id alone could point at someone else's processes.
 */
export function processesInNamespace(ns: string, marker: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    if (mountNamespaceOf(pid) === ns && isAlive(pid) && mountsShow(pid, marker)) out.push(pid);
  }
  return out;
}

/** Whether the process's mount table names `marker` (our bind-mount sources do). */
export function mountsShow(pid: number, marker: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/mountinfo`, 'utf8').includes(marker);
  } catch {
    return false;
  }
}

export function readPidFile(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGTERM the PIDs, wait, then SIGKILL what is left; resolves when all are gone. */
export async function killAndWait(pids: number[], graceMs = 5000): Promise<void> {
  const live = pids.filter(isAlive);
  for (const p of live) signal(p, 'SIGTERM');
  try {
    await waitFor('processes to exit', graceMs, () => live.every((p) => !isAlive(p)), 50);
    return;
  } catch {
    // fall through to SIGKILL
  }
  for (const p of live) if (isAlive(p)) signal(p, 'SIGKILL');
  await waitFor(`PIDs ${live.filter(isAlive).join(',')} to die after SIGKILL`, 5000, () => live.every((p) => !isAlive(p)), 50);
}

/** Last lines of a log file, for error messages. */
export function logTail(path: string, lines = 15): string {
  try {
    const all = readFileSync(path, 'utf8').trimEnd().split('\n');
    return all.slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
