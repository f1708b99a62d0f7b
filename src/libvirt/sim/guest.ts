/**
 * SimGuest: the inside of a simulated VM (processes, accounts, services, OS,
 * filesystems, interfaces) for the agent's guest.* relay in demo mode. Every
 * answer carries simulated: true. Actions obey a simulated policy
 * (the demo allows all; readOnly refuses every change).
 */
import { createHash, randomBytes } from 'node:crypto';
import { VemError } from '../../common/errors.js';
import type { GuestActionRecord, GuestFilesystem, GuestGroup, GuestInterface, GuestOsInfo, GuestProcess, GuestService, GuestSession, GuestUser, GuestVm } from './guest-types.js';
import { baseProcesses, baseServices, roleOf, roleProcesses, SYSTEM_ACCOUNTS, type ProcTemplate } from './guest-data.js';
import { hashNoise, hashString } from './rng.js';
import { guestFilesystems, guestInterfaces } from './guest-system.js';

export type { GuestActionRecord, GuestFilesystem, GuestGroup, GuestInterface, GuestOsInfo, GuestProcess, GuestService, GuestSession, GuestUser, GuestVm } from './guest-types.js';

export interface GuestPolicy {
  /** Refuse every action (the real guest agent's default). */
  readOnly: boolean;
  /** Finer control: return false to refuse one action ('signal', 'user.add', 'service.restart', ...). */
  allow?: (action: string, target: string) => boolean;
}

export type GuestErrorCode = 'unavailable' | 'denied' | 'not-found' | 'invalid' | 'exists';

/** A refused or impossible guest action. `code` is the XML-RPC fault code the relay sends (403 refused by policy, 404 no agent); `reason` says which. */
export class SimGuestError extends VemError {
  readonly code: number;
  constructor(readonly reason: GuestErrorCode, message: string) {
    super(message);
    this.code = reason === 'denied' ? 403 : reason === 'unavailable' ? 404 : 0;
  }
}

type Sim<T> = T & { simulated: true };
interface Proc { pid: number; ppid: number; user: string; stopped: boolean; rssKiB: number; startSec: number; name: string; command: string; weight: number; service?: string }
interface Account { name: string; uid: number; gid: number; gecos: string; home: string; shell: string; locked: boolean; hasPassword: boolean; hash?: string }
interface Service { name: string; description: string; state: 'running' | 'stopped' | 'failed'; enabled: boolean; mainPid: number }

const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, USR1: 10, USR2: 12, TERM: 15, CONT: 18, STOP: 19 };
const NAME_RE = /^[a-z_][a-z0-9_-]{0,31}$/;
const ACTIONS = ['signal', 'user.add', 'user.remove', 'user.lock', 'user.unlock', 'user.setPassword', 'service.start', 'service.stop', 'service.restart', 'service.enable', 'service.disable'];
const SIM_AGENT_VERSION = '0.1.0-simulated';

export class SimGuest {
  readonly simulated = true;
  private procs: Proc[] = [];
  private nextPid = 1;
  private readonly accounts = new Map<string, Account>();
  private readonly groupTable = new Map<string, GuestGroup>();
  private readonly serviceTable = new Map<string, Service>();
  private readonly log: GuestActionRecord[] = [];
  private bootAt: number;
  private readonly role: string;

  constructor(private dom: GuestVm, private now: () => number, private readonly policyOf: GuestPolicy) {
    this.role = roleOf(dom.config.name);
    this.bootAt = dom.startedAt || now();
    this.build();
  }

  private get adminGroup(): string {
    return this.dom.os.family === 'debian' ? 'sudo' : 'wheel';
  }

  private addGroup(name: string, gid: number): GuestGroup {
    let g = this.groupTable.get(name);
    if (!g) {
      g = { name, gid, members: [] };
      this.groupTable.set(name, g);
    }
    return g;
  }

