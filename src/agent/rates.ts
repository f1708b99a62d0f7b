/** Turning cumulative counters from two polls into rates (pure). */
import type { DomainStats, NodeStats } from '../libvirt/hypervisor.js';
import type { NodeField, Sample, VmField } from './history.js';

/** The cumulative counters of one VM at one poll. */
export interface VmCounters {
  atMs: number;
  cpuNs: number;
  rdBytes: number;
  wrBytes: number;
  rxBytes: number;
  txBytes: number;
}

export function vmCounters(s: DomainStats, atMs: number): VmCounters {
  return vmCountersInto({ atMs: 0, cpuNs: 0, rdBytes: 0, wrBytes: 0, rxBytes: 0, txBytes: 0 }, s, atMs);
}

/** Fills `out` in place (the collector reuses one object per VM: no garbage per poll). */
export function vmCountersInto(out: VmCounters, s: DomainStats, atMs: number): VmCounters {
  let rd = 0;
  let wr = 0;
  let rx = 0;
  let tx = 0;
  if (s.block) {
    for (const b of s.block) {
      rd += b.rdBytes;
      wr += b.wrBytes;
    }
  }
  if (s.net) {
    for (const n of s.net) {
      rx += n.rxBytes;
      tx += n.txBytes;
    }
  }
  out.atMs = atMs;
  out.cpuNs = s.cpu?.timeNs ?? 0;
  out.rdBytes = rd;
  out.wrBytes = wr;
  out.rxBytes = rx;
  out.txBytes = tx;
  return out;
}

/**
 * Memory in use inside the VM: from the balloon driver when it reports, else the QEMU process RSS.
 * Undefined when the record has neither (the per-domain route of LXC and Xen: GetInfo's memory is
 * the allocation, and calling that "used" showed every container at 100 %).
 */
export function memUsedKiB(s: DomainStats): number | undefined {
  const b = s.balloon;
  if (!b) return undefined;
  if (b.availableKiB !== undefined && b.unusedKiB !== undefined && b.availableKiB >= b.unusedKiB) return b.availableKiB - b.unusedKiB;
  if (b.rssKiB !== undefined) return Math.min(b.rssKiB, b.currentKiB || b.rssKiB);
  return undefined;
}

/**
 * A figure the driver does not give is stored as NaN in the history (a Float32 column has no
 * "absent") and leaves the agent as an absent field, never as a zero.
 */
export const ABSENT = NaN;

/** A stored figure as it leaves the agent: undefined where the driver gave none. */
export function present(v: number | undefined): number | undefined {
  return v === undefined || Number.isNaN(v) ? undefined : v;
}

export function isActive(s: DomainStats): boolean {
  const st = s.state?.state;
  return st === 'running' || st === 'blocked' || st === 'paused' || st === 'shutdown' || st === 'pmsuspended';
}

function perSec(cur: number, prev: number, sec: number): number {
  const d = cur - prev;
  return d > 0 ? d / sec : 0; // a counter that went back (VM restarted) counts as no traffic for this tick
}

/** One VM sample from two polls, written into `out`; undefined for the first poll of a VM (no rate yet). */
export function vmSample(prev: VmCounters | undefined, cur: VmCounters, s: DomainStats, hostCpus: number, out?: Sample<VmField>): Sample<VmField> | undefined {
  if (!prev) return undefined;
  const sec = (cur.atMs - prev.atMs) / 1000;
  if (!(sec > 0)) return undefined;
  const active = isActive(s);
  const cpuNsPerSec = active ? perSec(cur.cpuNs, prev.cpuNs, sec) : 0;
  const vcpus = s.vcpu?.current ?? 1;
  const o = out ?? ({} as Sample<VmField>);
  o.cpuPct = (cpuNsPerSec / 1e9 / Math.max(1, hostCpus)) * 100;
  o.vcpuPct = (cpuNsPerSec / 1e9 / Math.max(1, vcpus)) * 100;
  o.memKiB = active ? (s.balloon?.currentKiB ?? 0) : 0;
  // A stopped VM uses nothing and moves no bytes, whatever its driver: zeros there are true figures.
  // A running one without block, interface or balloon-detail stats (per-domain route): absent.
  if (!active) {
    o.memUsedKiB = o.diskRdBps = o.diskWrBps = o.netRxBps = o.netTxBps = 0;
    return o;
  }
  o.memUsedKiB = memUsedKiB(s) ?? ABSENT;
  o.diskRdBps = s.block ? perSec(cur.rdBytes, prev.rdBytes, sec) : ABSENT;
  o.diskWrBps = s.block ? perSec(cur.wrBytes, prev.wrBytes, sec) : ABSENT;
  o.netRxBps = s.net ? perSec(cur.rxBytes, prev.rxBytes, sec) : ABSENT;
  o.netTxBps = s.net ? perSec(cur.txBytes, prev.txBytes, sec) : ABSENT;
  return o;
}

/** The node's own sample: host CPU busy and iowait %, memory in use. */
export function nodeSample(prev: NodeStats | undefined, cur: NodeStats, extra: { vmsRunning: number; vmCpuPct: number; collectMs: number }): Sample<NodeField> {
  let cpuPct = 0;
  let iowaitPct = 0;
  if (prev) {
    const busy = cur.cpu.kernelNs + cur.cpu.userNs - (prev.cpu.kernelNs + prev.cpu.userNs);
    const io = cur.cpu.iowaitNs - prev.cpu.iowaitNs;
    const idle = cur.cpu.idleNs - prev.cpu.idleNs;
    const total = busy + io + idle;
    if (total > 0) {
      cpuPct = (Math.max(0, busy) / total) * 100;
      iowaitPct = (Math.max(0, io) / total) * 100;
    }
  }
  const m = cur.memory;
  return {
    cpuPct,
    iowaitPct,
    memUsedKiB: Math.max(0, m.totalKiB - m.freeKiB - m.buffersKiB - m.cachedKiB),
    memTotalKiB: m.totalKiB,
    vmsRunning: extra.vmsRunning,
    vmCpuPct: extra.vmCpuPct,
    collectMs: extra.collectMs,
  };
}
