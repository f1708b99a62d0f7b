/**
 * Wire shapes of the management screens' agent methods (storage.*, network.*,
 * guest.*) turned into typed records. Pure and tolerant of absent fields: a
 * qemu-guest-agent answer carries less than ours.
 */
import type { XmlRpcValue } from './link.js';
import { isObj, num, str } from './decode.js';

type Obj = { [key: string]: XmlRpcValue };

function arr(v: XmlRpcValue | undefined): XmlRpcValue[] {
  return Array.isArray(v) ? v : [];
}
function objs(v: XmlRpcValue | undefined): Obj[] {
  return arr(v).filter(isObj);
}
function bool(o: Obj, name: string): boolean | undefined {
  const v = o[name];
  return typeof v === 'boolean' ? v : undefined;
}
function strs(v: XmlRpcValue | undefined): string[] {
  return arr(v).filter((x): x is string => typeof x === 'string');
}

export interface PoolRow {
  name: string;
  state: string;
  type: string;
  path: string;
  capacity: number;
  allocation: number;
  available: number;
  autostart: boolean;
}

export function decodePools(v: XmlRpcValue): PoolRow[] {
  return objs(v).map((o) => ({
    name: str(o, 'name') ?? '?',
    state: str(o, 'state') ?? '?',
    type: str(o, 'type') ?? '',
    path: str(o, 'path') ?? '',
    capacity: num(o, 'capacity') ?? 0,
    allocation: num(o, 'allocation') ?? 0,
    available: num(o, 'available') ?? 0,
    autostart: bool(o, 'autostart') ?? false,
  }));
}

export interface VolumeRow {
  name: string;
  path: string;
  key: string;
  capacity: number;
  allocation: number;
  format: string;
}

export function decodeVolumes(v: XmlRpcValue): VolumeRow[] {
  return objs(v).map((o) => ({
    name: str(o, 'name') ?? '?',
    path: str(o, 'path') ?? '',
    key: str(o, 'key') ?? '',
    capacity: num(o, 'capacity') ?? 0,
    allocation: num(o, 'allocation') ?? 0,
    format: str(o, 'format', 'type') ?? '',
  }));
}

export interface NetworkRow {
  name: string;
  active: boolean;
  autostart: boolean;
  persistent: boolean;
  bridge: string;
  ipAddress: string;
  netmask: string;
  dhcpStart: string;
  dhcpEnd: string;
}

export function decodeNetworks(v: XmlRpcValue): NetworkRow[] {
  return objs(v).map((o) => ({
    name: str(o, 'name') ?? '?',
    active: bool(o, 'active') ?? false,
    autostart: bool(o, 'autostart') ?? false,
    persistent: bool(o, 'persistent') ?? true,
    bridge: str(o, 'bridge') ?? '',
    ipAddress: str(o, 'ipAddress') ?? '',
    netmask: str(o, 'netmask') ?? '',
    dhcpStart: str(o, 'dhcpStart') ?? '',
    dhcpEnd: str(o, 'dhcpEnd') ?? '',
  }));
}

/** Which agent answers inside a VM (guest.status). */
export interface GuestAgentState {
  agent: 'vem-guest-agent' | 'qemu-guest-agent' | 'simulated' | 'none' | string;
  detail: string;
  simulated: boolean;
}

export function decodeGuestStatus(v: XmlRpcValue): GuestAgentState {
  const o = isObj(v) ? v : {};
  const d = o['detail'];
  return { agent: str(o, 'agent') ?? 'none', detail: typeof d === 'string' ? d : '', simulated: bool(o, 'simulated') ?? false };
}

export interface ProcessRow {
  pid: number;
  ppid: number;
  user: string;
  state: string;
  cpuPct: number;
  rssKiB: number;
  name: string;
  command: string;
}

export function decodeProcesses(v: XmlRpcValue): ProcessRow[] {
  const list = isObj(v) ? v['processes'] : v;
  return objs(list).map((o) => ({
    pid: num(o, 'pid') ?? 0,
    ppid: num(o, 'ppid') ?? 0,
    user: str(o, 'user') ?? String(num(o, 'uid') ?? '?'),
    state: str(o, 'state') ?? '',
    cpuPct: num(o, 'cpuPercent', 'cpuPct') ?? 0,
    rssKiB: num(o, 'rssKiB') ?? 0,
    name: str(o, 'name') ?? '',
    command: str(o, 'command', 'name') ?? '',
  }));
}

