/**
 * Level-2 baselines run in the same harness as ours, each with its published
 * defaults. They share the hard constraints (memory capacity, anti-affinity,
 * maintenance) through WorkCluster; everything else is their own rule.
 */
import { WorkCluster, dirtyRateOf, migrationSeconds, type WorkHost } from './cluster.js';
import { countAbove, forecastAr1, last, mean, stddev } from './mathx.js';
import type { Level2Policy, Move, PlanInput, VmState } from './types.js';

const BW = 119; // MiB/s, 1 Gbit/s

export const staticPolicy: Level2Policy = { name: 'static', plan: () => [] };

// ---------------------------------------------------------------- DRS-like
export interface DrsConfig {
  /** Migration threshold 1 (conservative) .. 5 (aggressive); moves of priority <= it are made. */
  threshold: number;
  /** DRS invocation period, seconds. */
  everySeconds: number;
  /** Advanced option MaxMovesPerHost (pre-adaptive default). */
  maxMovesPerHost: number;
}
export const DEFAULT_DRS: DrsConfig = { threshold: 3, everySeconds: 300, maxMovesPerHost: 8 };

/**
 * Priority of a recommendation, VMware KB 1007485 as published:
 * 6 - ceil(LoadImbalanceMetric / 0.1 * sqrt(NumHosts)), read left to right.
 */
export function drsPriority(imbalance: number, hosts: number): number {
  return 6 - Math.ceil((imbalance / 0.1) * Math.sqrt(hosts));
}

export function planDrs(input: PlanInput, cfg: DrsConfig = DEFAULT_DRS): Move[] {
  // Host load = sum of VM demand (mean over the invocation period) / capacity.
  const span = Math.max(1, Math.round(cfg.everySeconds / input.period));
  const w = new WorkCluster(input, (v) => mean(v.cpuHistory.slice(-span)));
  const hosts = [...w.hosts.values()];
  if (hosts.length < 2) return [];
  const moves = new Map<string, number>();
  const loads = (): number[] => hosts.map((h) => w.util(h));
  while (true) {
    const imb = stddev(loads());
    if (drsPriority(imb, hosts.length) > cfg.threshold) break;
    // Greedy: the single move that lowers the imbalance most, net of its cost.
    let best: { v: number; to: WorkHost; gain: number; secs: number } | undefined;
    for (const src of hosts) {
      if ((moves.get(src.spec.name) ?? 0) >= cfg.maxMovesPerHost) continue;
      for (const v of src.vms) {
        const vm = w.vms[v] as VmState;
        if (vm.migrating || w.moved[v]) continue;
        const c = w.cpu[v] as number;
        for (const to of hosts) {
          if (to === src || (moves.get(to.spec.name) ?? 0) >= cfg.maxMovesPerHost || !w.feasible(v, to)) continue;
          src.cpu -= c;
          to.cpu += c;
          const after = stddev(loads());
          src.cpu += c;
          to.cpu -= c;
          const secs = migrationSeconds(vm.memMiB, dirtyRateOf(vm), BW);
          // Cost-benefit: the gain must outweigh the migration's cost over the invocation period.
          const gain = imb - after - (secs / cfg.everySeconds) * 0.01;
          if (gain > 0 && (!best || gain > best.gain)) best = { v, to, gain, secs };
        }
      }
    }
    if (!best) break;
    const from = (w.at[best.v] as WorkHost).spec.name;
    w.apply(best.v, best.to, 'imbalance', best.gain, best.secs);
    moves.set(from, (moves.get(from) ?? 0) + 1);
    moves.set(best.to.spec.name, (moves.get(best.to.spec.name) ?? 0) + 1);
  }
  return w.moves;
}

export function drsPolicy(cfg: Partial<DrsConfig> = {}): Level2Policy {
  const c = { ...DEFAULT_DRS, ...cfg };
  return { name: 'drs', everySeconds: c.everySeconds, plan: (i) => planDrs(i, c) };
}

// ---------------------------------------------------------------- Sandpiper-like
export interface SandpiperConfig {
  k: number;
  n: number;
  /** Utilisation threshold for CPU, memory and network. */
  threshold: number;
}
export const DEFAULT_SANDPIPER: SandpiperConfig = { k: 3, n: 5, threshold: 0.75 };

/** Sandpiper's volume: 1 / ((1-cpu)(1-mem)(1-net)), each utilisation capped below 1. */
export function volume(cpu: number, mem: number, net: number): number {
  const f = (u: number): number => 1 / (1 - Math.min(0.99, Math.max(0, u)));
  return f(cpu) * f(mem) * f(net);
}

export function sandpiperHot(history: readonly number[], c: SandpiperConfig): boolean {
  return countAbove(history, c.n, c.threshold) >= c.k && forecastAr1(history, c.n) > c.threshold;
}

