/** A plausible fleet from a seed: node hardware and VMs with roles, sizes, disks, NICs and workloads. */
import type { DiskDef, DomainConfig, NicDef } from './domain-config.js';
import type { HostSpec } from './host.js';
import type { WorkloadKind } from './workload.js';
import { macFrom, Rng, uuidFrom } from './rng.js';
import { adaptConfig, type SimDriverKind } from './drivers.js';

const GiB = 1024 ** 3;
const KiBperGiB = 1024 * 1024;

interface Role {
  prefix: string;
  weight: number;
  kinds: WorkloadKind[];
  io: 'light' | 'web' | 'db' | 'batch';
  vcpus: number[];
  memGiB: number[];
  diskGiB: number[];
  dataGiB?: number;
  backend?: boolean;
}

const ROLES: Role[] = [
  { prefix: 'web', weight: 6, kinds: ['diurnal'], io: 'web', vcpus: [2, 4], memGiB: [2, 4], diskGiB: [20, 30] },
  { prefix: 'api', weight: 5, kinds: ['diurnal', 'bursty'], io: 'web', vcpus: [2, 4], memGiB: [4, 8], diskGiB: [20, 40], backend: true },
  { prefix: 'db', weight: 3, kinds: ['diurnal'], io: 'db', vcpus: [4, 8], memGiB: [8, 16], diskGiB: [40], dataGiB: 200, backend: true },
  { prefix: 'cache', weight: 2, kinds: ['bursty'], io: 'web', vcpus: [2], memGiB: [4, 8], diskGiB: [20], backend: true },
  { prefix: 'ci-runner', weight: 3, kinds: ['bursty', 'on-off'], io: 'batch', vcpus: [4, 8], memGiB: [4, 8], diskGiB: [80] },
  { prefix: 'batch', weight: 2, kinds: ['on-off'], io: 'batch', vcpus: [4, 8], memGiB: [8], diskGiB: [60] },
  { prefix: 'analytics', weight: 2, kinds: ['ramp'], io: 'batch', vcpus: [4, 8], memGiB: [8, 16], diskGiB: [100] },
  { prefix: 'k8s-worker', weight: 4, kinds: ['bursty', 'diurnal'], io: 'web', vcpus: [4, 8], memGiB: [8, 16], diskGiB: [60] },
  { prefix: 'mail', weight: 1, kinds: ['diurnal'], io: 'light', vcpus: [1, 2], memGiB: [2], diskGiB: [40] },
  { prefix: 'ldap', weight: 1, kinds: ['idle'], io: 'light', vcpus: [1], memGiB: [1, 2], diskGiB: [10], backend: true },
  { prefix: 'dns', weight: 1, kinds: ['idle'], io: 'light', vcpus: [1], memGiB: [1], diskGiB: [10] },
  { prefix: 'monitor', weight: 1, kinds: ['ramp', 'diurnal'], io: 'light', vcpus: [2], memGiB: [4], diskGiB: [80] },
  { prefix: 'dev', weight: 3, kinds: ['idle', 'bursty'], io: 'light', vcpus: [2, 4], memGiB: [2, 4], diskGiB: [30] },
  { prefix: 'backup', weight: 1, kinds: ['on-off'], io: 'batch', vcpus: [2], memGiB: [2], diskGiB: [20] },
];
const TOTAL_WEIGHT = ROLES.reduce((s, r) => s + r.weight, 0);

const HARDWARE = [
  { cpuModel: 'Intel Xeon Silver 4314', sockets: 2, coresPerSocket: 16, threads: 2, mhz: 2400, memGiB: 256, linkMiBs: 1100 },
  { cpuModel: 'Intel Xeon Gold 6342', sockets: 2, coresPerSocket: 24, threads: 2, mhz: 2800, memGiB: 384, linkMiBs: 1100 },
  { cpuModel: 'AMD EPYC 7543P', sockets: 1, coresPerSocket: 32, threads: 2, mhz: 2800, memGiB: 256, linkMiBs: 1100 },
  { cpuModel: 'AMD EPYC 7313P', sockets: 1, coresPerSocket: 16, threads: 2, mhz: 3000, memGiB: 128, linkMiBs: 117 },
  { cpuModel: 'Intel Xeon E5-2640 v4', sockets: 2, coresPerSocket: 10, threads: 2, mhz: 2400, memGiB: 128, linkMiBs: 117 },
];

