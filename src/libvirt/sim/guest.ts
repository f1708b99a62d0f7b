/**
 * SimGuest: the inside of a simulated VM (processes, accounts, services, OS,
 * filesystems, interfaces) for the agent's guest.* relay in demo mode. Every
 * answer carries simulated: true. Actions obey a simulated policy
 * (the demo allows all; readOnly refuses every change).
 */
import { createHash, randomBytes } from 'node:crypto';
import { VemError } from '../../common/errors.js';
import type { SimDomain } from './domain.js';
import { baseProcesses, baseServices, roleOf, roleProcesses, SYSTEM_ACCOUNTS, type ProcTemplate } from './guest-data.js';
import { hashNoise, hashString } from './rng.js';

export interface GuestPolicy {
  /** Refuse every action (the real guest agent's default). */
  readOnly: boolean;
  /** Finer control: return false to refuse one action ('signal', 'user.add', 'service.restart', ...). */
  allow?: (action: string, target: string) => boolean;
}

export type GuestErrorCode = 'unavailable' | 'denied' | 'not-found' | 'invalid' | 'exists';

/** A refused or impossible guest action; `code` says which. */
export class SimGuestError extends VemError {
  constructor(readonly code: GuestErrorCode, message: string) {
    super(message);
  }
}

export interface GuestProcess { pid: number; ppid: number; user: string; state: string; cpuPct: number; rssKiB: number; startTime: number; name: string; cmdline: string }
export interface GuestUser { name: string; uid: number; gid: number; gecos: string; home: string; shell: string; groups: string[]; admin: boolean; locked: boolean; hasPassword: boolean; system: boolean }
export interface GuestGroup { name: string; gid: number; members: string[] }
export interface GuestSession { user: string; tty: string; host: string; loginTime: number }
export interface GuestService { name: string; description: string; active: 'active' | 'inactive' | 'failed'; sub: 'running' | 'dead' | 'failed'; enabled: boolean; mainPid: number }
export interface GuestFilesystem { mountpoint: string; device: string; type: string; totalBytes: number; usedBytes: number }
export interface GuestInterface { name: string; mac: string; addresses: Array<{ family: 'ipv4' | 'ipv6'; address: string; prefix: number }>; rxBytes: number; txBytes: number }
export interface GuestOsInfo { hostname: string; id: string; name: string; prettyName: string; version: string; versionId: string; kernel: string; machine: string; uptimeSec: number; load: [number, number, number]; memory: { totalKiB: number; usedKiB: number; freeKiB: number }; initSystem: 'systemd' | 'openrc' }
export interface GuestActionRecord { at: number; action: string; target: string; result: 'ok' | 'denied' | 'failed'; detail?: string }

interface Proc extends GuestProcess { weight: number; service?: string }
interface Account { user: GuestUser; hash?: string }

const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, USR1: 10, USR2: 12, TERM: 15, CONT: 18, STOP: 19 };
const NAME_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

export class SimGuest {
  readonly simulated = true;
  private procs: Proc[] = [];
  private nextPid = 300;
  private readonly accounts = new Map<string, Account>();
  private readonly groupTable = new Map<string, GuestGroup>();
  private readonly serviceTable = new Map<string, GuestService>();
  private readonly log: GuestActionRecord[] = [];
  private bootAt: number;
  private readonly role: string;

  constructor(private dom: SimDomain, private now: () => number, private readonly policy: GuestPolicy) {
    this.role = roleOf(dom.config.name);
    this.bootAt = dom.startedAt || now();
    this.build();
  }

  private get adminGroup(): string {
    return this.dom.os.family === 'debian' ? 'sudo' : 'wheel';
  }