export interface UserRow {
  name: string;
  uid: number;
  groups: string[];
  admin: boolean;
  adminVia: string[];
  password: string;
  shell: string;
  system: boolean;
  loggedIn: boolean;
}

export interface GroupRow {
  name: string;
  gid: number;
  members: string[];
}

export function decodeUsers(v: XmlRpcValue): { users: UserRow[]; groups: GroupRow[] } {
  const o = isObj(v) ? v : { users: v };
  return {
    users: objs(o['users']).map((u) => ({
      name: str(u, 'name', 'user') ?? '?',
      uid: num(u, 'uid') ?? -1,
      groups: strs(u['groups']),
      admin: bool(u, 'admin') ?? false,
      adminVia: strs(u['adminVia']),
      password: str(u, 'password') ?? '',
      shell: str(u, 'shell') ?? '',
      system: bool(u, 'system') ?? false,
      loggedIn: bool(u, 'loggedIn') ?? false,
    })),
    groups: objs(o['groups']).map((g) => ({ name: str(g, 'name') ?? '?', gid: num(g, 'gid') ?? -1, members: strs(g['members']) })),
  };
}

export interface SessionRow {
  user: string;
  line: string;
  host: string;
  loginTime: string;
}

export function decodeSessions(v: XmlRpcValue): SessionRow[] {
  return objs(v).map((o) => ({ user: str(o, 'user', 'name') ?? '?', line: str(o, 'line', 'tty') ?? '', host: str(o, 'host', 'domain') ?? '', loginTime: str(o, 'loginTime') ?? '' }));
}

export interface ServiceRow {
  name: string;
  state: string;
  enabled: string;
  description: string;
}

export function decodeServices(v: XmlRpcValue): { init: string; services: ServiceRow[] } {
  const o = isObj(v) ? v : { services: v };
  return {
    init: str(o, 'init') ?? '',
    services: objs(o['services']).map((s) => ({ name: str(s, 'name') ?? '?', state: str(s, 'state') ?? '', enabled: str(s, 'enabled') ?? '', description: str(s, 'description') ?? '' })),
  };
}

export interface GuestSystem {
  hostname: string;
  os: string;
  kernel: string;
  uptimeSec?: number;
  load?: string;
  cpus?: number;
  memTotalKiB?: number;
  memAvailableKiB?: number;
}

export function decodeGuestInfo(v: XmlRpcValue): GuestSystem {
  const o = isObj(v) ? v : {};
  const os = isObj(o['os']) ? o['os'] : {};
  const load = isObj(o['load']) ? o['load'] : undefined;
  const mem = isObj(o['memory']) ? o['memory'] : {};
  return {
    hostname: str(o, 'hostname') ?? '',
    os: str(os, 'prettyName', 'name') ?? str(o, 'os') ?? '',
    kernel: str(o, 'kernel') ?? str(os, 'kernelRelease') ?? '',
    uptimeSec: num(o, 'uptimeSec'),
    load: load ? [num(load, 'load1'), num(load, 'load5'), num(load, 'load15')].map((x) => (x === undefined ? '-' : x.toFixed(2))).join(' ') : undefined,
    cpus: num(o, 'cpus'),
    memTotalKiB: num(mem, 'totalKiB'),
    memAvailableKiB: num(mem, 'availableKiB'),
  };
}

export interface FilesystemRow {
  mountPoint: string;
  device: string;
  fsType: string;
  totalBytes?: number;
  usedBytes?: number;
}

export function decodeFilesystems(v: XmlRpcValue): FilesystemRow[] {
  return objs(v).map((o) => ({ mountPoint: str(o, 'mountPoint', 'mountpoint') ?? '?', device: str(o, 'device', 'name') ?? '', fsType: str(o, 'fsType', 'type') ?? '', totalBytes: num(o, 'totalBytes'), usedBytes: num(o, 'usedBytes') }));
}

export interface InterfaceRow {
  name: string;
  mac: string;
  state: string;
  addresses: string[];
}

export function decodeInterfaces(v: XmlRpcValue): InterfaceRow[] {
  return objs(v).map((o) => ({
    name: str(o, 'name') ?? '?',
    mac: str(o, 'mac') ?? '',
    state: str(o, 'state') ?? '',
    addresses: objs(o['addresses']).map((a) => str(a, 'cidr', 'address') ?? '').filter((a) => a !== ''),
  }));
}
