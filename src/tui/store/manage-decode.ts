/**
 * The management screens' agent answers (storage.*, network.*, guest.*) as the
 * screens' rows. The shapes are the declared ones (src/api): each answer is checked
 * against its method's result type, then only defaults are filled in (a
 * qemu-guest-agent answer carries less than ours).
 */
import { checked } from '../../api/client.js';
import { api } from '../../api/index.js';
import type { XmlRpcValue } from './link.js';

/** A guest's time (a dateTime from our agent, ISO text from others) as text. */
function timeText(v: Date | string | undefined): string {
  return v instanceof Date ? v.toISOString() : (v ?? '');
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
  return checked(api.storage.pools, v).map((o) => ({
    name: o.name,
    state: o.state,
    type: o.type ?? '',
    path: o.path ?? '',
    capacity: o.capacity,
    allocation: o.allocation,
    available: o.available,
    autostart: o.autostart,
  }));
}

export interface VolumeRow {
  name: string;
  path: string;
  key: string;
  capacity: number;
  allocation: number;
  format: string;
  /** The VMs using this volume, as the agent knows from their definitions (the view needs no domain XML of its own). */
  usedBy?: string[];
}

export function decodeVolumes(v: XmlRpcValue): VolumeRow[] {
  return checked(api.storage.volumes, v).map((o) => ({ name: o.name, path: o.path, key: o.key, capacity: o.capacity, allocation: o.allocation, format: o.format ?? '', usedBy: o.usedBy ?? [] }));
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
  /** The VMs with an interface on this network, as the agent knows from their definitions. */
  usedBy?: string[];
}

export function decodeNetworks(v: XmlRpcValue): NetworkRow[] {
  return checked(api.network.list, v).map((o) => ({
    name: o.name,
    active: o.active,
    autostart: o.autostart,
    persistent: o.persistent,
    bridge: o.bridge ?? '',
    ipAddress: o.ipAddress ?? '',
    netmask: o.netmask ?? '',
    dhcpStart: o.dhcpStart ?? '',
    dhcpEnd: o.dhcpEnd ?? '',
    usedBy: o.usedBy ?? [],
  }));
}

/** Which agent answers inside a VM (guest.status). */
export interface GuestAgentState {
  agent: 'vem-guest-agent' | 'qemu-guest-agent' | 'simulated' | 'none' | string;
  detail: string;
  simulated: boolean;
}

export function decodeGuestStatus(v: XmlRpcValue): GuestAgentState {
  const o = checked(api.guest.status, v);
  return { agent: o.agent, detail: typeof o.detail === 'string' ? o.detail : '', simulated: o.simulated ?? false };
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
  return checked(api.guest.processes, v).processes.map((o) => ({
    pid: o.pid,
    ppid: o.ppid ?? 0,
    user: o.user ?? String(o.uid ?? '?'),
    state: o.state ?? '',
    cpuPct: o.cpuPercent ?? 0,
    rssKiB: o.rssKiB ?? 0,
    name: o.name ?? '',
    command: o.command ?? o.name ?? '',
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
  const o = checked(api.guest.users, v);
  return {
    users: o.users.map((u) => ({
      name: u.name,
      uid: u.uid ?? -1,
      groups: u.groups ?? [],
      admin: u.admin ?? false,
      adminVia: u.adminVia ?? [],
      password: u.password ?? '',
      shell: u.shell ?? '',
      system: u.system ?? false,
      loggedIn: u.loggedIn ?? false,
    })),
    groups: o.groups.map((g) => ({ name: g.name, gid: g.gid, members: g.members })),
  };
}

export interface SessionRow {
  user: string;
  line: string;
  host: string;
  loginTime: string;
}

export function decodeSessions(v: XmlRpcValue): SessionRow[] {
  return checked(api.guest.sessions, v).map((o) => ({ user: o.user, line: o.line ?? '', host: o.host ?? o.domain ?? '', loginTime: timeText(o.loginTime) }));
}

export interface ServiceRow {
  name: string;
  state: string;
  enabled: string;
  description: string;
}

export function decodeServices(v: XmlRpcValue): { init: string; services: ServiceRow[] } {
  const o = checked(api.guest.services, v);
  return { init: o.init, services: o.services.map((x) => ({ name: x.name, state: x.state, enabled: x.enabled ?? '', description: x.description ?? '' })) };
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
  const o = checked(api.guest.info, v);
  const load = o.load;
  return {
    hostname: o.hostname ?? '',
    os: o.os?.prettyName ?? o.os?.name ?? '',
    kernel: o.kernel ?? o.os?.kernelRelease ?? '',
    uptimeSec: o.uptimeSec,
    load: load ? [load.load1, load.load5, load.load15].map((x) => x.toFixed(2)).join(' ') : undefined,
    cpus: o.cpus,
    memTotalKiB: o.memory?.totalKiB,
    memAvailableKiB: o.memory?.availableKiB,
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
  return checked(api.guest.filesystems, v).map((o) => ({ mountPoint: o.mountPoint, device: o.device ?? '', fsType: o.fsType ?? '', totalBytes: o.totalBytes, usedBytes: o.usedBytes }));
}

export interface InterfaceRow {
  name: string;
  mac: string;
  state: string;
  addresses: string[];
}

export function decodeInterfaces(v: XmlRpcValue): InterfaceRow[] {
  return checked(api.guest.interfaces, v).map((o) => ({
    name: o.name,
    mac: o.mac ?? '',
    state: o.state ?? '',
    addresses: o.addresses.map((a) => a.cidr ?? a.address ?? '').filter((a) => a !== ''),
  }));
}