  private build(): void {
    const os = this.dom.os;
    const role = roleProcesses(this.role, this.dom.current.vcpus);
    for (const s of [...baseServices(os), ...role.services]) {
      this.serviceTable.set(s.name, { name: s.name, description: s.description, active: s.running ? 'active' : 'inactive', sub: s.running ? 'running' : 'dead', enabled: s.enabled, mainPid: 0 });
    }
    this.procs = [];
    this.nextPid = 1;
    this.spawnAll([...baseProcesses(os), ...role.procs], this.bootAt);
    const gid = (g: string, id: number): void => {
      if (!this.groupTable.has(g)) this.groupTable.set(g, { name: g, gid: id, members: [] });
    };
    for (const [name, uid, home, shell] of SYSTEM_ACCOUNTS) {
      gid(name, uid);
      this.accounts.set(name, { user: { name, uid, gid: uid, gecos: name, home, shell, groups: [name], admin: uid === 0, locked: uid !== 0, hasPassword: uid === 0, system: uid < 1000 || uid === 65534 } });
    }
    gid(this.adminGroup, this.dom.os.family === 'debian' ? 27 : 10);
    const humans = [
      { name: 'admin', uid: 1000, home: '/home/admin', shell: '/bin/bash', gecos: 'Site admin,,,', groups: ['admin', this.adminGroup], admin: true },
      { name: 'deploy', uid: 1001, home: '/home/deploy', shell: '/bin/bash', gecos: 'Deploy bot', groups: ['deploy'] },
      ...role.accounts,
    ];
    for (const a of humans) {
      gid(a.name, a.uid);
      this.accounts.set(a.name, { user: { name: a.name, uid: a.uid, gid: a.uid, gecos: a.gecos, home: a.home, shell: a.shell, groups: [...a.groups], admin: a.admin === true, locked: false, hasPassword: a.uid >= 1000, system: a.uid < 1000 } });
      for (const g of a.groups) {
        gid(g, 2000 + (hashString(g) % 1000));
        this.groupTable.get(g)?.members.push(a.name);
      }
    }
  }

  private spawnAll(templates: ProcTemplate[], at: number): void {
    const firstPid = new Map<string, number>();
    for (const t of templates) {
      const n = t.count ?? 1;
      for (let i = 0; i < n; i++) {
        const pid = this.nextPid === 1 ? 1 : this.nextPid;
        this.nextPid = pid === 1 ? 2 : pid + 1 + (hashString(`${t.name}${i}`) % 7);
        const ppid = pid === 1 ? 0 : t.parentOf ? (firstPid.get(t.parentOf) ?? 1) : t.cmdline.startsWith('[') && t.name !== 'kthreadd' ? 2 : 1;
        if (!firstPid.has(t.name)) firstPid.set(t.name, pid);
        const svc = t.service ? this.serviceTable.get(t.service) : undefined;
        if (svc && svc.active !== 'active') continue;
        if (svc && svc.mainPid === 0) svc.mainPid = pid;
        this.procs.push({ pid, ppid, user: t.user, state: 'S', cpuPct: 0, rssKiB: t.rssKiB, startTime: Math.floor(at / 1000) + (pid === 1 ? 0 : 2 + (pid % 20)), name: t.name, cmdline: t.cmdline, weight: t.cpuWeight, ...(t.service ? { service: t.service } : {}) });
      }
    }
    if (this.nextPid < 300) this.nextPid = 300 + (hashString(this.dom.config.name) % 400);
  }

  private available(): void {
    if (!this.dom.live || this.dom.state !== 'running') throw new SimGuestError('unavailable', `guest agent of '${this.dom.config.name}' is not available: the VM is ${this.dom.state}`);
  }

  private act(action: string, target: string): void {
    this.available();
    const ok = !this.policy.readOnly && (this.policy.allow?.(action, target) ?? true);
    if (!ok) {
      this.log.push({ at: this.now(), action, target, result: 'denied' });
      throw new SimGuestError('denied', `the guest's policy refuses ${action} on ${target} (simulated policy)`);
    }
  }

  private done(action: string, target: string, detail?: string): void {
    this.log.push({ at: this.now(), action, target, result: 'ok', ...(detail ? { detail } : {}) });
    if (this.log.length > 500) this.log.splice(0, this.log.length - 500);
  }

  /** Called by the hypervisor: the guest rebooted (fresh processes, same accounts and service settings). */
  rebooted(at: number): void {
    this.bootAt = at;
    for (const s of this.serviceTable.values()) {
      const on = s.enabled || s.name === 'vem-guest-agent';
      s.active = on ? 'active' : 'inactive';
      s.sub = on ? 'running' : 'dead';
      s.mainPid = 0;
    }
    this.procs = [];
    this.nextPid = 1;
    const role = roleProcesses(this.role, this.dom.current.vcpus);
    this.spawnAll([...baseProcesses(this.dom.os), ...role.procs], at);
  }

  /** Called after a migration: same guest, new domain object. */
  movedTo(d: SimDomain, now: () => number): void {
    this.dom = d;
    this.now = now;
  }

