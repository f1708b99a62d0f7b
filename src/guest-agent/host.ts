/**
 * The guest agent's only door to the system it runs on (files, commands,
 * signals, statfs, interfaces), so reports and actions stay testable.
 */
import { spawn } from 'node:child_process';
import { promises as fsp, constants as fsc, closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { networkInterfaces, hostname, release, type NetworkInterfaceInfo } from 'node:os';
import { delimiter, join } from 'node:path';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface StatFs {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

export interface GuestHost {
  readText(path: string): Promise<string>;
  readBuffer(path: string): Promise<Buffer>;
  /** Synchronous reads, for /proc: hundreds of tiny files read faster in one tight loop than through the thread pool. */
  readTextSync(path: string): string;
  readBufferSync(path: string): Buffer;
  /**
   * A procfs file in as few system calls as possible (open, read, close; no fstat, no
   * read to EOF): in a TCG guest every system call is dear. Text up to 64 KiB.
   */
  readProcSync(path: string): string;
  /** Owner uid of a path (for /proc/PID: the process's effective uid, as ps reads it). */
  ownerUidSync(path: string): number;
  /** Names in a directory, [] when it does not exist. */
  listDir(path: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
  /** Replaces a file atomically (temp file + rename), keeping its mode. */
  writeTextAtomic(path: string, text: string, mode?: number): Promise<void>;
  appendText(path: string, text: string): Promise<void>;
  readLink(path: string): Promise<string | null>;
  statfs(path: string): Promise<StatFs>;
  /** The absolute path of an executable on PATH (plus the sbin folders), or null. */
  which(cmd: string): Promise<string | null>;
  /** Runs a command without a shell; `input` goes to stdin (passwords travel only this way). */
  exec(cmd: string, args: string[], o?: { input?: string; timeoutMs?: number }): Promise<ExecResult>;
  kill(pid: number, signal: NodeJS.Signals | number): void;
  networkInterfaces(): NodeJS.Dict<NetworkInterfaceInfo[]>;
  hostname(): string;
  kernelRelease(): string;
  ownPid(): number;
}

const procBuf = Buffer.alloc(64 * 1024);

const SEARCH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The real machine. `root` prefixes every file path (tests point it at a fixture tree; commands are not rerooted). */
export function realHost(root = '/'): GuestHost {
  const at = (p: string): string => (root === '/' ? p : join(root, p));
  const whichCache = new Map<string, string | null>();
  return {
    readText: (p) => fsp.readFile(at(p), 'utf8'),
    readBuffer: (p) => fsp.readFile(at(p)),
    readTextSync: (p) => readFileSync(at(p), 'utf8'),
    readBufferSync: (p) => readFileSync(at(p)),
    ownerUidSync: (p) => statSync(at(p)).uid,
    readProcSync(p) {
      const fd = openSync(at(p), 'r');
      try {
        let n = 0;
        for (;;) {
          const r = readSync(fd, procBuf, n, procBuf.length - n, null);
          n += r;
          // procfs hands a small file over in one read: a short read is the end.
          if (r === 0 || n < procBuf.length) break;
        }
        return procBuf.toString('utf8', 0, n);
      } finally {
        closeSync(fd);
      }
    },
    async listDir(p) {
      try {
        return await fsp.readdir(at(p));
      } catch {
        return [];
      }
    },
    async exists(p) {
      try {
        await fsp.access(at(p), fsc.F_OK);
        return true;
      } catch {
        return false;
      }
    },
    async writeTextAtomic(p, text, mode) {
      const target = at(p);
      let m = mode;
      if (m === undefined) m = await fsp.stat(target).then((s) => s.mode & 0o7777, () => 0o644);
      const tmp = `${target}.vem-${process.pid}`;
      await fsp.writeFile(tmp, text, { mode: m });
      await fsp.chmod(tmp, m);
      await fsp.rename(tmp, target);
    },
    appendText: (p, text) => fsp.appendFile(at(p), text, { mode: 0o600 }),
    async readLink(p) {
      try {
        return await fsp.readlink(at(p));
      } catch {
        return null;
      }
    },
    async statfs(p) {
      const s = await fsp.statfs(at(p));
      return { bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree };
    },
    async which(cmd) {
      if (whichCache.has(cmd)) return whichCache.get(cmd) ?? null;
      const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean), ...SEARCH];
      let found: string | null = null;
      for (const d of dirs) {
        try {
          await fsp.access(join(d, cmd), fsc.X_OK);
          found = join(d, cmd);
          break;
        } catch {
          /* next */
        }
      }
      whichCache.set(cmd, found);
      return found;
    },
    exec(cmd, args, o = {}) {
      return new Promise((resolve) => {
        const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
        let stdout = '';
        let stderr = '';
        const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
        child.stdin.on('error', () => undefined);
        child.on('error', (e) => {
          clearTimeout(timer);
          resolve({ code: 127, stdout, stderr: stderr + e.message });
        });
        child.on('close', (code, sig) => {
          clearTimeout(timer);
          resolve({ code: code ?? (sig ? 128 : 1), stdout, stderr: sig ? `${stderr}killed by ${sig}` : stderr });
        });
        child.stdin.end(o.input ?? '');
      });
    },
    kill: (pid, sig) => process.kill(pid, sig),
    networkInterfaces: () => networkInterfaces(),
    hostname: () => hostname(),
    kernelRelease: () => release(),
    ownPid: () => process.pid,
  };
}