  private build(): void {
    const os = this.dom.os;
    const role = roleProcesses(this.role, this.dom.current.vcpus);
    for (const t of [...baseServices(os), ...role.services]) {
      this.serviceTable.set(t.name, { name: t.name, description: t.description, state: t.running ? 'running' : 'stopped', enabled: t.enabled, mainPid: 0 });
    }
    this.spawnAll([...baseProcesses(os), ...role.procs], this.bootAt);
    for (const [name, uid, home, shell] of SYSTEM_ACCOUNTS) {
      this.addGroup(name, uid);
      this.accounts.set(name, { name, uid, gid: uid, gecos: name, home, shell, locked: uid !== 0, hasPassword: uid === 0 });
    }
    this.addGroup(this.adminGroup, this.dom.os.family === 'debian' ? 27 : 10);
    const humans = [
      { name: 'admin', uid: 1000, home: '/home/admin', shell: '/bin/bash', gecos: 'Site admin,,,', groups: [this.adminGroup] },
      { name: 'deploy', uid: 1001, home: '/home/deploy', shell: '/bin/bash', gecos: 'Deploy bot', groups: [] as string[] },
      ...role.accounts.map((a) => ({ ...a, groups: a.groups.filter((g) => g !== a.name) })),
    ];
    for (const a of humans) {
      this.addGroup(a.name, a.uid);
      this.accounts.set(a.name, { name: a.name, uid: a.uid, gid: a.uid, gecos: a.gecos, home: a.home, shell: a.shell, locked: false, hasPassword: a.uid >= 1000 });
      for (const g of a.groups) this.addGroup(g, 2000 + (hashString(g) % 1000)).members.push(a.name);
    }
  }

  private spawnAll(templates: ProcTemplate[], at: number): void {
    const firstPid = new Map<string, number>();
    for (const t of templates) {
      const svc = t.service ? this.serviceTable.get(t.service) : undefined;
      if (svc && svc.state !== 'running') continue;
      const n = t.count ?? 1;
      for (let i = 0; i < n; i++) {
        const pid = this.nextPid;
        this.nextPid = pid + 1 + (pid === 1 ? 0 : hashString(`${t.name}${i}`) % 7);
        const kernel = t.command.startsWith('[');
        const ppid = pid === 1 ? 0 : t.parentOf ? (firstPid.get(t.parentOf) ?? 1) : kernel && t.name !== 'kthreadd' ? 2 : 1;
        if (!firstPid.has(t.name)) firstPid.set(t.name, pid);
        if (svc && svc.mainPid === 0) svc.mainPid = pid;
        const startSec = Math.floor(at / 1000) + (pid === 1 ? 0 : 2 + (pid % 20));
        this.procs.push({ pid, ppid, user: t.user, stopped: false, rssKiB: t.rssKiB, startSec, name: t.name, command: t.command, weight: t.cpuWeight, ...(t.service ? { service: t.service } : {}) });
      }
    }
    if (this.nextPid < 300) this.nextPid = 300 + (hashString(this.dom.config.name) % 400);
  }

  private available(): void {
    if (!this.dom.live || this.dom.state !== 'running') throw new SimGuestError('unavailable', `no guest agent answers in '${this.dom.config.name}': the VM is ${this.dom.state} (simulated)`);
  }

  private act(action: string, target: string): void {
    this.available();
    const ok = !this.policyOf.readOnly && (this.policyOf.allow?.(action, target) ?? true);
    if (!ok) {
      this.record(action, target, 'denied');
      throw new SimGuestError('denied', `refused by the guest's policy: ${action} is not allowed (simulated policy)`);
    }
  }

  private record(action: string, target: string, result: GuestActionRecord['result'], detail?: string): void {
    this.log.push({ at: this.now(), action, target, result, ...(detail ? { detail } : {}) });
    if (this.log.length > 500) this.log.splice(0, this.log.length - 500);
  }

