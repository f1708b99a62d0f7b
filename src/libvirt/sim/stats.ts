/** Bulk stats records (connectGetAllDomainStats) built from a simulated domain, libvirt's field names included. */
import type { DomainMemoryStats, DomainState, DomainStats } from '../hypervisor.js';
import { DOMAIN_STATES } from '../hypervisor.js';
import type { SimDomain } from './domain.js';
import type { SimHost } from './host.js';

/** Parameter names cached per device index: no string building per poll. */
interface NetKeys { name: string; rxB: string; rxP: string; rxE: string; rxD: string; txB: string; txP: string; txE: string; txD: string }
interface BlkKeys { name: string; path: string; rdR: string; rdB: string; wrR: string; wrB: string; cap: string; alloc: string; phys: string }
interface VcpuKeys { state: string; time: string }
const netKeys: NetKeys[] = [];
const blkKeys: BlkKeys[] = [];
const vcpuKeys: VcpuKeys[] = [];

function nk(i: number): NetKeys {
  let k = netKeys[i];
  if (!k) {
    const p = `net.${i}.`;
    k = { name: p + 'name', rxB: p + 'rx.bytes', rxP: p + 'rx.pkts', rxE: p + 'rx.errs', rxD: p + 'rx.drop', txB: p + 'tx.bytes', txP: p + 'tx.pkts', txE: p + 'tx.errs', txD: p + 'tx.drop' };
    netKeys[i] = k;
  }
  return k;
}
function bk(i: number): BlkKeys {
  let k = blkKeys[i];
  if (!k) {
    const p = `block.${i}.`;
    k = { name: p + 'name', path: p + 'path', rdR: p + 'rd.reqs', rdB: p + 'rd.bytes', wrR: p + 'wr.reqs', wrB: p + 'wr.bytes', cap: p + 'capacity', alloc: p + 'allocation', phys: p + 'physical' };
    blkKeys[i] = k;
  }
  return k;
}
function vk(i: number): VcpuKeys {
  let k = vcpuKeys[i];
  if (!k) {
    k = { state: `vcpu.${i}.state`, time: `vcpu.${i}.time` };
    vcpuKeys[i] = k;
  }
  return k;
}

const GiB = 1024 ** 3;

/** Capacity and allocation of a disk, for block stats (from the pool when the host knows the volume). */
export type DiskSizer = (path: string | undefined) => { capacity: number; allocation: number } | undefined;

/**
 * A bulk-stats record. The typed fields are built at once; `raw` (every field
 * under libvirt's name) is built on first read: the agent reads typed fields,
 * and building 50 named fields for 10,000 VMs every second is most of a poll.
 */
class SimDomainStats implements DomainStats {
  name: string;
  uuid: string;
  state: { state: DomainState; reason: number };
  cpu?: DomainStats['cpu'];
  balloon?: DomainStats['balloon'];
  vcpu?: DomainStats['vcpu'];
  net?: DomainStats['net'];
  block?: DomainStats['block'];
  #raw: Record<string, number | string | boolean> | undefined;
  readonly #nowSec: number;

  constructor(name: string, uuid: string, state: DomainState, reason: number, nowSec: number) {
    this.name = name;
    this.uuid = uuid;
    this.state = { state, reason };
    this.#nowSec = nowSec;
  }

  get raw(): Record<string, number | string | boolean> {
    this.#raw ??= rawOf(this, this.#nowSec);
    return this.#raw;
  }

  set raw(v: Record<string, number | string | boolean>) {
    this.#raw = v;
  }

  toJSON(): DomainStats {
    return { name: this.name, uuid: this.uuid, state: this.state, cpu: this.cpu, balloon: this.balloon, vcpu: this.vcpu, net: this.net, block: this.block, raw: this.raw };
  }
}

function rawOf(s: DomainStats, nowSec: number): Record<string, number | string | boolean> {
  const st = s.state ?? { state: 'nostate', reason: 0 };
  const raw: Record<string, number | string | boolean> = { 'state.state': DOMAIN_STATES.indexOf(st.state), 'state.reason': st.reason };
  if (s.cpu) {
    raw['cpu.time'] = s.cpu.timeNs;
    if (s.cpu.userNs !== undefined) raw['cpu.user'] = s.cpu.userNs;
    if (s.cpu.systemNs !== undefined) raw['cpu.system'] = s.cpu.systemNs;
  }
  const b = s.balloon;
  if (b) {
    raw['balloon.current'] = b.currentKiB;
    raw['balloon.maximum'] = b.maximumKiB;
    if (b.rssKiB !== undefined) {
      raw['balloon.swap_in'] = 0;
      raw['balloon.swap_out'] = 0;
      raw['balloon.available'] = b.availableKiB ?? b.currentKiB;
      raw['balloon.usable'] = b.usableKiB ?? 0;
      raw['balloon.unused'] = b.unusedKiB ?? 0;
      raw['balloon.rss'] = b.rssKiB;
      raw['balloon.last-update'] = Math.floor(nowSec);
    }
  }
  const v = s.vcpu;
  if (v) {
    raw['vcpu.current'] = v.current;
    raw['vcpu.maximum'] = v.maximum;
    v.timesNs.forEach((t, i) => {
      const k = vk(i);
      raw[k.state] = st.state === 'running' ? 1 : 0;
      raw[k.time] = t;
    });
  }
  if (s.net) {
    raw['net.count'] = s.net.length;
    s.net.forEach((n, i) => {
      const k = nk(i);
      raw[k.name] = n.name;
      raw[k.rxB] = n.rxBytes;
      raw[k.rxP] = n.rxPkts;
      raw[k.rxE] = n.rxErrs ?? 0;
      raw[k.rxD] = n.rxDrop ?? 0;
      raw[k.txB] = n.txBytes;
      raw[k.txP] = n.txPkts;
      raw[k.txE] = n.txErrs ?? 0;
      raw[k.txD] = n.txDrop ?? 0;
    });
  }
  if (s.block) {
    raw['block.count'] = s.block.length;
    s.block.forEach((x, i) => {
      const k = bk(i);
      raw[k.name] = x.name;
      if (x.path !== undefined) raw[k.path] = x.path;
      raw[k.rdR] = x.rdReqs;
      raw[k.rdB] = x.rdBytes;
      raw[k.wrR] = x.wrReqs;
      raw[k.wrB] = x.wrBytes;
      if (x.capacity !== undefined) raw[k.cap] = x.capacity;
      if (x.allocation !== undefined) raw[k.alloc] = x.allocation;
      if (x.physical !== undefined) raw[k.phys] = x.physical;
    });
  }
  return raw;
}

