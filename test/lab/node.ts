// One lab node: a private mount+UTS namespace whose libvirt folders are bind-mounted
// from the node's own folder, with virtlogd and a libvirtd listening on the node's
// unix socket and on qemu+tcp://IP/system. Everything in that namespace is ours.
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { cacheRoot } from './guest-image.js';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { isAlive, killAndWait, logTail, mountNamespaceOf, mountsShow, processesInNamespace, readPidFile, run, spawnDaemon, waitFor } from './procs.js';

/** Host folders each node gets a private copy of (bind mounts inside its namespace). */
const PRIVATE_DIRS: Array<[sub: string, target: string]> = [
  ['run', '/var/run/libvirt'],
  ['lib', '/var/lib/libvirt'],
  ['etc', '/etc/libvirt'],
  ['log', '/var/log/libvirt'],
  ['cache', '/var/cache/libvirt'],
];

export interface NodeState {
  name: string;
  ip: string;
  dir: string;
  holderPid: number;
  namespace: string;
  hostUuid: string;
}

export interface NodeOptions {
  /** Let libvirt use cgroups (CPU shares, memory limits). Off by default: guests of the
   *  same name and id on two nodes or labs would share a cgroup folder. */
  cgroups?: boolean;
  /** Prepare the namespace for libvirt's LXC driver (installs nothing): this machine mounts
   *  the hybrid cgroup-v2 tree at /sys/fs/cgroup/unified, which libvirt 9.0's LXC controller
   *  cannot bind into a container, so it is unmounted inside the node's namespace only. */
  lxc?: boolean;
}

export function libvirtdConf(ip: string, hostUuid: string): string {
  return [
    'listen_tls = 0',
    'listen_tcp = 1',
    `listen_addr = "${ip}"`,
    'auth_tcp = "none"',
    'auth_unix_rw = "none"',
    'auth_unix_ro = "none"',
    `host_uuid = "${hostUuid}"`,
    'max_clients = 500',
    'max_anonymous_clients = 100',
    'max_workers = 40',
    'log_outputs = "3:stderr"',
    '',
  ].join('\n');
}

export function qemuConf(ip: string, o: NodeOptions): string {
  return [
    'user = "root"',
    'group = "root"',
    'security_driver = "none"',
    'dynamic_ownership = 0',
    `migration_address = "${ip}"`,
    `migration_host = "${ip}"`,
    `vnc_listen = "${ip}"`,
    `spice_listen = "${ip}"`,
    // No per-guest mount namespace: QEMU stays in the node's namespace, where stop() finds it.
    'namespaces = [ ]',
    ...(o.cgroups === true ? [] : ['cgroup_controllers = [ ]']),
    '',
  ].join('\n');
}

function isQemu(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('/usr/bin/qemu-system') || readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('qemu');
  } catch {
    return false;
  }
}

function isLxcController(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]?.endsWith('/libvirt_lxc') === true;
  } catch {
    return false;
  }
}

// libvirtd probes QEMU (about 4.5 s) on a node's first QEMU call and caches the answer;
// nodes share it through the lab cache. libvirt itself re-probes when QEMU, libvirt or
// the kernel changed, so a stale copy costs only the probe.
function sharedCapabilitiesDir(): string {
  return join(cacheRoot(), 'qemu-capabilities');
}

function seedQemuCapabilities(nodeDir: string): void {
  try {
    const files = readdirSync(sharedCapabilitiesDir()).filter((f) => f.endsWith('.xml'));
    if (files.length === 0) return;
    mkdirSync(nodeDir, { recursive: true });
    for (const f of files) copyFileSync(join(sharedCapabilitiesDir(), f), join(nodeDir, f));
  } catch {
    // no shared copy yet
  }
}

function keepQemuCapabilities(nodeDir: string): void {
  try {
    const files = readdirSync(nodeDir).filter((f) => f.endsWith('.xml'));
    if (files.length === 0) return;
    mkdirSync(sharedCapabilitiesDir(), { recursive: true });
    for (const f of files) {
      const tmp = join(sharedCapabilitiesDir(), `.${f}.${process.pid}`);
      copyFileSync(join(nodeDir, f), tmp);
      renameSync(tmp, join(sharedCapabilitiesDir(), f));
    }
  } catch {
    // best effort: the next lab probes again
  }
}

/** A piece of the node's folder path that only this node's bind mounts show (the lab folder is unique). */
export function nodeMarker(dir: string): string {
  return `${dir.split('/').filter(Boolean).slice(-3).join('/')}/`;
}

export class LabNodeProcess {
  private libvirtdPidValue = 0;

  constructor(readonly state: NodeState) {}

  get socketPath(): string {
    return join(this.state.dir, 'run', 'libvirt-sock');
  }

