/**
 * The one typed API the node agent uses, whatever the VMM. Two implementations:
 * the libvirt remote-protocol client (src/libvirt/client/...) and the simulated
 * hypervisor (src/libvirt/sim/...), which always reports `simulated: true`.
 *
 * Numbers: 64-bit counters from libvirt (bytes, nanoseconds) are carried as JS
 * numbers (doubles). They lose exactness only above 2^53 (about 104 days of CPU
 * time for one vCPU), which does not matter for rates and display.
 */
import type { Duplex } from 'node:stream';

export type DomainState =
  | 'nostate'
  | 'running'
  | 'blocked'
  | 'paused'
  | 'shutdown'
  | 'shutoff'
  | 'crashed'
  | 'pmsuspended';

/** libvirt's virDomainState numbering, index = wire value. */
export const DOMAIN_STATES: readonly DomainState[] = [
  'nostate',
  'running',
  'blocked',
  'paused',
  'shutdown',
  'shutoff',
  'crashed',
  'pmsuspended',
];

/** Where a change applies: the running VM, its persistent definition, or both. */
export interface Scope {
  live?: boolean;
  config?: boolean;
}

export interface NodeInfo {
  model: string;
  memoryKiB: number;
  cpus: number;
  mhz: number;
  numaNodes: number;
  sockets: number;
  cores: number;
  threads: number;
}

export interface HostInfo {
  hostname: string;
  /** The connection URI as the hypervisor reports it (e.g. qemu:///system). */
  uri: string;
  /** Driver name: 'QEMU', 'Test', 'Xen', 'LXC', ... or 'Simulated'. */
  driver: string;
  /** Hypervisor version as "major.minor.release". */
  hypervisorVersion: string;
  libvirtVersion: string;
  simulated: boolean;
  node: NodeInfo;
}

/** Host CPU times (ns, cumulative) and memory (KiB) now. */
export interface NodeStats {
  cpu: { kernelNs: number; userNs: number; idleNs: number; iowaitNs: number };
  memory: { totalKiB: number; freeKiB: number; buffersKiB: number; cachedKiB: number };
}

export interface DomainRef {
  name: string;
  uuid: string;
  /** Running id, or -1 when the domain is not running. */
  id: number;
}

export interface DomainInfo extends DomainRef {
  state: DomainState;
  maxMemKiB: number;
  memKiB: number;
  vcpus: number;
  cpuTimeNs: number;
  persistent: boolean;
  autostart: boolean;
}

export interface ListDomainsOptions {
  active?: boolean;
  inactive?: boolean;
}

/** One domain's record from the bulk stats call (connectGetAllDomainStats). */
export interface DomainStats {
  name: string;
  uuid: string;
  state?: { state: DomainState; reason: number };
  cpu?: { timeNs: number; userNs?: number; systemNs?: number };
  balloon?: {
    currentKiB: number;
    maximumKiB: number;
    availableKiB?: number;
    usableKiB?: number;
    unusedKiB?: number;
    rssKiB?: number;
  };
  vcpu?: { current: number; maximum: number; timesNs: number[] };
  net?: Array<{ name: string; rxBytes: number; rxPkts: number; txBytes: number; txPkts: number; rxErrs?: number; txErrs?: number; rxDrop?: number; txDrop?: number }>;
  block?: Array<{ name: string; path?: string; rdBytes: number; rdReqs: number; wrBytes: number; wrReqs: number; capacity?: number; allocation?: number; physical?: number }>;
  /** Every typed parameter as libvirt named it ("cpu.time", "net.0.rx.bytes", ...). */
  raw: Record<string, number | string | boolean>;
}

/**
 * virDomainMemoryStats of a running VM, in KiB, by libvirt's tags; a tag the driver does not
 * report is absent (LXC: actual, rss = the cgroup's usage, swap_in; libxl: actual, available).
 */