  /** Called by the hypervisor: the guest rebooted (fresh processes, same accounts and service settings). */
  rebooted(at: number): void {
    this.bootAt = at;
    for (const s of this.serviceTable.values()) {
      s.state = s.enabled || s.name === 'vem-guest-agent' ? 'running' : 'stopped';
      s.mainPid = 0;
    }
    this.procs = [];
    this.nextPid = 1;
    this.spawnAll([...baseProcesses(this.dom.os), ...roleProcesses(this.role, this.dom.current.vcpus).procs], at);
  }

  /** Called after a migration: same guest, new domain object, new node's clock. */
  movedTo(d: GuestVm, now: () => number): void {
    this.dom = d;
    this.now = now;
  }

  // ---- reports (names and shapes of the guest agent's guest.* methods) ----------------------

  ping(): Sim<{ agent: string; version: string; pid: number; hostname: string }> {
    this.available();
    const pid = this.procs.find((p) => p.service === 'vem-guest-agent')?.pid ?? 0;
    return { simulated: true, agent: 'vem-guest-agent', version: SIM_AGENT_VERSION, pid, hostname: this.dom.current.name };
  }

  info(): Sim<GuestOsInfo> {
    this.available();
    const d = this.dom;
    const c = d.current;
    const now = this.now();
    const used = Math.round(Math.min(c.memKiB, c.maxMemKiB * d.memFrac));
    const free = Math.max(0, c.memKiB - used);
    const l1 = d.demandCores;
    return {
      simulated: true,
      hostname: c.name,
      os: { id: d.os.id, name: d.os.name, version: d.os.versionId, prettyName: d.os.prettyName },
      kernel: d.os.kernel,
      uptimeSec: Math.max(0, Math.floor((now - this.bootAt) / 1000)),
      bootTime: new Date(this.bootAt),
      load: { load1: round2(l1), load5: round2(l1 * 0.9 + 0.05), load15: round2(l1 * 0.8 + 0.1), running: Math.max(1, Math.round(d.allocCores)), total: this.procs.length },
      cpus: c.vcpus,
      memory: { totalKiB: c.memKiB, freeKiB: Math.round(free * 0.4), availableKiB: free, buffersKiB: Math.round(free * 0.05), cachedKiB: Math.round(free * 0.55), swapTotalKiB: 0, swapFreeKiB: 0 },
      agentVersion: SIM_AGENT_VERSION,
      time: new Date(now),
    };
  }

  /**
   * Processes whose CPU % follows the VM's load and moves a little every few seconds.
   * CPU % is counted as top does (100 = one vCPU busy). The VM's busy time is shared out
   * by weight after the jitter, so the processes together never use more than the VM does;
   * a process never uses more than its threads can (one vCPU each, at most the VM's vCPUs),
   * and a stopped one uses none.
   */
  processes(_o?: { intervalMs?: number }): Sim<{ count: number; cpuIntervalMs: number; processes: GuestProcess[] }> {
    this.available();
    const d = this.dom;
    const now = this.now();
    const slot = Math.floor(now / 5000);
    const vcpus = Math.max(1, d.current.vcpus);
    const busyPct = Math.min(d.allocCores, vcpus) * 100;
    const share = this.procs.map((p) => (p.stopped ? 0 : p.weight * (0.7 + 0.6 * hashNoise(p.pid, slot))));
    let wsum = 0;
    for (const w of share) wsum += w;
    const uid = (u: string): number => this.accounts.get(u)?.uid ?? 65534;
    const processes = this.procs.map((p, i) => {
      const threads = p.weight > 5 ? Math.min(4, vcpus) : 1;
      // Rounded down, so that rounding never lifts the sum above the VM's figure.
      const cpuPercent = wsum > 0 ? Math.floor(Math.min(threads * 100, (busyPct * (share[i] as number)) / wsum) * 100) / 100 : 0;
      const rssKiB = Math.round(p.rssKiB * (0.95 + 0.1 * hashNoise(p.pid ^ 0x55, Math.floor(now / 30000))));
      const state = p.stopped ? 'T' : cpuPercent > 20 ? 'R' : p.command.startsWith('[') ? 'I' : 'S';
      return { pid: p.pid, ppid: p.ppid, user: p.user, uid: uid(p.user), state, cpuPercent, rssKiB, threads, nice: 0, startTime: new Date(p.startSec * 1000), name: p.name, command: p.command };
    });
    return { simulated: true, count: processes.length, cpuIntervalMs: 5000, processes };
  }

