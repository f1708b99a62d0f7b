/**
 * KubeVirt-descheduler-like: the descheduler's LowNodeUtilization plugin as
 * KubeVirt's RelieveAndMigrate profile runs it, from its published design:
 * - deviation thresholds: a node above the mean utilisation + 20 points in
 *   CPU or memory is over-utilised; below the mean - 20 points in both,
 *   under-utilised (with no under-utilised node nothing moves);
 * - every 300 s, from the most utilised over-utilised node down, VMs are
 *   evicted (live-migrated) in the node's own order (equal priority), at most
 *   5 per node a cycle, while the node is still above the high threshold and
 *   the under-utilised nodes still have room below it;
 * - the scheduler places each VM: the feasible node with the most free CPU and
 *   memory (least allocated, on actual use);
 * - a VM that migrated is left alone for max(15 min, its last migration's
 *   duration), doubled for each of its migrations in the last 24 h, at most 6 h.
 * A node being evacuated is drained: every VM is evicted at once (no per-node
 * limit, no cooldown) and placed by the scheduler.
 * Pure.
 */
import { WorkCluster, dirtyRateOf, migrationSeconds, type WorkHost } from '../cluster.js';
import { last } from '../mathx.js';
import type { Level2Policy, Move, PlanInput, VmState } from '../types.js';

export interface KubevirtConfig {
  /** Points (share of the node) above / below the mean that make a node over / under-utilised. */
  deviation: number;
  everySeconds: number;
  /** Evictions from one node in one cycle. */
  maxPerNode: number;
  baseCooldownSec: number;
  maxCooldownSec: number;
  bandwidthMiBs: number;
}

export const DEFAULT_KUBEVIRT: KubevirtConfig = {
  deviation: 0.2,
  everySeconds: 300,
  maxPerNode: 5,
  baseCooldownSec: 900,
  maxCooldownSec: 6 * 3600,
  bandwidthMiBs: 119,
};

/** Seconds the VM stays put after its last migration. */
export function kubevirtCooldown(vm: VmState, cfg: KubevirtConfig = DEFAULT_KUBEVIRT): number {
  if (vm.lastMigration === undefined) return 0;
  const base = Math.max(cfg.baseCooldownSec, vm.lastMigrationSeconds ?? 0);
  const count = Math.max(1, vm.migrationsLast24h ?? 1);
  return Math.min(cfg.maxCooldownSec, base * 2 ** (count - 1));
}

/** The scheduler's choice: the feasible node with the most free CPU and memory after placing the VM (least allocated). */
function schedule(w: WorkCluster, v: number, hosts: readonly WorkHost[]): WorkHost | undefined {
  const c = w.cpu[v] as number;
  const vm = w.vms[v] as VmState;
  let to: WorkHost | undefined;
  let bestFree = -Infinity;
  for (const h of hosts) {
    if (!w.feasible(v, h)) continue;
    const free = (1 - (h.cpu + c) / h.spec.cores + 1 - (h.mem + vm.memMiB) / h.spec.memMiB) / 2;
    if (free > bestFree) {
      bestFree = free;
      to = h;
    }
  }
  return to;
}

export function planKubevirt(input: PlanInput, cfg: KubevirtConfig = DEFAULT_KUBEVIRT): Move[] {
  const w = new WorkCluster(input, (v) => last(v.cpuHistory));
  const all = [...w.hosts.values()];
  for (const src of all.filter((h) => h.spec.evacuate)) {
    for (const v of [...src.vms]) {
      const vm = w.vms[v] as VmState;
      const to = vm.migrating ? undefined : schedule(w, v, all);
      if (to) w.apply(v, to, 'evacuation', 0, migrationSeconds(vm.memMiB, dirtyRateOf(vm), cfg.bandwidthMiBs));
    }
  }
  if (w.moves.length > 0) return w.moves;
  const hosts = all.filter((h) => !h.spec.evacuate && !h.spec.maintenance);
  if (hosts.length < 2) return [];
  const cpuU = (h: WorkHost): number => h.cpu / h.spec.cores;
  const memU = (h: WorkHost): number => h.mem / h.spec.memMiB;
  const meanCpu = hosts.reduce((s, h) => s + cpuU(h), 0) / hosts.length;
  const meanMem = hosts.reduce((s, h) => s + memU(h), 0) / hosts.length;
  const hiCpu = meanCpu + cfg.deviation;
  const hiMem = meanMem + cfg.deviation;
  const loCpu = Math.max(0, meanCpu - cfg.deviation);
  const loMem = Math.max(0, meanMem - cfg.deviation);
  // Memory an eviction takes off its source, for the descheduler's own bookkeeping only
  // (feasibility keeps it held on the source until the copy ends).
  const gone = new Map<WorkHost, number>();
  const over = (h: WorkHost): boolean => cpuU(h) > hiCpu || (h.mem - (gone.get(h) ?? 0)) / h.spec.memMiB > hiMem;
  const under = hosts.filter((h) => cpuU(h) < loCpu && memU(h) < loMem);
  const sources = hosts.filter(over);
  if (under.length === 0 || sources.length === 0) return [];
  // Room the under-utilised nodes have below the high threshold, in cores and MiB.
  let roomCpu = under.reduce((s, h) => s + hiCpu * h.spec.cores - h.cpu, 0);
  let roomMem = under.reduce((s, h) => s + hiMem * h.spec.memMiB - h.mem, 0);
  sources.sort((a, b) => cpuU(b) + memU(b) - (cpuU(a) + memU(a)));
  for (const src of sources) {
    let evicted = 0;
    for (const v of [...src.vms]) {
      if (evicted >= cfg.maxPerNode || !over(src) || roomCpu <= 0 || roomMem <= 0) break;
      const vm = w.vms[v] as VmState;
      if (vm.migrating || w.moved[v]) continue;
      if (vm.lastMigration !== undefined && input.now - vm.lastMigration < kubevirtCooldown(vm, cfg)) continue;
      const c = w.cpu[v] as number;
      const to = schedule(w, v, hosts);
      if (!to) continue;
      w.apply(v, to, 'hotspot', 0, migrationSeconds(vm.memMiB, dirtyRateOf(vm), cfg.bandwidthMiBs));
      gone.set(src, (gone.get(src) ?? 0) + vm.memMiB);
      roomCpu -= c;
      roomMem -= vm.memMiB;
      evicted++;
    }
  }
  return w.moves;
}

export function kubevirtPolicy(cfg: Partial<KubevirtConfig> = {}): Level2Policy {
  const c = { ...DEFAULT_KUBEVIRT, ...cfg };
  return { name: 'kubevirt', everySeconds: c.everySeconds, plan: (i) => planKubevirt(i, c) };
}