export interface DomainMemoryStats {
  actualKiB?: number;
  availableKiB?: number;
  unusedKiB?: number;
  usableKiB?: number;
  rssKiB?: number;
  swapInKiB?: number;
  swapOutKiB?: number;
  diskCachesKiB?: number;
}

/** virDomainInterfaceStats of one interface (cumulative; -1 where the driver lacks a counter). */
export interface InterfaceStats {
  rxBytes: number;
  rxPkts: number;
  rxErrs: number;
  rxDrop: number;
  txBytes: number;
  txPkts: number;
  txErrs: number;
  txDrop: number;
}

/** virDomainBlockStats of one disk, or of the whole VM (cumulative; -1 where the driver lacks a counter). */
export interface BlockStats {
  rdReqs: number;
  rdBytes: number;
  wrReqs: number;
  wrBytes: number;
  errs: number;
}

export interface AllStatsOptions {
  /** Skip domains whose job lock is held (a migration) instead of waiting for them. */
  nowait?: boolean;
}

export interface SchedulerParams {
  cpuShares?: number;
  vcpuPeriod?: number;
  vcpuQuota?: number;
  /** Anything else the driver reports, by libvirt's field name. */
  [field: string]: number | undefined;
}

export interface SnapshotInfo {
  name: string;
  /** Creation time, seconds since the epoch, when known. */
  creationTime?: number;
  state?: string;
  parent?: string;
  current: boolean;
  description?: string;
}

export interface StoragePoolInfo {
  name: string;
  uuid: string;
  state: 'inactive' | 'building' | 'running' | 'degraded' | 'inaccessible';
  capacity: number;
  allocation: number;
  available: number;
  autostart: boolean;
  persistent: boolean;
  type?: string;
  path?: string;
}

/** A volume by pool and name. */
export interface VolumeRef {
  pool: string;
  volume: string;
}

export interface StorageVolumeInfo {
  name: string;
  key: string;
  path: string;
  type: 'file' | 'block' | 'dir' | 'network' | 'netdir' | 'ploop';
  capacity: number;
  allocation: number;
  format?: string;
  /** The backing file of an overlay (qcow2 with a <backingStore>). */
  backing?: string;
}

export interface NetworkInfo {
  name: string;
  uuid: string;
  active: boolean;
  persistent: boolean;
  autostart: boolean;
  bridge?: string;
  /** Parsed from the network XML when present. */
  ipAddress?: string;
  netmask?: string;
  dhcpStart?: string;
  dhcpEnd?: string;
}

/** One address a network's DHCP server handed out (virNetworkGetDHCPLeases). */
export interface DhcpLease {
  /** The host-side interface it was given on (the network's bridge). */
  iface: string;
  /** When it runs out, seconds since the epoch. */
  expiryTime: number;
  type: 'ipv4' | 'ipv6';
  mac?: string;
  /** IPv6 only. */
  iaid?: string;
  ipAddress: string;
  prefix: number;
  /** The name the guest sent, when it sent one. */
  hostname?: string;
  clientId?: string;
}

export interface MigrateOptions {
  live?: boolean;
  /** Define the VM on the target and undefine it on the source when done. */
  persistOnTarget?: boolean;
  undefineSource?: boolean;
  /** Copy non-shared disks (full copy). */
  copyStorage?: boolean;
  /** With copyStorage: only these disks (targets: vda, sdb) are copied (VIR_MIGRATE_PARAM_MIGRATE_DISKS); the others must be on shared storage. */
  migrateDisks?: string[];
  /** MiB/s, 0 = unlimited. */
  bandwidthMiBs?: number;
  /** Migration URI the data goes to (e.g. tcp://127.0.0.3), when it differs from the target's. */
  migrateUri?: string;
  /** Allowed downtime in ms, when supported. */
  maxDowntimeMs?: number;
}

