/** A simulated domain: its definitions (persistent and live), its runtime counters, its workload. */
import type { DomainState, JobStats } from '../hypervisor.js';
import type { WorkloadParams } from './workload.js';
import type { MigrationJob } from './migration.js';
import type { SimGuest } from './guest.js';
import { zeroIo, type DomainConfig, type IoCounters, type SnapshotRecord } from './domain-config.js';
import type { GuestOs } from './guest-os.js';

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
