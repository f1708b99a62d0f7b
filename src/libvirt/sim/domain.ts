/** A simulated domain: its definitions (persistent and live), its runtime counters, its workload. */
import type { DomainState, JobStats } from '../hypervisor.js';
import type { WorkloadParams } from './workload.js';
import type { MigrationJob } from './migration.js';
import type { SimGuest } from './guest.js';

export interface DiskDef {
  type: 'file' | 'block' | 'network';
  device: 'disk' | 'cdrom';
  source?: string;
  target: string;
  bus: string;
  format?: string;
  readonly?: boolean;
  /** Bytes, for block stats (capacity) when the volume is not in a pool. */
  capacity?: number;
}

export interface NicDef {
  type: 'network' | 'bridge' | 'user';
  source: string;
  mac: string;
  model: string;
}

export interface DomainConfig {
  name: string;
  uuid: string;
  /** The <domain type=...> as given (kvm, qemu). */
  type: string;
  title?: string;
  description?: string;
  vcpus: number;
  maxVcpus: number;
  memKiB: number;
  maxMemKiB: number;
  arch: string;
  machine: string;
  boot: string[];
  kernel?: string;
  initrd?: string;
  disks: DiskDef[];
  nics: NicDef[];
  guestAgent: boolean;
  cpuShares: number;
  vcpuPeriod: number;
  vcpuQuota: number;
  /** Metadata the simulation reads back (workload kind), kept verbatim. */
  workloadKind?: string;
  /** Constant utilisation (0..1) asked for in the XML metadata: a scripted load for scenarios and tests. */
  workloadUtil?: number;
}

export function cloneConfig(c: DomainConfig): DomainConfig {
  return { ...c, boot: [...c.boot], disks: c.disks.map((d) => ({ ...d })), nics: c.nics.map((n) => ({ ...n })) };
}

export interface IoCounters {
  rdBytes: number;
  rdReqs: number;
  wrBytes: number;
  wrReqs: number;
  rxBytes: number;
  rxPkts: number;
  txBytes: number;
  txPkts: number;
}

export function zeroIo(): IoCounters {
  return { rdBytes: 0, rdReqs: 0, wrBytes: 0, wrReqs: 0, rxBytes: 0, rxPkts: 0, txBytes: 0, txPkts: 0 };
}

export interface SnapshotRecord {
  name: string;
  description?: string;
  creationTime: number;
  state: 'running' | 'shutoff' | 'paused';
  parent?: string;
  config: DomainConfig;
}

/** libvirt state reasons (virDomainRunningReason, virDomainPausedReason, virDomainShutoffReason). */
export const Reason = {
  runningBooted: 1,
  runningMigrated: 2,
  runningFromSnapshot: 4,
  runningUnpaused: 5,
  runningMigrationCanceled: 6,
  pausedUser: 1,
  pausedMigration: 2,
  pausedFromSnapshot: 8,
  shutoffShutdown: 1,
  shutoffDestroyed: 2,
  shutoffMigrated: 5,
  shutoffFromSnapshot: 7,
} as const;

export class SimDomain {
  /** The persistent definition (also the live one's template). */
  config: DomainConfig;
  /** The running definition; null while inactive. */
  live: DomainConfig | null = null;
  persistent: boolean;
  autostart = false;
  state: DomainState = 'shutoff';
  reason = 0;
  id = -1;
  /** Simulated ms when the current run started (guest uptime). */
  startedAt = 0;
  /** A guest shutdown in progress: simulated ms when the VM powers off. */
  shutdownAt = 0;

  // Runtime counters: cumulative since the QEMU process started, as libvirt reports them.
  cpuTimeNs = 0;
  io: IoCounters = zeroIo();
  /** Per device counters, parallel to live.disks / live.nics (share of the VM's I/O). */
  diskIo: IoCounters[] = [];
  nicIo: IoCounters[] = [];

  // Rates for the current simulation cell (set by the host engine).
  demandCores = 0;
  allocCores = 0;
  rdBps = 0;
  wrBps = 0;
  rxBps = 0;
  txBps = 0;
  memFrac = 0;
  /** Share of CPU held back by migration auto-converge (0..1). */
  throttle = 0;

  snapshots = new Map<string, SnapshotRecord>();
  currentSnapshot: string | null = null;
  job: MigrationJob | null = null;
  lastJob: JobStats | null = null;
  guest: SimGuest | null = null;
  /** Stable split of CPU time across vCPUs. */
  vcpuWeights: number[] = [];

  constructor(
    config: DomainConfig,
    readonly workload: WorkloadParams,
    persistent: boolean,
    /** Guest OS label: drives console banner, guest data. */
    readonly os: GuestOs,
  ) {
    this.config = config;
    this.persistent = persistent;
  }

  get active(): boolean {
    return this.state !== 'shutoff' && this.state !== 'crashed' && this.live !== null;
  }

  /** The definition in effect now: the live one while running. */
  get current(): DomainConfig {
    return this.live ?? this.config;
  }

  resetCounters(): void {
    this.cpuTimeNs = 0;
    this.io = zeroIo();
    const live = this.current;
    this.diskIo = live.disks.map(() => zeroIo());
    this.nicIo = live.nics.map(() => zeroIo());
  }
}

export interface GuestOs {
  id: string;
  name: string;
  prettyName: string;
  version: string;
  versionId: string;
  kernel: string;
  family: 'debian' | 'rhel' | 'alpine';
}

export const GUEST_OSES: readonly GuestOs[] = [
  { id: 'debian', name: 'Debian GNU/Linux', prettyName: 'Debian GNU/Linux 12 (bookworm)', version: '12 (bookworm)', versionId: '12', kernel: '6.1.0-18-amd64', family: 'debian' },
  { id: 'ubuntu', name: 'Ubuntu', prettyName: 'Ubuntu 24.04.1 LTS', version: '24.04.1 LTS (Noble Numbat)', versionId: '24.04', kernel: '6.8.0-45-generic', family: 'debian' },
  { id: 'ubuntu', name: 'Ubuntu', prettyName: 'Ubuntu 22.04.4 LTS', version: '22.04.4 LTS (Jammy Jellyfish)', versionId: '22.04', kernel: '5.15.0-105-generic', family: 'debian' },
  { id: 'rocky', name: 'Rocky Linux', prettyName: 'Rocky Linux 9.4 (Blue Onyx)', version: '9.4 (Blue Onyx)', versionId: '9.4', kernel: '5.14.0-427.13.1.el9_4.x86_64', family: 'rhel' },
  { id: 'alpine', name: 'Alpine Linux', prettyName: 'Alpine Linux v3.20', version: '3.20.3', versionId: '3.20.3', kernel: '6.6.49-0-virt', family: 'alpine' },
];
