/**
 * The kinds of simulated node (QEMU/KVM, LXC, Xen) and what each one's real libvirt driver
 * answers. Facts from libvirt's own sources, not guesses: the driver tables of
 * src/lxc/lxc_driver.c and src/libxl/libxl_driver.c (a call missing from the table is
 * VIR_ERR_NO_SUPPORT "this function is not supported by the connection driver: <API>"),
 * lxcConnectSupportsFeature (no migration of any kind) and libxlConnectSupportsFeature
 * (peer-to-peer yes, offline no). The capability layer (../capabilities.ts) learns all of
 * it from these answers, exactly as it does from a real daemon.
 */
import { ErrorCode, LibvirtError } from '../errors.js';
import type { DomainConfig } from './domain-config.js';

export type SimDriverKind = 'qemu' | 'lxc' | 'xen';
export const SIM_DRIVER_KINDS: readonly SimDriverKind[] = ['qemu', 'lxc', 'xen'];

/** The libvirt calls a driver may lack, by the public API name its NO_SUPPORT message carries. */
const API = {
  bulkStats: 'virConnectGetAllDomainStats',
  migrate: 'virDomainMigratePerform3Params',
  snapshotCreate: 'virDomainSnapshotCreateXML',
  snapshotList: 'virDomainListAllSnapshots',
  snapshotCurrent: 'virDomainSnapshotCurrent',
  snapshotRevert: 'virDomainRevertToSnapshot',
  snapshotDelete: 'virDomainSnapshotDelete',
  setVcpus: 'virDomainSetVcpusFlags',
  reset: 'virDomainReset',
  agentCommand: 'virDomainQemuAgentCommand',
  abortJob: 'virDomainAbortJob',
  memoryStats: 'virDomainMemoryStats',
  interfaceStats: 'virDomainInterfaceStats',
  blockStats: 'virDomainBlockStats',
} as const;
export type SimCall = keyof typeof API;

interface Profile {
  /** virConnectGetType. */
  driver: string;
  /** virConnectGetVersion: LXC reports the host kernel's release, libxl the Xen hypervisor's version. */
  hypervisorVersion: string;
  /** The <domain type=...> the driver runs. */
  domainTypes: readonly string[];
  /** virErrorDomain of the driver's own errors (VIR_FROM_QEMU 10, VIR_FROM_LXC 17, VIR_FROM_LIBXL 41). */
  from: number;
  /** virConnectSupportsFeature(VIR_DRV_FEATURE_MIGRATION_P2P / _OFFLINE). */
  p2p: boolean;
  offline: boolean;
  lacks: ReadonlySet<SimCall>;
  /**
   * What virDomainMemoryStats reports: QEMU the balloon driver's figures; LXC (lxcDomainMemoryStats)
   * actual, swap_in and rss, both read from the container's memory cgroup (the lab's dommemstat shows
   * swap_in equal to rss); libxl (libxlDomainMemoryStats) actual and available, the domain's maximum.
   */
  memoryTags: 'balloon' | 'cgroup' | 'libxl';
}

const SNAPSHOTS: SimCall[] = ['snapshotCreate', 'snapshotList', 'snapshotCurrent', 'snapshotRevert', 'snapshotDelete'];