export interface PlannedVm {
  config: DomainConfig;
  kind: WorkloadKind;
  io: Role['io'];
  state: 'running' | 'shutoff' | 'paused';
  autostart: boolean;
  /** Volumes the VM uses: [pool, name, capacity, allocation, format]. */
  volumes: Array<{ pool: string; name: string; path: string; capacity: number; allocation: number; format: string }>;
}

export interface PlannedNode {
  name: string;
  spec: HostSpec;
  vms: PlannedVm[];
}

/** Node names: node-01 ... node-200; a node of another driver is named for it (lxc-01, xen-01), numbered among its kind. */
export function nodeName(i: number, total: number, kinds?: readonly SimDriverKind[]): string {
  const kind = kinds?.[i] ?? 'qemu';
  if (kind === 'qemu') return `node-${String(i + 1).padStart(Math.max(2, String(total).length), '0')}`;
  const nth = (kinds ?? []).slice(0, i + 1).filter((k) => k === kind).length;
  return `${kind}-${String(nth).padStart(2, '0')}`;
}

/** The small box of a hot node (opt-in `hotspots`): few cores for its VMs, so demand exceeds capacity. */
const HOT_HARDWARE = { cpuModel: 'Intel Xeon E-2236', sockets: 1, coresPerSocket: 6, threads: 2, mhz: 3400, memGiB: 64, linkMiBs: 117 };

/** Node 3 of every 5 is the older, smaller box; with `hotspots` it is a hot one (see HOT_HARDWARE). */
export function isHotspotSlot(nodeIndex: number): boolean {
  return nodeIndex % 5 === 2;
}

/** `drivers[i]`: the kind of node i (default QEMU); hotspots fall on QEMU nodes only, so the balancer's work stays movable. */
export function planCluster(nodes: number, vmsPerNode: number, seed: number, o: { hotspots?: boolean; drivers?: readonly SimDriverKind[] } = {}): PlannedNode[] {
  const rng = new Rng(seed);
  const counters = new Map<string, number>();
  const out: PlannedNode[] = [];
  for (let n = 0; n < nodes; n++) {
    const name = nodeName(n, nodes, o.drivers);
    const kind = o.drivers?.[n] ?? 'qemu';
    // Node 2 of every 5 is an older, smaller box: a natural hotspot for the balancer.
    const hot = o.hotspots === true && isHotspotSlot(n) && kind === 'qemu';
    const hw = hot ? HOT_HARDWARE : isHotspotSlot(n) ? HARDWARE[4] : rng.pick(HARDWARE.slice(0, 4));
    if (!hw) throw new Error('no hardware model');
    const vms: PlannedVm[] = [];
    for (let v = 0; v < vmsPerNode; v++) {
      const vm = planVm(rng, counters, v, vmsPerNode);
      // A container has no disk images of its own; a Xen guest keeps them (as xvd*).
      vms.push(kind === 'qemu' ? vm : { ...vm, config: adaptConfig(kind, vm.config), volumes: kind === 'lxc' ? [] : vm.volumes });
    }
    const vcpus = vms.reduce((s, x) => s + x.config.vcpus, 0);
    const memKiB = vms.filter((x) => x.state !== 'shutoff').reduce((s, x) => s + x.config.memKiB, 0);
    let cpus = hw.sockets * hw.coresPerSocket * hw.threads;
    // Keep vCPU overcommit below about 3:1 and memory commitment below 80 %.
    let sockets = hw.sockets;
    while (!hot && vcpus > cpus * 3) {
      sockets += 1;
      cpus = sockets * hw.coresPerSocket * hw.threads;
    }
    let memGiB = hw.memGiB;
    while (memKiB > memGiB * KiBperGiB * 0.8) memGiB += 64;
    out.push({
      name,
      spec: { name, cores: cpus, memKiB: memGiB * KiBperGiB, mhz: hw.mhz, cpuModel: hw.cpuModel, sockets, threads: hw.threads, linkMiBs: hw.linkMiBs, reservedKiB: 2 * KiBperGiB },
      vms,
    });
  }
  return out;
}