  osInfo(): GuestOsInfo & { simulated: true } {
    this.available();
    const d = this.dom;
    const c = d.current;
    const now = this.now();
    const used = Math.round(Math.min(c.memKiB, c.maxMemKiB * d.memFrac));
    const l1 = d.allocCores + (d.demandCores - d.allocCores);
    const load: [number, number, number] = [round2(l1), round2(l1 * 0.9 + 0.1), round2(l1 * 0.8 + 0.15)];
    return {
      simulated: true,
      hostname: c.name,
      id: d.os.id,
      name: d.os.name,
      prettyName: d.os.prettyName,
      version: d.os.version,
      versionId: d.os.versionId,
      kernel: d.os.kernel,
      machine: 'x86_64',
      uptimeSec: Math.max(0, Math.floor((now - this.bootAt) / 1000)),
      load,
      memory: { totalKiB: c.memKiB, usedKiB: used, freeKiB: Math.max(0, c.memKiB - used) },
      initSystem: d.os.family === 'alpine' ? 'openrc' : 'systemd',
    };
  }

  /** Processes with CPU % that follows the VM's load and moves a little every few seconds. */
  processes(): Array<GuestProcess & { simulated: true }> {
    this.available();
    const d = this.dom;
    const now = this.now();
    const slot = Math.floor(now / 5000);
    let wsum = 0;
    for (const p of this.procs) wsum += p.weight;
    const busyPct = d.allocCores * 100;
    return this.procs.map((p) => {
      const jitter = 0.7 + 0.6 * hashNoise(p.pid, slot);
      const cpuPct = wsum > 0 ? round2(((busyPct * p.weight) / wsum) * jitter) : 0;
      const rss = Math.round(p.rssKiB * (0.95 + 0.1 * hashNoise(p.pid ^ 0x55, Math.floor(now / 30000))));
      const state = p.state === 'T' ? 'T' : cpuPct > 20 ? 'R' : p.cmdline.startsWith('[') ? 'I' : 'S';
      return { simulated: true as const, pid: p.pid, ppid: p.ppid, user: p.user, state, cpuPct, rssKiB: rss, startTime: p.startTime, name: p.name, cmdline: p.cmdline };
    });
  }

  /** Starts a process (the console's `cmd &`). */
  spawn(cmdline: string, user = 'root'): number {
    this.available();
    const pid = this.nextPid;
    this.nextPid += 1;
    const name = (cmdline.trim().split(/\s+/)[0] ?? 'sh').split('/').pop() ?? 'sh';
    this.procs.push({ pid, ppid: 1, user, state: 'S', cpuPct: 0, rssKiB: 2_000 + (pid % 50) * 100, startTime: Math.floor(this.now() / 1000), name, cmdline, weight: 0.05 });
    return pid;
  }

  signal(pid: number, sig: string | number): void {
    const n = typeof sig === 'number' ? sig : SIGNALS[sig.toUpperCase().replace(/^SIG/, '')];
    const name = Object.entries(SIGNALS).find(([, v]) => v === n)?.[0];
    if (n === undefined || name === undefined) throw new SimGuestError('invalid', `unknown signal '${sig}'`);
    this.act('signal', String(pid));
    const p = this.procs.find((x) => x.pid === pid);
    if (!p) throw new SimGuestError('not-found', `no process with pid ${pid}`);
    if (pid === 1 || p.cmdline.startsWith('[')) throw new SimGuestError('denied', `operation not permitted: pid ${pid} ignores SIG${name}`);
    if (name === 'STOP') p.state = 'T';
    else if (name === 'CONT') p.state = 'S';
    else if (name === 'TERM' || name === 'KILL' || name === 'INT' || name === 'QUIT') {
      this.killTree(pid);
      if (p.service) {
        const s = this.serviceTable.get(p.service);
        if (s && s.mainPid === pid) {
          s.active = name === 'KILL' ? 'failed' : 'inactive';
          s.sub = name === 'KILL' ? 'failed' : 'dead';
          s.mainPid = 0;
          this.procs = this.procs.filter((x) => x.service !== p.service);
        }
      }
    }
    this.done('signal', String(pid), `SIG${name}`);
  }

