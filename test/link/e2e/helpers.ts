// Test helpers for the transport's end-to-end tests: a private HOME, a real ssh-agent, and
// which TCP connections a process holds (to prove a ProxyJump really went through the jump sshd).
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NodeLink, LinkState } from '../../../src/link/index.js';

const run = promisify(execFile);

/** A fresh HOME with ~/.ssh (0700): the real ~/.ssh is never read or written by these tests. */
export function makeHome(prefix: string): { home: string; ssh: string; cleanup(): void } {
  const home = mkdtempSync(join(tmpdir(), `vem-transport-${prefix}-`));
  const ssh = join(home, '.ssh');
  mkdirSync(ssh, { mode: 0o700 });
  return { home, ssh, cleanup: () => rmSync(home, { recursive: true, force: true }) };
}

export function writeKnownHosts(path: string, lines: string[]): void {
  writeFileSync(path, lines.join('\n') + '\n', { mode: 0o600 });
}

/** A real ssh-agent in the foreground (-D) on its own socket, ended by its PID. */
export async function startSshAgent(dir: string): Promise<{ socket: string; pid: number; add(key: string): Promise<void>; stop(): void }> {
  const socket = join(dir, `agent-${process.pid}-${Date.now()}.sock`);
  const child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: ['ignore', 'ignore', 'ignore'] });
  const pid = child.pid ?? 0;
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 20));
  if (!existsSync(socket)) {
    child.kill();
    throw new Error('ssh-agent did not create its socket');
  }
  return {
    socket,
    pid,
    async add(key: string) {
      await run('ssh-add', [key], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
    },
    stop() {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}

/** Resolves with the first state in `want` the link reaches (or is in), rejects after ms. */
export function waitState(link: NodeLink, want: LinkState[], ms: number): Promise<LinkState> {
  if (want.includes(link.state)) return Promise.resolve(link.state);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`link ${link.name} stayed ${link.state} (${link.detail ?? ''}), wanted ${want.join('|')}`)), ms);
    const cb = (s: LinkState): void => {
      if (want.includes(s)) {
        clearTimeout(t);
        link.off?.('state', cb);
        resolve(s);
      }
    };
    link.on('state', cb);
  });
}

function hexAddr(ip: string, port: number): string {
  const ipHex = ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0')).reverse().join('').toUpperCase();
  return `${ipHex}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
}

/** True when one of `pids` holds an established TCP connection to ip:port (from /proc, no tools needed). */
export function holdsConnectionTo(pids: number[], ip: string, port: number): boolean {
  return connectionsTo(pids, ip, port) > 0;
}

/** How many established TCP connections to ip:port the processes hold. */
export function connectionsTo(pids: number[], ip: string, port: number): number {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m?.[1]) inodes.add(m[1]);
      } catch {
        // closed meanwhile
      }
    }
  }
  const want = hexAddr(ip, port);
  const rows = readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1);
  return rows.filter((r) => {
    const f = r.trim().split(/\s+/);
    return f[2] === want && f[3] === '01' && f[9] !== undefined && inodes.has(f[9]);
  }).length;
}

/** Direct and indirect children of a process (sshd's per-connection processes). */
export function descendantsOf(pid: number): number[] {
  const pairs: Array<[number, number]> = [];
  for (const e of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      pairs.push([Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift();
    for (const [c, pp] of pairs) {
      if (pp !== p) continue;
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}