  users(): Sim<{ users: GuestUser[]; groups: GuestGroup[] }> {
    this.available();
    const on = new Set(this.sessions().map((s) => s.user));
    const users = [...this.accounts.values()].map((a) => {
      const groups = [...this.groupTable.values()].filter((g) => g.gid === a.gid || g.members.includes(a.name)).map((g) => g.name);
      const adminVia: string[] = [];
      if (a.uid === 0) adminVia.push('uid 0');
      if (groups.includes(this.adminGroup)) adminVia.push(`group ${this.adminGroup}`);
      const password: GuestUser['password'] = a.locked ? 'locked' : a.hasPassword ? 'set' : 'none';
      return { name: a.name, uid: a.uid, gid: a.gid, gecos: a.gecos, home: a.home, shell: a.shell, groups, adminVia, admin: adminVia.length > 0, password, loggedIn: on.has(a.name), system: a.uid !== 0 && (a.uid < 1000 || a.uid === 65534) };
    });
    return { simulated: true, users, groups: [...this.groupTable.values()].map((g) => ({ ...g, members: [...g.members] })) };
  }

  /** Who is logged in: the site admin over SSH; on dev VMs, their developer too. */
  sessions(): Array<Sim<GuestSession>> {
    this.available();
    const t = this.bootAt;
    const out: Array<Sim<GuestSession>> = [];
    const sshd = this.procs.find((p) => p.name === 'sshd')?.pid ?? 1;
    if (this.accounts.has('admin')) out.push({ simulated: true, user: 'admin', line: 'pts/0', host: '10.20.0.5', pid: sshd + 400, loginTime: new Date(t + 600_000) });
    if (this.role === 'dev' && this.accounts.has('alice')) out.push({ simulated: true, user: 'alice', line: 'pts/1', host: '10.20.0.42', pid: sshd + 420, loginTime: new Date(t + 1_200_000) });
    return out;
  }

  services(): Sim<{ init: 'systemd' | 'openrc'; services: GuestService[] }> {
    this.available();
    const services = [...this.serviceTable.values()].map((s) => ({ name: s.name, state: s.state, enabled: s.enabled ? ('enabled' as const) : ('disabled' as const), description: s.description }));
    return { simulated: true, init: this.dom.os.family === 'alpine' ? 'openrc' : 'systemd', services };
  }

  filesystems(): Array<Sim<GuestFilesystem>> {
    this.available();
    return guestFilesystems(this.dom, this.role).map((f) => ({ simulated: true as const, ...f }));
  }

  interfaces(): Array<Sim<GuestInterface>> {
    this.available();
    return guestInterfaces(this.dom).map((i) => ({ simulated: true as const, ...i }));
  }

  policy(): Sim<{ allow: string[]; protectedUsers: string[]; source: string; actions: string[] }> {
    const allow = this.policyOf.readOnly ? [] : this.policyOf.allow ? ACTIONS.filter((a) => this.policyOf.allow?.(a, '*')) : ['*'];
    return { simulated: true, allow, protectedUsers: ['root'], source: this.policyOf.readOnly ? 'simulated policy (read-only)' : 'simulated policy (demo: actions allowed)', actions: [...ACTIONS] };
  }

  actionLog(): GuestActionRecord[] {
    return this.log.map((r) => ({ ...r }));
  }