  private killTree(pid: number): void {
    const gone = new Set([pid]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const p of this.procs) if (!gone.has(p.pid) && gone.has(p.ppid)) {
        gone.add(p.pid);
        grew = true;
      }
    }
    this.procs = this.procs.filter((p) => !gone.has(p.pid));
  }

  users(): Array<GuestUser & { simulated: true }> {
    this.available();
    return [...this.accounts.values()].map((a) => ({ simulated: true as const, ...a.user, groups: [...a.user.groups] }));
  }

  groups(): Array<GuestGroup & { simulated: true }> {
    this.available();
    return [...this.groupTable.values()].map((g) => ({ simulated: true as const, ...g, members: [...g.members] }));
  }

  /** Who is logged in: an admin over SSH; on dev VMs, their developer too. */
  sessions(): Array<GuestSession & { simulated: true }> {
    this.available();
    const t = Math.floor(this.bootAt / 1000);
    const out: Array<GuestSession & { simulated: true }> = [];
    if (this.accounts.has('admin')) out.push({ simulated: true, user: 'admin', tty: 'pts/0', host: '10.20.0.5', loginTime: t + 600 });
    if (this.role === 'dev' && this.accounts.has('alice')) out.push({ simulated: true, user: 'alice', tty: 'pts/1', host: '10.20.0.42', loginTime: t + 1200 });
    return out;
  }

  userAdd(o: { name: string; gecos?: string; shell?: string; groups?: string[]; admin?: boolean; password?: string }): void {
    if (!NAME_RE.test(o.name)) throw new SimGuestError('invalid', `invalid user name '${o.name}': lower case letters, digits, '-' and '_', at most 32`);
    this.act('user.add', o.name);
    if (this.accounts.has(o.name)) throw new SimGuestError('exists', `user '${o.name}' already exists`);
    let uid = 1000;
    for (const a of this.accounts.values()) if (a.user.uid >= uid && a.user.uid < 60000) uid = a.user.uid + 1;
    const groups = [o.name, ...(o.groups ?? []), ...(o.admin ? [this.adminGroup] : [])];
    this.groupTable.set(o.name, { name: o.name, gid: uid, members: [] });
    for (const g of groups.slice(1)) {
      if (!this.groupTable.has(g)) this.groupTable.set(g, { name: g, gid: 2000 + (hashString(g) % 1000), members: [] });
      this.groupTable.get(g)?.members.push(o.name);
    }
    const acc: Account = { user: { name: o.name, uid, gid: uid, gecos: o.gecos ?? '', home: `/home/${o.name}`, shell: o.shell ?? '/bin/bash', groups, admin: o.admin === true, locked: false, hasPassword: false, system: false } };
    if (o.password !== undefined) this.hashInto(acc, o.password);
    this.accounts.set(o.name, acc);
    this.done('user.add', o.name);
  }

  userRemove(name: string): void {
    this.act('user.remove', name);
    const a = this.account(name);
    if (a.user.uid === 0) throw new SimGuestError('denied', 'refusing to remove root');
    this.accounts.delete(name);
    for (const g of this.groupTable.values()) g.members = g.members.filter((m) => m !== name);
    if (this.groupTable.get(name)?.members.length === 0) this.groupTable.delete(name);
    this.done('user.remove', name);
  }

  userLock(name: string): void {
    this.act('user.lock', name);
    this.account(name).user.locked = true;
    this.done('user.lock', name);
  }

  userUnlock(name: string): void {
    this.act('user.unlock', name);
    this.account(name).user.locked = false;
    this.done('user.unlock', name);
  }

  /** Only a salted hash is kept, as the real guest agent hashes in the guest. */
  userSetPassword(name: string, password: string): void {
    if (password.length === 0) throw new SimGuestError('invalid', 'empty password');
    this.act('user.setPassword', name);
    this.hashInto(this.account(name), password);
    this.done('user.setPassword', name);
  }

  private hashInto(a: Account, password: string): void {
    const salt = randomBytes(8).toString('hex');
    a.hash = `sim-sha256$${salt}$${createHash('sha256').update(salt + password).digest('hex')}`;
    a.user.hasPassword = true;
  }

  private account(name: string): Account {
    const a = this.accounts.get(name);
    if (!a) throw new SimGuestError('not-found', `no user named '${name}'`);
    return a;
  }

  services(): Array<GuestService & { simulated: true }> {
    this.available();
    return [...this.serviceTable.values()].map((s) => ({ simulated: true as const, ...s }));
  }

  serviceAction(name: string, action: 'start' | 'stop' | 'restart' | 'enable' | 'disable'): void {
    if (!['start', 'stop', 'restart', 'enable', 'disable'].includes(action)) throw new SimGuestError('invalid', `unknown service action '${action}'`);
    this.act(`service.${action}`, name);
    const s = this.serviceTable.get(name);
    if (!s) throw new SimGuestError('not-found', `Unit ${name}.service not found.`);
    if (action === 'enable' || action === 'disable') s.enabled = action === 'enable';
    if (action === 'stop' || action === 'restart') {
      this.procs = this.procs.filter((p) => p.service !== name);
      s.active = 'inactive';
      s.sub = 'dead';
      s.mainPid = 0;
    }
    if (action === 'start' || action === 'restart') {
      if (s.active !== 'active') {
        s.active = 'active';
        s.sub = 'running';
        const templates = [...baseProcesses(this.dom.os), ...roleProcesses(this.role, this.dom.current.vcpus).procs].filter((t) => t.service === name);
        const first = this.procs.length;
        const saved = this.nextPid;
        for (const t of templates.length ? templates : [{ name, cmdline: `/usr/sbin/${name}`, user: 'root', cpuWeight: 0.1, rssKiB: 4000, service: name }]) {
          this.spawnAll([{ ...t, parentOf: undefined }], this.now());
        }
        this.nextPid = Math.max(this.nextPid, saved);
        s.mainPid = this.procs[first]?.pid ?? 0;
      }
    }
    this.done(`service.${action}`, name);
  }

  filesystems(): Array<GuestFilesystem & { simulated: true }> {
    this.available();
    const c = this.dom.current;
    const GiB = 1024 ** 3;
    const h = hashString(c.uuid);
    const out: Array<GuestFilesystem & { simulated: true }> = [];
    const disks = c.disks.filter((k) => k.device === 'disk');
    const root = disks[0];
    const rootSize = (root?.capacity ?? 20 * GiB) - 1 * GiB;
    const fsType = this.dom.os.family === 'rhel' ? 'xfs' : 'ext4';
    out.push({ simulated: true, mountpoint: '/', device: `/dev/${root?.target ?? 'vda'}1`, type: fsType, totalBytes: rootSize, usedBytes: Math.round(rootSize * (0.25 + 0.4 * ((h % 100) / 100))) });
    out.push({ simulated: true, mountpoint: '/boot', device: `/dev/${root?.target ?? 'vda'}2`, type: fsType, totalBytes: GiB, usedBytes: Math.round(GiB * 0.18) });
    disks.slice(1).forEach((k, i) => {
      const size = k.capacity ?? 100 * GiB;
      out.push({ simulated: true, mountpoint: this.role === 'db' && i === 0 ? '/var/lib/postgresql' : `/data${i || ''}`, device: `/dev/${k.target}`, type: 'xfs', totalBytes: size, usedBytes: Math.round(size * 0.55) });
    });
    return out;
  }

  interfaces(): Array<GuestInterface & { simulated: true }> {
    this.available();
    const d = this.dom;
    const c = d.current;
    const out: Array<GuestInterface & { simulated: true }> = [{ simulated: true, name: 'lo', mac: '00:00:00:00:00:00', addresses: [{ family: 'ipv4', address: '127.0.0.1', prefix: 8 }, { family: 'ipv6', address: '::1', prefix: 128 }], rxBytes: 0, txBytes: 0 }];
    c.nics.forEach((n, i) => {
      const host = 10 + (hashString(`${c.uuid}/${i}`) % 240);
      const v4 = n.source === 'backend' ? `10.20.0.${host}` : n.source === 'default' ? `192.168.122.${host}` : `172.16.${i}.${host}`;
      const io = d.nicIo[i];
      out.push({ simulated: true, name: `enp${i + 1}s0`, mac: n.mac, addresses: [{ family: 'ipv4', address: v4, prefix: 24 }, { family: 'ipv6', address: macToLinkLocal(n.mac), prefix: 64 }], rxBytes: Math.floor(io?.rxBytes ?? 0), txBytes: Math.floor(io?.txBytes ?? 0) });
    });
    return out;
  }

  actionLog(): GuestActionRecord[] {
    return this.log.map((r) => ({ ...r }));
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function macToLinkLocal(mac: string): string {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  const h = (i: number): number => b[i] ?? 0;
  const w = (x: number, y: number): string => ((x << 8) | y).toString(16);
  return `fe80::${w(h(0) ^ 2, h(1))}:${w(h(2), 0xff)}:${w(0xfe, h(3))}:${w(h(4), h(5))}`;
}