const PROFILES: Record<SimDriverKind, Profile> = {
  // The default simulated node keeps its historic name and answers every call (as QEMU does).
  qemu: { driver: 'Simulated', hypervisorVersion: '0.1.0', domainTypes: ['kvm', 'qemu'], from: 10, p2p: true, offline: true, lacks: new Set(), memoryTags: 'balloon' },
  // lxc_driver.c: no GetAllDomainStats, no migration, no snapshots, no SetVcpus, no Reset, no job calls;
  // SetMemory (the cgroup limit), scheduler cpu_shares/vcpu_*, console, suspend/resume are there, and
  // the per-domain stats: MemoryStats, InterfaceStats (the veth), BlockStats ('' = the blkio cgroup's total).
  lxc: {
    driver: 'LXC', hypervisorVersion: '6.1.0', domainTypes: ['lxc'], from: 17, p2p: false, offline: false,
    lacks: new Set<SimCall>(['bulkStats', 'migrate', ...SNAPSHOTS, 'setVcpus', 'reset', 'agentCommand', 'abortJob']),
    memoryTags: 'cgroup',
  },
  // libxl_driver.c: Migrate*3Params (peer to peer, live only), SetVcpus, SetMemory, console, job stats;
  // MemoryStats, InterfaceStats (the vif), BlockStats (per disk, or '' for all of them);
  // no GetAllDomainStats, no snapshots, no Reset, no AbortJob, no QEMU guest agent.
  xen: {
    driver: 'Xen', hypervisorVersion: '4.17.0', domainTypes: ['xen'], from: 41, p2p: true, offline: false,
    lacks: new Set<SimCall>(['bulkStats', ...SNAPSHOTS, 'reset', 'agentCommand', 'abortJob']),
    memoryTags: 'libxl',
  },
};

export function driverProfile(kind: SimDriverKind): Readonly<Profile> {
  return PROFILES[kind];
}

/** libvirt's own refusal of a call the driver's table lacks (virReportUnsupportedError, VIR_FROM_DOMAIN). */
export function unsupportedCall(kind: SimDriverKind, call: SimCall): LibvirtError | undefined {
  if (!PROFILES[kind].lacks.has(call)) return undefined;
  return new LibvirtError(`this function is not supported by the connection driver: ${API[call]}`, ErrorCode.NO_SUPPORT, 20);
}

/** virErrorNumber values the simulator needs beyond ../errors.ts. */
const CONFIG_UNSUPPORTED = 67;
const ARGUMENT_UNSUPPORTED = 74;

/** What libvirt's dispatch says before a driver sees a migration it cannot do; undefined when the move may go on. */
export function migrationRefusal(src: SimDriverKind, dest: SimDriverKind, vm: string, live: boolean): LibvirtError | undefined {
  const p = PROFILES[src];
  if (vm === DOMAIN0 && src === 'xen') return new LibvirtError('Requested operation is not valid: Domain-0 cannot be migrated', ErrorCode.OPERATION_INVALID, p.from);
  // virDomainMigrate*: VIR_MIGRATE_OFFLINE on a driver without VIR_DRV_FEATURE_MIGRATION_OFFLINE.
  if (!live && !p.offline && p.p2p) return new LibvirtError('argument unsupported: offline migration is not supported by the source host', ARGUMENT_UNSUPPORTED, 20);
  const d = PROFILES[dest];
  if (src !== dest) {
    // The target's Prepare parses the domain XML against its own capabilities and finds no such domain type.
    const type = p.domainTypes[0] ?? src;
    return new LibvirtError(`unsupported configuration: could not find capabilities for domaintype=${type} on the ${d.driver} driver of the target`, CONFIG_UNSUPPORTED, d.from);
  }
  return undefined;
}

/** A definition for a node of this kind must be of its domain type, as libvirt's capabilities lookup checks. */
export function checkDomainType(kind: SimDriverKind, type: string): void {
  const p = PROFILES[kind];
  if (!p.domainTypes.includes(type)) {
    throw new LibvirtError(`invalid argument: could not find capabilities for domaintype=${type} (the ${p.driver} driver runs ${p.domainTypes.join(', ')})`, ErrorCode.INVALID_ARG, p.from);
  }
}

/** libxl's name for the control domain; always present, id 0, and refused every lifecycle change. */
export const DOMAIN0 = 'Domain-0';

export function domain0Refusal(kind: SimDriverKind, vm: string): LibvirtError | undefined {
  if (kind !== 'xen' || vm !== DOMAIN0) return undefined;
  return new LibvirtError('Requested operation is not valid: Domain-0 does not support requested operation', ErrorCode.OPERATION_INVALID, PROFILES.xen.from);
}

