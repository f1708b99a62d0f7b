/** Bulk stats records (connectGetAllDomainStats) built from a simulated domain, libvirt's field names included. */
import type { DomainStats } from '../hypervisor.js';
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

export function buildStats(d: SimDomain, host: SimHost, nowSec: number, sizer: DiskSizer): DomainStats {
  const c = d.current;
  const stateNum = DOMAIN_STATES.indexOf(d.state);
  const raw: Record<string, number | string | boolean> = {
    'state.state': stateNum,
    'state.reason': d.reason,
  };
  const rec: DomainStats = { name: c.name, uuid: c.uuid, state: { state: d.state, reason: d.reason }, raw };
  raw['balloon.current'] = c.memKiB;
  raw['balloon.maximum'] = c.maxMemKiB;
  raw['vcpu.current'] = c.vcpus;
  raw['vcpu.maximum'] = c.maxVcpus;
  if (!d.live) {
    rec.balloon = { currentKiB: c.memKiB, maximumKiB: c.maxMemKiB };
    rec.vcpu = { current: c.vcpus, maximum: c.maxVcpus, timesNs: [] };
    return rec;
  }
  const cpu = d.cpuTimeNs;
  const user = cpu * 0.82;
  const sys = cpu * 0.12;
  rec.cpu = { timeNs: cpu, userNs: user, systemNs: sys };
  raw['cpu.time'] = cpu;
  raw['cpu.user'] = user;
  raw['cpu.system'] = sys;

  const rss = host.rssKiB(d);
  const used = Math.min(c.memKiB, c.maxMemKiB * d.memFrac);
  const unused = Math.max(0, c.memKiB - used);
  const usable = unused + used * 0.25;
  rec.balloon = { currentKiB: c.memKiB, maximumKiB: c.maxMemKiB, availableKiB: c.memKiB, usableKiB: usable, unusedKiB: unused, rssKiB: rss };
  raw['balloon.swap_in'] = 0;
  raw['balloon.swap_out'] = 0;
  raw['balloon.available'] = c.memKiB;
  raw['balloon.usable'] = usable;
  raw['balloon.unused'] = unused;
  raw['balloon.rss'] = rss;
  raw['balloon.last-update'] = Math.floor(nowSec);

  const n = c.vcpus;
  const times: number[] = new Array<number>(n);
  const w = d.vcpuWeights;
  let wsum = 0;
  for (let i = 0; i < n; i++) wsum += w[i] ?? 1;
  const state = d.state === 'running' ? 1 : 0;
  for (let i = 0; i < n; i++) {
    const t = (cpu * 0.94 * (w[i] ?? 1)) / wsum;
    times[i] = t;
    const k = vk(i);
    raw[k.state] = state;
    raw[k.time] = t;
  }
  rec.vcpu = { current: n, maximum: c.maxVcpus, timesNs: times };

  const nics = c.nics;
  raw['net.count'] = nics.length;
  const net: NonNullable<DomainStats['net']> = new Array(nics.length);
  for (let i = 0; i < nics.length; i++) {
    const io = d.nicIo[i];
    const k = nk(i);
    const name = `vnet${d.id * 4 + i}`;
    const rxB = Math.floor(io?.rxBytes ?? 0);
    const txB = Math.floor(io?.txBytes ?? 0);
    const rxP = io?.rxPkts ?? 0;
    const txP = io?.txPkts ?? 0;
    net[i] = { name, rxBytes: rxB, rxPkts: rxP, txBytes: txB, txPkts: txP, rxErrs: 0, txErrs: 0, rxDrop: 0, txDrop: 0 };
    raw[k.name] = name;
    raw[k.rxB] = rxB;
    raw[k.rxP] = rxP;
    raw[k.rxE] = 0;
    raw[k.rxD] = 0;
    raw[k.txB] = txB;
    raw[k.txP] = txP;
    raw[k.txE] = 0;
    raw[k.txD] = 0;
  }
  rec.net = net;

  const disks = c.disks;
  raw['block.count'] = disks.length;
  const block: NonNullable<DomainStats['block']> = new Array(disks.length);
  for (let i = 0; i < disks.length; i++) {
    const disk = disks[i];
    if (!disk) continue;
    const io = d.diskIo[i];
    const k = bk(i);
    const size = sizer(disk.source) ?? { capacity: disk.capacity ?? 20 * GiB, allocation: (disk.capacity ?? 20 * GiB) / 2 };
    const rdB = Math.floor(io?.rdBytes ?? 0);
    const wrB = Math.floor(io?.wrBytes ?? 0);
    const rdR = io?.rdReqs ?? 0;
    const wrR = io?.wrReqs ?? 0;
    const b = { name: disk.target, path: disk.source, rdBytes: rdB, rdReqs: rdR, wrBytes: wrB, wrReqs: wrR, capacity: size.capacity, allocation: size.allocation, physical: size.allocation };
    block[i] = b;
    raw[k.name] = disk.target;
    if (disk.source !== undefined) raw[k.path] = disk.source;
    raw[k.rdR] = rdR;
    raw[k.rdB] = rdB;
    raw[k.wrR] = wrR;
    raw[k.wrB] = wrB;
    raw[k.cap] = size.capacity;
    raw[k.alloc] = size.allocation;
    raw[k.phys] = size.allocation;
  }
  rec.block = block;
  return rec;
}