/** A job's progress, as libvirt's domain job stats report it. */
export interface JobStats {
  type: 'none' | 'bounded' | 'unbounded' | 'completed' | 'failed' | 'cancelled';
  operation?: string;
  timeElapsedMs?: number;
  timeRemainingMs?: number;
  dataTotal?: number;
  dataProcessed?: number;
  dataRemaining?: number;
  memTotal?: number;
  memProcessed?: number;
  memRemaining?: number;
  memDirtyRate?: number;
  memIteration?: number;
  memBps?: number;
  downtimeMs?: number;
  setupTimeMs?: number;
  diskTotal?: number;
  diskProcessed?: number;
  diskRemaining?: number;
  raw: Record<string, number | string | boolean>;
}

export type DomainEventKind = 'lifecycle' | 'reboot' | 'job-completed' | 'balloon-change' | 'device-removed' | 'device-added' | 'other';

export interface DomainEvent {
  kind: DomainEventKind;
  domain: { name: string; uuid: string; id: number };
  /** For lifecycle: 'defined' | 'undefined' | 'started' | 'suspended' | 'resumed' | 'stopped' | 'shutdown' | 'pmsuspended' | 'crashed'. */
  event?: string;
  detail?: number;
  /** For balloon-change: the new size. */
  actualKiB?: number;
  /** For device events: the device alias. */
  device?: string;
  /** Job-completed statistics. */
  stats?: Record<string, number | string | boolean>;
  /** Milliseconds since the epoch when it was received. */
  at: number;
}

export type Unsubscribe = () => void;

export interface Hypervisor {
  readonly uri: string;
  readonly simulated: boolean;
  close(): Promise<void>;
  /** True while the connection is up. */
  isAlive(): boolean;

  hostInfo(): Promise<HostInfo>;
  capabilities(): Promise<string>;
  nodeStats(): Promise<NodeStats>;

  listDomains(opts?: ListDomainsOptions): Promise<DomainRef[]>;
  domainInfo(name: string): Promise<DomainInfo>;
  domainXml(name: string, opts?: { inactive?: boolean; secure?: boolean }): Promise<string>;
  /** Define (or redefine: same name/uuid) a persistent domain; libvirt validates the XML. */
  defineDomain(xml: string): Promise<DomainRef>;
  undefineDomain(name: string, opts?: { snapshots?: boolean; nvram?: boolean }): Promise<void>;
  /** Create a transient domain and start it. */
  createDomain(xml: string): Promise<DomainRef>;
  start(name: string): Promise<void>;
  shutdown(name: string): Promise<void>;
  destroy(name: string): Promise<void>;
  reboot(name: string): Promise<void>;
  /** A hard reset (the guest OS is not asked); a driver without it refuses naming itself. */
  reset(name: string): Promise<void>;
  suspend(name: string): Promise<void>;
  resume(name: string): Promise<void>;
  setAutostart(name: string, on: boolean): Promise<void>;

  allDomainStats(opts?: AllStatsOptions): Promise<DomainStats[]>;
  // The per-domain stats calls, for drivers without the bulk one (capabilities.ts asks them on
  // its per-domain route). Optional: a Hypervisor without one is read as a driver without it.
  /** virDomainMemoryStats of a running VM; a driver without it refuses with NO_SUPPORT. */
  domainMemoryStats?(name: string): Promise<DomainMemoryStats>;
  /** virDomainInterfaceStats of one interface, named by its host-side device (target dev) or its MAC. */
  domainInterfaceStats?(name: string, device: string): Promise<InterfaceStats>;
  /** virDomainBlockStats of one disk (target or source path); '' asks for the whole VM, which LXC reads from its blkio cgroup. */
  domainBlockStats?(name: string, device: string): Promise<BlockStats>;

  setVcpus(name: string, count: number, scope?: Scope): Promise<void>;
  setMemory(name: string, kib: number, scope?: Scope): Promise<void>;
  setMaxMemory(name: string, kib: number): Promise<void>;
  getSchedulerParams(name: string): Promise<SchedulerParams>;
  setSchedulerParams(name: string, params: SchedulerParams, scope?: Scope): Promise<void>;