  // ---- actions ----------------------------------------------------------------------------------

  /** Starts a process (the console's `cmd &`). */
  spawn(command: string, user = 'root'): number {
    this.available();
    const pid = this.nextPid;
    this.nextPid += 1;
    const name = (command.trim().split(/\s+/)[0] ?? 'sh').split('/').pop() ?? 'sh';
    this.procs.push({ pid, ppid: 1, user, stopped: false, rssKiB: 2_000 + (pid % 50) * 100, startSec: Math.floor(this.now() / 1000), name, command, weight: 0.05 });
    return pid;
  }

  signal(pid: number, sig: string | number): Sim<{ pid: number; signal: string | number; sent: true }> {
    const n = typeof sig === 'number' ? sig : SIGNALS[String(sig).toUpperCase().replace(/^SIG/, '')];
    const name = Object.entries(SIGNALS).find(([, v]) => v === n)?.[0];
    if (n === undefined || name === undefined) throw new SimGuestError('invalid', `unknown signal '${sig}'`);
    this.act('signal', String(pid));
    if (!Number.isInteger(pid) || pid <= 1) throw new SimGuestError('invalid', `refusing to signal pid ${pid} (init, process groups and the agent itself are off limits)`);
    const p = this.procs.find((x) => x.pid === pid);
    if (!p) throw new SimGuestError('not-found', `no process ${pid} in this guest`);
    if (p.command.startsWith('[') || p.service === 'vem-guest-agent') throw new SimGuestError('invalid', `refusing to signal pid ${pid} (kernel threads and the agent itself are off limits)`);
    if (name === 'STOP') p.stopped = true;
    else if (name === 'CONT') p.stopped = false;
    else if (name === 'TERM' || name === 'KILL' || name === 'INT' || name === 'QUIT') {
      this.killTree(pid);
      const s = p.service ? this.serviceTable.get(p.service) : undefined;
      if (s && s.mainPid === pid) {
        s.state = name === 'KILL' ? 'failed' : 'stopped';
        s.mainPid = 0;
        this.procs = this.procs.filter((x) => x.service !== s.name);
      }
    }
    this.record('signal', String(pid), 'ok', `SIG${name}`);
    return { simulated: true, pid, signal: sig, sent: true };
  }

