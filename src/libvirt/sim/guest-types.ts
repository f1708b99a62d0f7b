/** What a simulated guest answers (shapes of the guest agent's reports) and the narrow view of its VM that the guest reads. A leaf of types, so the guest's modules and the domain that holds the guest do not import each other. */
import type { DomainState } from '../hypervisor.js';
import type { DomainConfig, IoCounters } from './domain-config.js';
import type { GuestOs } from './guest-os.js';

/** What the inside of a VM sees of it: its definition, OS, load and NIC counters. SimDomain satisfies it; the guest never reaches further. */
export interface GuestVm {
  readonly config: DomainConfig;
  readonly live: DomainConfig | null;
  readonly current: DomainConfig;
  readonly state: DomainState;
  /** Simulated ms when the current run started. */
  readonly startedAt: number;
  readonly os: GuestOs;
  readonly memFrac: number;
  readonly demandCores: number;
  readonly allocCores: number;
  readonly nicIo: readonly IoCounters[];
}

/** Shapes follow the real guest agent's answers (src/guest-agent), plus simulated: true. */
export interface GuestProcess { pid: number; ppid: number; user: string; uid: number; state: string; cpuPercent: number; rssKiB: number; threads: number; nice: number; startTime: Date; name: string; command: string }
export interface GuestUser { name: string; uid: number; gid: number; gecos: string; home: string; shell: string; groups: string[]; adminVia: string[]; admin: boolean; password: 'set' | 'locked' | 'none'; loggedIn: boolean; system: boolean }
export interface GuestGroup { name: string; gid: number; members: string[] }
export interface GuestSession { user: string; line: string; host: string; pid: number; loginTime: Date }
export interface GuestService { name: string; state: 'running' | 'stopped' | 'failed'; enabled: 'enabled' | 'disabled'; description: string }
export interface GuestFilesystem { device: string; mountPoint: string; fsType: string; readOnly: boolean; totalBytes: number; freeBytes: number; availableBytes: number; usedBytes: number; files: number; filesFree: number }
export interface GuestInterface { name: string; mac: string; mtu: number; state: string; rxBytes: number; txBytes: number; addresses: Array<{ family: 'IPv4' | 'IPv6'; address: string; netmask: string; cidr: string }> }
export interface GuestOsInfo {
  hostname: string;
  os: { id: string; name: string; version: string; prettyName: string };
  kernel: string;
  uptimeSec: number;
  bootTime: Date;
  load: { load1: number; load5: number; load15: number; running: number; total: number };
  cpus: number;
  memory: { totalKiB: number; freeKiB: number; availableKiB: number; buffersKiB: number; cachedKiB: number; swapTotalKiB: number; swapFreeKiB: number };
  agentVersion: string;
  time: Date;
}
export interface GuestActionRecord { at: number; action: string; target: string; result: 'ok' | 'denied' | 'failed'; detail?: string }