  attachDevice(name: string, xml: string, scope?: Scope): Promise<void>;
  detachDevice(name: string, xml: string, scope?: Scope): Promise<void>;
  updateDevice(name: string, xml: string, scope?: Scope): Promise<void>;

  snapshotCreate(name: string, xml: string): Promise<string>;
  snapshotList(name: string): Promise<SnapshotInfo[]>;
  snapshotCurrent(name: string): Promise<string | null>;
  snapshotRevert(name: string, snapshot: string): Promise<void>;
  snapshotDelete(name: string, snapshot: string): Promise<void>;

  listPools(): Promise<StoragePoolInfo[]>;
  poolXml(pool: string): Promise<string>;
  poolRefresh(pool: string): Promise<void>;
  listVolumes(pool: string): Promise<StorageVolumeInfo[]>;
  createVolume(pool: string, xml: string): Promise<StorageVolumeInfo>;
  /**
   * A new volume in `pool` from <volume> XML, its contents copied from an existing volume
   * (virStorageVolCreateXMLFrom). Resolves when the copy is done, which takes as long as the data.
   */
  cloneVolume(pool: string, xml: string, from: VolumeRef): Promise<StorageVolumeInfo>;
  /**
   * Grows a volume to `capacity` bytes (virStorageVolResize). libvirt's copy keeps the source's
   * capacity whatever the new volume's XML asks, so a bigger copy is a copy, then this.
   */
  resizeVolume(pool: string, volume: string, capacity: number): Promise<StorageVolumeInfo>;
  /**
   * A volume's bytes as a stream (virStorageVolDownload), or a stream whose bytes replace them
   * (virStorageVolUpload: end() it, and it ends once the daemon has taken everything).
   */
  volumeStream(ref: VolumeRef, direction: 'download' | 'upload'): Promise<Duplex>;
  deleteVolume(pool: string, volume: string): Promise<void>;
  /** Defines a persistent pool from <pool> XML (virStoragePoolDefineXML); returns its name. It is inactive until started. */
  poolDefine(xml: string): Promise<string>;
  /** Makes the pool's target (a directory's folder, an LVM volume group...) on the node (virStoragePoolBuild). */
  poolBuild(pool: string): Promise<void>;
  /** Starts (activates) a defined pool (virStoragePoolCreate). */
  poolStart(pool: string): Promise<void>;

  listNetworks(): Promise<NetworkInfo[]>;
  networkXml(name: string): Promise<string>;
  networkDefine(xml: string): Promise<string>;
  networkUndefine(name: string): Promise<void>;
  networkStart(name: string): Promise<void>;
  networkStop(name: string): Promise<void>;
  networkSetAutostart(name: string, on: boolean): Promise<void>;
  /** The addresses the network's DHCP server has handed out; a driver without it refuses naming itself. */
  networkDhcpLeases(name: string): Promise<DhcpLease[]>;

  /** Peer-to-peer migration to another libvirt URI; resolves when it has finished. */
  migrate(name: string, destUri: string, opts?: MigrateOptions): Promise<void>;
  jobStats(name: string, completed?: boolean): Promise<JobStats>;
  abortJob(name: string): Promise<void>;

  /** Domain events (lifecycle, reboot, job-completed, balloon-change, device). Survives reconnects. */
  onDomainEvent(listener: (e: DomainEvent) => void): Promise<Unsubscribe>;

  /** The domain's serial console (first one by default) as a byte stream. */
  openConsole(name: string, device?: string, opts?: { force?: boolean }): Promise<Duplex>;
  /** A QEMU guest-agent command (JSON text in, JSON text out). */
  guestAgentCommand(name: string, command: string, timeoutSec?: number): Promise<string>;
}