  /** The prefix `vem deploy --node-prefix` gets on this node: a folder of the lab, bind-mounted (like
   *  libvirt's) from deployBacking inside the node's namespace only, so what deploy writes there is
   *  the node's alone and nothing lands in this machine's /etc, /usr or /run. */
  get deployPrefix(): string {
    return join(this.state.dir, 'deploy');
  }

  /** Where the files under deployPrefix really are (readable from the host, for the tests' checks). */
  get deployBacking(): string {
    return join(this.state.dir, 'deploy-files');
  }

  get enterNamespace(): string[] {
    return ['nsenter', '-t', String(this.state.holderPid), '-m', '-u'];
  }

  get qemuUnixUri(): string {
    return `qemu+unix:///system?socket=${this.socketPath}`;
  }

  /** libvirt's LXC driver on this node (served once libvirt-daemon-driver-lxc is installed). */
  get lxcUnixUri(): string {
    return `lxc+unix:///?socket=${this.socketPath}`;
  }

  get libvirtdLog(): string {
    return join(this.state.dir, 'libvirtd.log');
  }

  libvirtdPid(): number {
    return this.libvirtdPidValue || readPidFile(join(this.state.dir, 'run', 'libvirtd.pid')) || 0;
  }

  /** Makes the folders and config, then the namespace with its bind mounts. */
  static async create(name: string, ip: string, dir: string, o: NodeOptions): Promise<LabNodeProcess> {
    for (const [sub] of PRIVATE_DIRS) mkdirSync(join(dir, sub), { recursive: true });
    for (const [, target] of PRIVATE_DIRS) mkdirSync(target, { recursive: true }); // mount points only
    mkdirSync(join(dir, 'lib', 'qemu'), { recursive: true });
    mkdirSync(join(dir, 'deploy'), { recursive: true });
    mkdirSync(join(dir, 'deploy-files'), { recursive: true });
    seedQemuCapabilities(join(dir, 'cache', 'qemu', 'capabilities'));
    const hostUuid = randomUUID();
    writeFileSync(join(dir, 'etc', 'libvirtd.conf'), libvirtdConf(ip, hostUuid));
    writeFileSync(join(dir, 'etc', 'qemu.conf'), qemuConf(ip, o));
    const ready = join(dir, 'ns-ready');
    const script = [
      'set -e',
      `hostname ${name}`,
      ...PRIVATE_DIRS.map(([sub, target]) => `mount --bind ${join(dir, sub)} ${target}`),
      `mount --bind ${join(dir, 'deploy-files')} ${join(dir, 'deploy')}`,
      ...(o.lxc === true ? ['if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi'] : []),
      `touch ${ready}`,
      'exec sleep infinity',
    ].join('\n');
    const holderLog = join(dir, 'namespace.log');
    const holderPid = spawnDaemon('unshare', ['--mount', '--uts', '--propagation', 'private', 'bash', '-c', script], holderLog);
    await waitFor(`node ${name} namespace (log: ${holderLog})`, 10_000, () => {
      if (!isAlive(holderPid)) throw new Error(`namespace holder exited: ${logTail(holderLog)}`);
      return existsSync(ready);
    }, 20);
    const namespace = mountNamespaceOf(holderPid);
    if (namespace === undefined || namespace === mountNamespaceOf(process.pid)) throw new Error(`node ${name}: no private mount namespace`);
    if (!mountsShow(holderPid, nodeMarker(dir))) throw new Error(`node ${name}: its bind mounts are not visible in the namespace`);
    return new LabNodeProcess({ name, ip, dir, holderPid, namespace, hostUuid });
  }

  async startDaemons(): Promise<void> {
    await this.startVirtlogd();
    await this.startLibvirtd();
  }

  private async startVirtlogd(): Promise<void> {
    const log = join(this.state.dir, 'virtlogd.log');
    const pid = spawnDaemon('nsenter', [...this.enterNamespace.slice(1), 'virtlogd', '-p', '/var/run/libvirt/virtlogd.pid'], log);
    await waitFor(`virtlogd of ${this.state.name} (log: ${log})`, 10_000, () => {
      if (!isAlive(pid)) throw new Error(`virtlogd exited: ${logTail(log)}`);
      return existsSync(join(this.state.dir, 'run', 'virtlogd-sock'));
    }, 20);
  }

  async startLibvirtd(): Promise<void> {
    if (isAlive(this.libvirtdPidValue)) return;
    const log = this.libvirtdLog;
    const pid = spawnDaemon('nsenter', [...this.enterNamespace.slice(1), 'libvirtd', '--listen', '-f', '/etc/libvirt/libvirtd.conf', '-p', '/var/run/libvirt/libvirtd.pid'], log);
    this.libvirtdPidValue = pid;
    try {
      await waitFor(`libvirtd of ${this.state.name}`, 45_000, async () => {
        if (!isAlive(pid)) throw new Error('libvirtd exited');
        if (!existsSync(this.socketPath)) return false;
        await run('virsh', ['-c', this.qemuUnixUri, 'uri'], { timeoutMs: 10_000 });
        return true;
      }, 100);
    } catch (e) {
      throw new Error(`libvirtd of lab node ${this.state.name} (${this.state.ip}) did not start: ${(e as Error).message}\n--- ${log} (tail) ---\n${logTail(log, 25)}`, { cause: e });
    }
  }

