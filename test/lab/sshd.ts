// An OpenSSH sshd per lab node: own config, host key and user key in the node's
// folder, key-only auth, listening on the node's 127.77.x.y address only.
// It runs inside the node's namespace, so a login sees that node's libvirt socket.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { isAlive, killAndWait, logTail, readPidFile, run, spawnDaemon, waitFor } from './procs.js';

export interface LabSshd {
  host: string;
  port: number;
  user: 'root';
  userKeyPath: string;
  userPubKey: string;
  hostKeyPub: string;
  knownHostsLine: string;
  pid: number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function freePort(host: string): Promise<number> {
  // Port 22 when we can (as on a real node); the address is the lab's own, so no other lab races us.
  if (await portFree(host, 22)) return 22;
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host, port: 0 }, () => {
      const a = srv.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.once('data', () => done(true)); // sshd greets first: proves it is sshd and ready
    s.once('error', () => done(false));
    s.setTimeout(2000, () => done(false));
  });
}

async function keygen(path: string, comment: string): Promise<void> {
  if (!existsSync(path)) await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], { timeoutMs: 15_000 });
}

export async function createSshd(o: { name: string; ip: string; dir: string; enterNamespace: string[]; owns?: (pid: number) => boolean }): Promise<LabSshd> {
  mkdirSync(o.dir, { recursive: true });
  // sshd's privilege-separation folder; /run is a tmpfs, so it may be gone since install-deps.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKey = join(o.dir, 'ssh_host_ed25519_key');
  const userKey = join(o.dir, 'id_ed25519');
  await keygen(hostKey, `vem-lab-host-${o.name}`);
  await keygen(userKey, `vem-lab-user-${o.name}`);
  const userPubKey = readFileSync(`${userKey}.pub`, 'utf8').trim();
  const hostKeyPub = readFileSync(`${hostKey}.pub`, 'utf8').trim();
  const authorized = join(o.dir, 'authorized_keys');
  writeFileSync(authorized, `${userPubKey}\n`, { mode: 0o600 });
  const port = await freePort(o.ip);
  const pidFile = join(o.dir, 'sshd.pid');
  const config = join(o.dir, 'sshd_config');
  writeFileSync(config, [
    `ListenAddress ${o.ip}:${port}`,
    `HostKey ${hostKey}`,
    `AuthorizedKeysFile ${authorized}`,
    `PidFile ${pidFile}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'UsePAM no',
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    'AllowTcpForwarding yes',
    'AllowStreamLocalForwarding yes',
    'StreamLocalBindUnlink yes',
    'MaxStartups 100:30:200',
    'MaxSessions 100',
    'Subsystem sftp internal-sftp',
    'LogLevel VERBOSE',
    // A non-root login for the tests of what needs root (test/lab/nonroot.ts): `nobody` with the
    // lab key. sshd reads AuthorizedKeysFile as the user logging in, and nobody may not read the
    // 0600 root-owned file, so its keys come from a command sshd runs as root instead. Its shell
    // is nologin until nonroot.ts gives it /bin/sh in the node's namespace, so this alone lets
    // nothing run. Match comes last: it applies to every line after it.
    'Match User nobody',
    '  AuthorizedKeysFile none',
    `  AuthorizedKeysCommand /bin/cat ${authorized}`,
    '  AuthorizedKeysCommandUser root',
    '',
  ].join('\n'));
  const [hostAlg, hostB64] = hostKeyPub.split(/\s+/);
  const knownHostsLine = `${port === 22 ? o.ip : `[${o.ip}]:${port}`} ${hostAlg ?? ''} ${hostB64 ?? ''}`;
  // For people driving the lab by hand: ssh -o UserKnownHostsFile=<this> -i <userKey> -p <port> root@<ip>
  writeFileSync(join(o.dir, 'known_hosts'), `${knownHostsLine}\n`);
  const log = join(o.dir, 'sshd.log');
  let pid = 0;

  const sshd: LabSshd = {
    host: o.ip, port, user: 'root', userKeyPath: userKey, userPubKey, hostKeyPub, knownHostsLine,
    get pid() { return pid; },
    async start() {
      if (isAlive(pid)) return;
      // -D: stay in the foreground so the PID we spawn is sshd itself; sshd needs an absolute path to re-exec.
      pid = spawnDaemon(o.enterNamespace[0] ?? 'nsenter', [...o.enterNamespace.slice(1), '/usr/sbin/sshd', '-D', '-e', '-f', config], log);
      try {
        await waitFor(`sshd on ${o.ip}:${port}`, 15_000, async () => {
          if (!isAlive(pid)) throw new Error('sshd exited');
          return canConnect(o.ip, port);
        }, 50);
      } catch (e) {
        throw new Error(`sshd of lab node ${o.name} did not start: ${(e as Error).message}\n--- ${log} (tail) ---\n${logTail(log)}`, { cause: e });
      }
    },
    async stop() {
      const p = pid || readPidFile(pidFile) || 0;
      // Sessions are children of the listener and outlive it: end them too.
      const children = p ? childrenOf(p) : [];
      // Only what is provably the node's: a recycled PID is a stranger.
      if (p) await killAndWait([p, ...children].filter((x) => (o.owns ? o.owns(x) : isAlive(x))), 5_000);
      pid = 0;
    },
  };
  await sshd.start();
  return sshd;
}

/** Direct and indirect children of a process, from /proc. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  let all: Array<[number, number]>;
  try {
    all = readProcParents();
  } catch {
    return out;
  }
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const [child, ppid] of all) {
      if (ppid === parent) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out;
}

function readProcParents(): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (const e of readdirProc()) {
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      pairs.push([Number(e), Number(rest[1])]);
    } catch {
      // gone meanwhile
    }
  }
  return pairs;
}

function readdirProc(): string[] {
  return readdirSyncSafe('/proc').filter((e) => /^\d+$/.test(e));
}

function readdirSyncSafe(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}
