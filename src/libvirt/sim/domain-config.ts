/** A simulated VM's definition and counters as plain data: no behaviour, no imports, so every part of the simulator can share it. */
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
  /** Other applications' <metadata> elements (a template mark), kept verbatim as libvirt keeps them. */
  foreignMetadata?: string;
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