  async stopLibvirtd(): Promise<void> {
    const pid = this.libvirtdPid();
    if (pid) await killAndWait([pid], 10_000);
    this.libvirtdPidValue = 0;
  }

  /** Ends every process in the node's namespace (libvirtd first, then guests, virtlogd, sshd, the holder). */
  async stop(): Promise<void> {
    const { holderPid } = this.state;
    // A container's init is its PID namespace's init: it ignores SIGTERM and outlives a
    // killed controller (reparented to PID 1), so take the PIDs now and end them last.
    const containerInits = this.lxcInitPids();
    await this.destroyGuests();
    // Only PIDs proven ours (our namespace and our bind mounts): a recycled PID or namespace id is someone else's.
    const libvirtd = this.libvirtdPid();
    if (libvirtd && this.owns(libvirtd)) await killAndWait([libvirtd], 10_000);
    await killAndWait(this.livePids().filter((p) => p !== holderPid), 5_000);
    if (this.owns(holderPid)) await killAndWait([holderPid], 5_000);
    const left = this.livePids();
    if (left.length > 0) await killAndWait(left, 2_000);
    await killAndWait(containerInits, 200);
    keepQemuCapabilities(join(this.state.dir, 'cache', 'qemu', 'capabilities'));
  }

  /** Whether a PID is a process of this node (in its namespace, with its mounts). */
  owns(pid: number): boolean {
    return isAlive(pid) && mountNamespaceOf(pid) === this.state.namespace && mountsShow(pid, nodeMarker(this.state.dir));
  }

  /** Lets libvirt end its guests itself, so it also removes what it made for them (cgroups). */
  private async destroyGuests(): Promise<void> {
    if (this.guestPids().length === 0 || !isAlive(this.libvirtdPid())) return;
    const uris = [...(this.qemuPids().length > 0 ? [this.qemuUnixUri] : []), ...(this.lxcControllerPids().length > 0 ? [this.lxcUnixUri] : [])];
    await Promise.all(uris.map(async (uri) => {
      try {
        const names = (await run('virsh', ['-q', '-c', uri, 'list', '--name'], { timeoutMs: 10_000 })).split('\n').map((l) => l.trim()).filter(Boolean);
        await Promise.all(names.map((n) => run('virsh', ['-q', '-c', uri, 'destroy', n], { timeoutMs: 10_000 }).catch(() => undefined)));
      } catch {
        // libvirtd not answering: the PIDs are ended below anyway
      }
    }));
  }

  /** Synchronous last resort (process exit): SIGKILL everything of the node. */
  killNow(): void {
    for (const pid of [...this.lxcInitPids(), ...this.livePids()]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }

  /** PIDs of everything still alive in the node's namespace, guests included (empty once stopped). */
  livePids(): number[] {
    return [...new Set([...processesInNamespace(this.state.namespace, nodeMarker(this.state.dir)), ...this.guestPids()])];
  }

  /** Live guest processes: QEMU, and the LXC driver's libvirt_lxc controllers (a controller
   *  outlives libvirtd when its container was not destroyed, so stop() ends it by PID). */
  guestPids(): number[] {
    return [...this.qemuPids(), ...this.lxcControllerPids()];
  }

  /** libvirt_lxc controllers from the pid files in run/lxc, each proven to be this node's. */
  lxcControllerPids(): number[] {
    // A controller unshares its mount namespace, so owns() (same namespace) never held for it:
    // stop() skipped the containers and leaked them. Its copy of the node's mounts is the proof.
    return this.pidsIn('lxc', isLxcController, (p) => isAlive(p) && mountsShow(p, nodeMarker(this.state.dir)));
  }

  /** The init process of each container this node's controllers run (a controller's children). */
  lxcInitPids(): number[] {
    return this.lxcControllerPids().flatMap((c) => {
      try {
        return readFileSync(`/proc/${c}/task/${c}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      } catch {
        return [];
      }
    });
  }

  qemuPids(): number[] {
    return this.pidsIn('qemu', isQemu);
  }

  private pidsIn(sub: string, is: (pid: number) => boolean, ours: (pid: number) => boolean = (p) => this.owns(p)): number[] {
    const dir = join(this.state.dir, 'run', sub);
    let names: string[];
    try {
      names = readdirSync(dir).filter((f) => f.endsWith('.pid'));
    } catch {
      return [];
    }
    return names
      .map((f) => readPidFile(join(dir, f)))
      .filter((p): p is number => p !== undefined && is(p) && ours(p));
  }
}