/** Xen's OUI: libxl generates guest MACs as 00:16:3e:xx:xx:xx (libvirt's default elsewhere is 52:54:00). */
export function macForKind(kind: SimDriverKind, mac: string): string {
  return kind === 'xen' ? `00:16:3e:${mac.split(':').slice(3).join(':')}` : mac;
}

/** The planned QEMU guest turned into what this kind of node runs: a container, or a Xen HVM guest. */
export function adaptConfig(kind: SimDriverKind, c: DomainConfig): DomainConfig {
  if (kind === 'qemu') return c;
  const nics = c.nics.map((n) => ({ ...n, mac: macForKind(kind, n.mac), model: kind === 'xen' ? 'netfront' : '' }));
  if (kind === 'xen') {
    // Xen HVM guests: xvd* disks on the xen bus, the xenfv machine, no QEMU guest agent channel.
    const disks = c.disks.map((d) => (d.device === 'disk' ? { ...d, target: d.target.replace(/^vd/, 'xvd'), bus: 'xen' } : { ...d }));
    return { ...c, type: 'xen', machine: 'xenfv', disks, nics, guestAgent: false, description: c.description?.replace('server', 'Xen guest') };
  }
  // A container shares the host kernel: no disks of its own (its root is a directory), no machine, no balloon, no agent.
  return { ...c, type: 'lxc', machine: '', boot: [], disks: [], nics, guestAgent: false, maxVcpus: c.vcpus, description: c.description?.replace('server', 'container') };
}

/** The control domain of a Xen node, as libxl lists it: id 0, the all-zero UUID, running. */
export function domain0Config(): DomainConfig {
  const KiBperGiB = 1024 * 1024;
  return {
    name: DOMAIN0, uuid: '00000000-0000-0000-0000-000000000000', type: 'xen', description: 'Xen control domain (simulated)',
    vcpus: 4, maxVcpus: 4, memKiB: 4 * KiBperGiB, maxMemKiB: 4 * KiBperGiB, arch: 'x86_64', machine: '', boot: [],
    disks: [], nics: [], guestAgent: false, cpuShares: 1024, vcpuPeriod: 100000, vcpuQuota: -1, workloadKind: 'idle',
  };
}

/** The <guest> part of the capabilities: what each driver runs (QEMU machines, LXC's exe, Xen's hvm and PV). */
export function guestCapabilities(kind: SimDriverKind): string {
  if (kind === 'lxc') return `  <guest>\n    <os_type>exe</os_type>\n    <arch name='x86_64'>\n      <wordsize>64</wordsize>\n      <emulator>/usr/lib/libvirt/libvirt_lxc</emulator>\n      <domain type='lxc'/>\n    </arch>\n  </guest>\n`;
  if (kind === 'xen') {
    return `  <guest>\n    <os_type>hvm</os_type>\n    <arch name='x86_64'>\n      <wordsize>64</wordsize>\n      <emulator>/usr/lib/xen/bin/qemu-system-i386</emulator>\n      <machine>xenfv</machine>\n      <domain type='xen'/>\n    </arch>\n  </guest>\n` +
      `  <guest>\n    <os_type>xen</os_type>\n    <arch name='x86_64'>\n      <wordsize>64</wordsize>\n      <machine>xenpv</machine>\n      <domain type='xen'/>\n    </arch>\n  </guest>\n`;
  }
  return `  <guest>\n    <os_type>hvm</os_type>\n    <arch name='x86_64'>\n      <wordsize>64</wordsize>\n      <emulator>/usr/bin/qemu-system-x86_64</emulator>\n` +
    `      <machine maxCpus='512'>pc-q35-8.2</machine>\n      <domain type='kvm'/>\n      <domain type='qemu'/>\n    </arch>\n  </guest>\n`;
}