export function planSandpiper(input: PlanInput, cfg: SandpiperConfig = DEFAULT_SANDPIPER): Move[] {
  const w = new WorkCluster(input);
  const hosts = [...w.hosts.values()];
  const netCap = (h: WorkHost): number => h.spec.netMbps ?? 1000;
  const vmNet = (v: VmState): number => v.netMbps ?? 0;
  const hostNet = (h: WorkHost): number => h.vms.reduce((s, i) => s + vmNet(w.vms[i] as VmState), 0);
  const hostVol = (h: WorkHost): number => volume(w.util(h), h.mem / h.spec.memMiB, hostNet(h) / netCap(h));
  const hot = hosts.filter((h) =>
    sandpiperHot(h.spec.cpuHistory, cfg) ||
    (h.spec.memHistory !== undefined && sandpiperHot(h.spec.memHistory, cfg)) ||
    (h.spec.netHistory !== undefined && sandpiperHot(h.spec.netHistory.map((x) => x / netCap(h)), cfg)));
  // Hottest (largest volume) first.
  hot.sort((a, b) => hostVol(b) - hostVol(a));
  const hotNames = new Set(hot.map((h) => h.spec.name));
  for (const src of hot) {
    // VMs by decreasing volume-to-size ratio (size = memory footprint).
    const vsr = (i: number): number => {
      const v = w.vms[i] as VmState;
      return volume((w.cpu[i] as number) / src.spec.cores, v.memMiB / src.spec.memMiB, vmNet(v) / netCap(src)) / Math.max(1, v.memMiB);
    };
    const list = src.vms.filter((i) => !(w.vms[i] as VmState).migrating).sort((a, b) => vsr(b) - vsr(a));
    for (const wv of list) {
      if (w.util(src) <= cfg.threshold) break;
      const vm = w.vms[wv] as VmState;
      const c = w.cpu[wv] as number;
      // Least-loaded (lowest volume) node that can take the VM without becoming hot itself.
      const targets = hosts
        .filter((to) => to !== src && !hotNames.has(to.spec.name) && w.feasible(wv, to) && (to.cpu + c) / to.spec.cores <= cfg.threshold)
        .sort((a, b) => hostVol(a) - hostVol(b));
      const to = targets[0];
      if (!to) continue;
      w.apply(wv, to, 'hotspot', 0, migrationSeconds(vm.memMiB, dirtyRateOf(vm), BW));
    }
  }
  return w.moves;
}

export function sandpiperPolicy(cfg: Partial<SandpiperConfig> = {}): Level2Policy {
  const c = { ...DEFAULT_SANDPIPER, ...cfg };
  return { name: 'sandpiper', plan: (i) => planSandpiper(i, c) };
}

// ---------------------------------------------------------------- oVirt even distribution
export interface OvirtConfig {
  /** HighUtilization, %/100. */
  high: number;
  /** Target hosts must be under this (LowUtilization side of the even-distribution rule). */
  low: number;
  /** CpuOverCommitDurationMinutes, in seconds. */
  durationSec: number;
  /** oVirt's balancing runs every minute. */
  everySeconds: number;
}
export const DEFAULT_OVIRT: OvirtConfig = { high: 0.75, low: 0.6, durationSec: 120, everySeconds: 60 };

export function planOvirt(input: PlanInput, cfg: OvirtConfig = DEFAULT_OVIRT): Move[] {
  const w = new WorkCluster(input);
  const hosts = [...w.hosts.values()];
  const need = Math.max(1, Math.ceil(cfg.durationSec / input.period));
  // Over-utilised: at or above HighUtilization for the whole duration; the worst one is balanced.
  const over = hosts
    .filter((h) => h.spec.cpuHistory.length >= need && h.spec.cpuHistory.slice(-need).every((u) => u >= cfg.high))
    .sort((a, b) => last(b.spec.cpuHistory) - last(a.spec.cpuHistory));
  for (const src of over) {
    // The VM with the least CPU x vCPUs (its demand in cores) goes.
    const wv = src.vms
      .filter((i) => !(w.vms[i] as VmState).migrating)
      .sort((a, b) => (w.cpu[a] as number) - (w.cpu[b] as number))[0];
    if (wv === undefined) continue;
    const to = hosts
      .filter((h) => h !== src && last(h.spec.cpuHistory) < cfg.low && w.feasible(wv, h))
      .sort((a, b) => w.util(a) - w.util(b))[0];
    if (!to) continue;
    const vm = w.vms[wv] as VmState;
    w.apply(wv, to, 'hotspot', 0, migrationSeconds(vm.memMiB, dirtyRateOf(vm), BW));
    break; // one VM per balancing run
  }
  return w.moves;
}

export function ovirtPolicy(cfg: Partial<OvirtConfig> = {}): Level2Policy {
  const c = { ...DEFAULT_OVIRT, ...cfg };
  return { name: 'ovirt', everySeconds: c.everySeconds, plan: (i) => planOvirt(i, c) };
}