function pickRole(rng: Rng): Role {
  let x = rng.next() * TOTAL_WEIGHT;
  for (const r of ROLES) {
    x -= r.weight;
    if (x < 0) return r;
  }
  return ROLES[0] as Role;
}

function planVm(rng: Rng, counters: Map<string, number>, index: number, perNode: number): PlannedVm {
  const role = pickRole(rng);
  const seq = (counters.get(role.prefix) ?? 0) + 1;
  counters.set(role.prefix, seq);
  const name = `${role.prefix}-${String(seq).padStart(2, '0')}`;
  const vcpus = rng.pick(role.vcpus);
  const memGiB = rng.pick(role.memGiB);
  const diskGiB = rng.pick(role.diskGiB);
  const volumes: PlannedVm['volumes'] = [];
  const disks: DiskDef[] = [];
  const rootPath = `/var/lib/libvirt/images/${name}.qcow2`;
  volumes.push({ pool: 'default', name: `${name}.qcow2`, path: rootPath, capacity: diskGiB * GiB, allocation: Math.round(diskGiB * GiB * rng.range(0.2, 0.7)), format: 'qcow2' });
  disks.push({ type: 'file', device: 'disk', source: rootPath, target: 'vda', bus: 'virtio', format: 'qcow2', capacity: diskGiB * GiB });
  if (role.dataGiB) {
    const path = `/dev/vg_fast/${name}-data`;
    volumes.push({ pool: 'fast-ssd', name: `${name}-data`, path, capacity: role.dataGiB * GiB, allocation: role.dataGiB * GiB, format: 'raw' });
    disks.push({ type: 'block', device: 'disk', source: path, target: 'vdb', bus: 'virtio', format: 'raw', capacity: role.dataGiB * GiB });
  }
  if (role.prefix === 'dev' && rng.chance(0.5)) {
    disks.push({ type: 'file', device: 'cdrom', source: '/var/lib/libvirt/iso/debian-12.7.0-amd64-netinst.iso', target: 'sda', bus: 'sata', format: 'raw', readonly: true });
  }
  const nics: NicDef[] = [{ type: 'network', source: 'default', mac: macFrom(rng), model: 'virtio' }];
  if (role.backend) nics.push({ type: 'network', source: 'backend', mac: macFrom(rng), model: 'virtio' });
  // Most VMs run; a few are shut off or paused on every node of a decent size.
  const state: PlannedVm['state'] = perNode >= 6 && index === perNode - 1 ? 'shutoff' : perNode >= 10 && index === perNode - 2 ? 'paused' : rng.chance(0.06) ? 'shutoff' : 'running';
  const config: DomainConfig = {
    name,
    uuid: uuidFrom(rng),
    type: 'kvm',
    description: `${role.prefix} server (simulated)`,
    vcpus,
    maxVcpus: Math.max(vcpus, vcpus * 2 > 8 ? vcpus : vcpus * 2),
    memKiB: memGiB * KiBperGiB,
    maxMemKiB: memGiB * KiBperGiB,
    arch: 'x86_64',
    machine: 'pc-q35-8.2',
    boot: ['hd'],
    disks,
    nics,
    guestAgent: !rng.chance(0.12),
    cpuShares: 1024,
    vcpuPeriod: 100000,
    vcpuQuota: -1,
    workloadKind: rng.pick(role.kinds),
  };
  return { config, kind: config.workloadKind as WorkloadKind, io: role.io, state, autostart: state !== 'shutoff', volumes };
}