export function buildStats(d: SimDomain, host: SimHost, nowSec: number, sizer: DiskSizer): DomainStats {
  const c = d.current;
  const rec = new SimDomainStats(c.name, c.uuid, d.state, d.reason, nowSec);
  if (!d.live) {
    rec.balloon = { currentKiB: c.memKiB, maximumKiB: c.maxMemKiB };
    rec.vcpu = { current: c.vcpus, maximum: c.maxVcpus, timesNs: [] };
    return rec;
  }
  const cpu = Math.round(d.cpuTimeNs);
  rec.cpu = { timeNs: cpu, userNs: Math.round(cpu * 0.82), systemNs: Math.round(cpu * 0.12) };
  const rss = host.rssKiB(d);
  const used = Math.min(c.memKiB, c.maxMemKiB * d.memFrac);
  const unused = Math.max(0, c.memKiB - used);
  rec.balloon = { currentKiB: c.memKiB, maximumKiB: c.maxMemKiB, availableKiB: c.memKiB, usableKiB: unused + used * 0.25, unusedKiB: unused, rssKiB: rss };
  const n = c.vcpus;
  const times: number[] = new Array<number>(n);
  const w = d.vcpuWeights;
  let wsum = 0;
  for (let i = 0; i < n; i++) wsum += w[i] ?? 1;
  for (let i = 0; i < n; i++) times[i] = Math.round((cpu * 0.94 * (w[i] ?? 1)) / wsum);
  rec.vcpu = { current: n, maximum: c.maxVcpus, timesNs: times };
  const nics = c.nics;
  const net: NonNullable<DomainStats['net']> = new Array(nics.length);
  for (let i = 0; i < nics.length; i++) {
    const io = d.nicIo[i];
    const rxBytes = Math.floor(io?.rxBytes ?? 0);
    const txBytes = Math.floor(io?.txBytes ?? 0);
    net[i] = { name: `vnet${d.id * 4 + i}`, rxBytes, rxPkts: io?.rxPkts ?? 0, txBytes, txPkts: io?.txPkts ?? 0, rxErrs: 0, txErrs: 0, rxDrop: 0, txDrop: 0 };
  }
  rec.net = net;
  const disks = c.disks;
  const block: NonNullable<DomainStats['block']> = new Array(disks.length);
  for (let i = 0; i < disks.length; i++) {
    const disk = disks[i];
    if (!disk) continue;
    const io = d.diskIo[i];
    const size = sizer(disk.source);
    const capacity = size?.capacity ?? disk.capacity ?? 20 * GiB;
    const allocation = size?.allocation ?? capacity / 2;
    block[i] = { name: disk.target, path: disk.source, rdBytes: Math.floor(io?.rdBytes ?? 0), rdReqs: io?.rdReqs ?? 0, wrBytes: Math.floor(io?.wrBytes ?? 0), wrReqs: io?.wrReqs ?? 0, capacity, allocation, physical: allocation };
  }
  rec.block = block;
  return rec;
}

/** virDomainMemoryStats as each kind of driver answers it (drivers.ts memoryTags), from the bulk-shaped record. */
export function memoryStatsOf(tags: 'balloon' | 'cgroup' | 'libxl', s: DomainStats): DomainMemoryStats {
  const b = s.balloon;
  if (!b) return {};
  if (tags === 'libxl') return { actualKiB: b.currentKiB, availableKiB: b.maximumKiB };
  if (tags === 'cgroup') return { actualKiB: b.currentKiB, swapInKiB: b.rssKiB ?? 0, rssKiB: b.rssKiB ?? 0 };
  const out: DomainMemoryStats = { actualKiB: b.currentKiB, swapInKiB: 0, swapOutKiB: 0 };
  if (b.availableKiB !== undefined) out.availableKiB = b.availableKiB;
  if (b.unusedKiB !== undefined) out.unusedKiB = b.unusedKiB;
  if (b.usableKiB !== undefined) out.usableKiB = b.usableKiB;
  if (b.rssKiB !== undefined) out.rssKiB = b.rssKiB;
  return out;
}