  private killTree(pid: number): void {
    const gone = new Set([pid]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const p of this.procs) {
        if (!gone.has(p.pid) && gone.has(p.ppid)) {
          gone.add(p.pid);
          grew = true;
        }
      }
    }
    this.procs = this.procs.filter((p) => !gone.has(p.pid));
  }

  userAdd(name: string, o: { uid?: number; shell?: string; home?: string; gecos?: string; groups?: string[]; password?: string } = {}): Sim<{ user: string; tool: string; uid: number }> {
    if (typeof name !== 'string' || !NAME_RE.test(name)) throw new SimGuestError('invalid', `invalid user name '${String(name)}': lower case letters, digits, '-' and '_', at most 32`);
    this.act('user.add', name);
    if (this.accounts.has(name)) throw new SimGuestError('exists', `user '${name}' already exists`);
    let uid = o.uid ?? 1000;
    if (o.uid === undefined) for (const a of this.accounts.values()) if (a.uid >= uid && a.uid < 60000) uid = a.uid + 1;
    if ([...this.accounts.values()].some((a) => a.uid === uid)) throw new SimGuestError('exists', `uid ${uid} is already used`);
    this.addGroup(name, uid);
    for (const g of o.groups ?? []) this.addGroup(g, 2000 + (hashString(g) % 1000)).members.push(name);
    const acc: Account = { name, uid, gid: uid, gecos: o.gecos ?? '', home: o.home ?? `/home/${name}`, shell: o.shell ?? '/bin/bash', locked: false, hasPassword: false };
    if (o.password !== undefined) hashInto(acc, o.password);
    this.accounts.set(name, acc);
    this.record('user.add', name, 'ok');
    return { simulated: true, user: name, tool: 'simulated', uid };
  }

  userRemove(name: string): Sim<{ user: string; tool: string }> {
    this.act('user.remove', name);
    this.target(name);
    this.accounts.delete(name);
    for (const g of this.groupTable.values()) g.members = g.members.filter((m) => m !== name);
    if (this.groupTable.get(name)?.members.length === 0) this.groupTable.delete(name);
    this.record('user.remove', name, 'ok');
    return { simulated: true, user: name, tool: 'simulated' };
  }

  userLock(name: string): Sim<{ user: string; locked: boolean; tool: string }> {
    this.act('user.lock', name);
    this.target(name).locked = true;
    this.record('user.lock', name, 'ok');
    return { simulated: true, user: name, locked: true, tool: 'simulated' };
  }

  userUnlock(name: string): Sim<{ user: string; locked: boolean; tool: string }> {
    this.act('user.unlock', name);
    this.target(name).locked = false;
    this.record('user.unlock', name, 'ok');
    return { simulated: true, user: name, locked: false, tool: 'simulated' };
  }

  /** Only a salted hash is kept, as the real guest agent hashes in the guest. */
  userSetPassword(name: string, password: string): Sim<{ user: string; tool: string }> {
    if (typeof password !== 'string' || password.length < 1 || password.length > 512 || /[\n\r\0]/.test(password)) throw new SimGuestError('invalid', 'invalid password: 1 to 512 characters, no line breaks');
    this.act('user.setPassword', name);
    hashInto(this.target(name), password);
    this.record('user.setPassword', name, 'ok');
    return { simulated: true, user: name, tool: 'simulated' };
  }

  /** An account an action may change: it exists and is not protected (root). */
  private target(name: string): Account {
    const a = this.accounts.get(name);
    if (!a) throw new SimGuestError('not-found', `no user '${name}' in this guest`);
    if (name === 'root') throw new SimGuestError('denied', `refused by the guest's policy: user 'root' is protected (simulated policy)`);
    return a;
  }

  serviceAction(name: string, action: string): Sim<{ service: string; action: string; init: string; output: string }> {
    if (!['start', 'stop', 'restart', 'enable', 'disable'].includes(action)) throw new SimGuestError('invalid', `unknown service action '${action}'`);
    this.act(`service.${action}`, name);
    const s = this.serviceTable.get(name) ?? this.serviceTable.get(name.replace(/\.service$/, ''));
    if (!s) throw new SimGuestError('not-found', `Unit ${name.replace(/\.service$/, '')}.service not found.`);
    if (action === 'enable' || action === 'disable') s.enabled = action === 'enable';
    if (action === 'stop' || action === 'restart') {
      this.procs = this.procs.filter((p) => p.service !== s.name);
      s.state = 'stopped';
      s.mainPid = 0;
    }
    if (action === 'start' || action === 'restart') {
      if (s.state !== 'running') {
        s.state = 'running';
        const all = [...baseProcesses(this.dom.os), ...roleProcesses(this.role, this.dom.current.vcpus).procs].filter((t) => t.service === s.name);
        const templates = all.length ? all : [{ name: s.name, command: `/usr/sbin/${s.name}`, user: 'root', cpuWeight: 0.1, rssKiB: 4000, service: s.name }];
        this.spawnAll(templates.map((t) => ({ ...t, parentOf: undefined })), this.now());
      }
    }
    this.record(`service.${action}`, s.name, 'ok');
    const init = this.dom.os.family === 'alpine' ? 'openrc' : 'systemd';
    return { simulated: true, service: s.name, action, init, output: '' };
  }
}

function hashInto(a: Account, password: string): void {
  const salt = randomBytes(8).toString('hex');
  a.hash = `sim-sha256$${salt}$${createHash('sha256').update(salt + password).digest('hex')}`;
  a.hasPassword = true;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
