/**
 * Level 2, ours: hotspot relief and imbalance reduction by live migration.
 *
 * - A node is a hotspot when k of its last n CPU samples are above the
 *   threshold and the short-term forecast is too, or at once when both the last
 *   sample and the forecast are above the emergency level.
 * - Candidate moves (VM, target) are scored: benefit = overload removed from the
 *   source (minus overload added on the target) + imbalance reduction (standard
 *   deviation of node CPU); cost = migration time (memory, dirty rate,
 *   bandwidth) over the horizon the benefit is expected to last.
 * - Constraints: target memory and CPU ceiling, anti-affinity, maintenance,
 *   evacuation. Anti-thrashing: per-VM cooldown, minimum gain, concurrent
 *   migrations per node.
 * Pure: PlanInput in, moves out.
 */
import { WorkCluster, dirtyRateOf, migrationSeconds, type WorkHost } from './cluster.js';
import { planEvacuation, type EvacNode, type EvacuationPlan, type EvacVm } from './evacuate.js';
import { countAbove, forecastTrend, last } from './mathx.js';
import type { Level2Policy, Move, PlanInput, VmState } from './types.js';

export interface Level2Config {
  /** Window length n and how many samples k must be hot. */
  n: number;
  k: number;
  /** Node CPU utilisation above which a node is hot. */
  hot: number;
  /** Last sample and forecast above this: hot at once. */
  emergency: number;
  /** A target must stay at or below this after the move. */
  targetCeiling: number;
  /** Imbalance (std of node CPU) above which we balance without a hotspot. */
  imbalance: number;
  /** Imbalance moves a round at most (only in rounds without hotspots). */
  imbalanceMoves: number;
  /** Seconds a VM stays put after a migration. */
  cooldownSec: number;
  /** The cooldown doubles for each further migration of the VM in the last 24 h, up to this many times the base (1 = no back-off). */
  cooldownBackoffMax: number;
  /** A target's ceiling is checked against its peak over the window too, not only its estimate now. */
  targetPeak: boolean;
  /** Samples the target's peak is read over (its VMs' coincident peak). */
  peakWindow: number;
  /** Smallest score (benefit - cost) worth a migration. */
  minGain: number;
  /** Migrations running at once with a node at either end. */
  maxPerNode: number;
  /** At most this many moves per round (whole cluster), besides evacuation. */
  maxMoves: number;
  bandwidthMiBs: number;
  /** Seconds a move's benefit is expected to last, to weigh its cost. */
  horizonSec: number;
  /**
   * A hotspot's relief is also judged in the next sample: a VM whose migration takes most of a
   * period still loads its source for that long, so the node stays past the emergency level one
   * more sample unless a VM that moves in time is picked, or another one is moved.
   */
  reliefInTime: boolean;
}

export const DEFAULT_LEVEL2: Level2Config = {
  n: 5,
  k: 3,
  hot: 0.8,
  emergency: 0.88,
  targetCeiling: 0.8,
  imbalance: 0.12,
  imbalanceMoves: 2,
  cooldownSec: 900,
  cooldownBackoffMax: 4,
  targetPeak: true,
  peakWindow: 20,
  minGain: 0.02,
  maxPerNode: 2,
  maxMoves: 32,
  bandwidthMiBs: 119,
  horizonSec: 1800,
  reliefInTime: true,
};

/**
 * Samples of history a plan with `cfg` reads: the hot window and forecast (n) and, when targets
 * are judged at their VMs' coincident peak, the peak window. A live source must hand over this
 * many, or the peak rule silently shrinks to what it was given.
 */
export function historySamples(cfg: Pick<Level2Config, 'n' | 'targetPeak' | 'peakWindow'>): number {
  return Math.max(cfg.n, cfg.targetPeak ? cfg.peakWindow : 0);
}

/** What we plan with for a VM: its forecast, but never below its last sample. */
export function vmEstimate(n: number): (v: VmState) => number {
  return (v) => Math.max(last(v.cpuHistory), forecastTrend(v.cpuHistory, n));
}

/** The VM's cooldown: the base, doubled for each further migration in the last 24 h, capped. */
export function cooldownOf(vm: VmState, cfg: Pick<Level2Config, 'cooldownSec' | 'cooldownBackoffMax'>): number {
  const extra = Math.max(0, (vm.migrationsLast24h ?? 1) - 1);
  return cfg.cooldownSec * Math.min(cfg.cooldownBackoffMax, 2 ** extra);
}

export function isHotspot(cpuHistory: readonly number[], c: Pick<Level2Config, 'n' | 'k' | 'hot' | 'emergency'>): boolean {
  const f = forecastTrend(cpuHistory, c.n);
  // Forecast alone past the emergency level: act before the SLA is broken.
  if (f > c.emergency) return true;
  return countAbove(cpuHistory, c.n, c.hot) >= c.k && f > c.hot;
}

/** Standard deviation of node CPU utilisation, kept incrementally (sum and sum of squares). */
class Spread {
  private s = 0;
  private q = 0;
  constructor(private readonly n: number, utils: Iterable<number>) {
    for (const u of utils) {
      this.s += u;
      this.q += u * u;
    }
  }
  std(): number {
    const m = this.s / this.n;
    return Math.sqrt(Math.max(0, this.q / this.n - m * m));
  }
  /** Std if two nodes' utilisations changed from (a0, b0) to (a1, b1). */
  stdAfter(a0: number, a1: number, b0: number, b1: number): number {
    const s = this.s - a0 - b0 + a1 + b1;
    const q = this.q - a0 * a0 - b0 * b0 + a1 * a1 + b1 * b1;
    const m = s / this.n;
    return Math.sqrt(Math.max(0, q / this.n - m * m));
  }
  update(a0: number, a1: number, b0: number, b1: number): void {
    this.s += a1 + b1 - a0 - b0;
    this.q += a1 * a1 + b1 * b1 - a0 * a0 - b0 * b0;
  }
}

/**
 * Relief of the part past the emergency level in the next sample: a VM that is there in time
 * counts twice. In time: the share of the next sample the VM already runs on its target.
 */
function nextSampleRelief(nextSrc0: number, cores: number, srcCores: number, secs: number, period: number, emergency: number): number {
  const inTime = Math.max(0, 1 - secs / period);
  return Math.max(0, nextSrc0 - emergency) - Math.max(0, nextSrc0 - (cores * inTime) / srcCores - emergency);
}

/** Targets a VM's move is scored against (the least used that pass every check). */
const TARGETS_PER_VM = 8;

interface Candidate {
  /** VM index in the WorkCluster. */
  vm: number;
  to: WorkHost;
  score: number;
  secs: number;
  diskBytes?: number;
}

/** The evacuation part of a level-2 round, as the shared planner sees it (running VMs: level 2 only sees those). */
function evacuationOf(w: WorkCluster, cfg: Level2Config): EvacuationPlan {
  const nodes: EvacNode[] = [];
  for (const h of w.hosts.values()) {
    let listed = 0;
    for (const i of h.vms) listed += (w.vms[i] as VmState).memMiB;
    nodes.push({
      name: h.spec.name, cores: h.spec.cores, memMiB: h.spec.memMiB, reservedMiB: Math.max(0, h.mem - listed),
      closed: h.spec.evacuate ? 'being evacuated' : h.spec.maintenance ? 'in maintenance' : undefined,
      ...(h.pools ? { pools: h.pools } : {}),
    });
  }
  const vms: EvacVm[] = w.vms.map((v, i) => ({
    name: v.name, node: v.host, state: 'running', memMiB: v.memMiB, cpu: w.cpu[i] as number,
    dirtyMiBs: dirtyRateOf(v), antiAffinity: v.antiAffinity, affinity: v.affinity, migrating: v.migrating,
    ...(v.disks ? { disks: v.disks } : {}),
  }));
  return planEvacuation(w.input.hosts.filter((h) => h.evacuate).map((h) => h.name), nodes, vms, { bandwidthMiBs: cfg.bandwidthMiBs });
}

export function planLevel2(input: PlanInput, cfg: Level2Config = DEFAULT_LEVEL2): Move[] {
  const w = new WorkCluster(input, vmEstimate(cfg.n));
  const hosts = [...w.hosts.values()];
  if (hosts.length < 2) return [];
  const spread = new Spread(hosts.length, hosts.map((h) => w.util(h)));
  const over = (u: number): number => Math.max(0, u - cfg.hot);

  // 1. Evacuation, through the one evacuation planner: the admin asked for it, so cooldown and
  // concurrency do not hold it back. VMs it cannot place stay; planEvacuation names them.
  if (hosts.some((h) => h.spec.evacuate)) {
    for (const m of evacuationOf(w, cfg).moves) {
      const v = w.indexOf(m.vm) as number;
      const src = w.at[v] as WorkHost;
      const to = w.hosts.get(m.to) as WorkHost;
      const a0 = w.util(src);
      const b0 = w.util(to);
      w.apply(v, to, 'evacuation', 0, m.estSeconds, m.diskBytes);
      spread.update(a0, w.util(src), b0, w.util(to));
    }
  }

  const movable = (i: number): boolean => {
    const vm = w.vms[i] as VmState;
    return w.moved[i] === 0 && !vm.migrating && !w.inCooldown(vm, cooldownOf(vm, cfg));
  };
  // Peak CPU share over the window of the VMs a node holds now (not of the node's own
  // history, which still counts VMs that left), beyond what they are estimated at.
  const peakExtra = new Map<WorkHost, number>();
  if (cfg.targetPeak) {
    const sums = new Float64Array(cfg.peakWindow);
    for (const h of hosts) {
      sums.fill(0);
      for (const i of h.vms) {
        const hist = (w.vms[i] as VmState).cpuHistory;
        for (let k = 0; k < cfg.peakWindow; k++) sums[k]! += hist[hist.length - 1 - k] ?? 0;
      }
      peakExtra.set(h, Math.max(0, Math.max(...sums) / h.spec.cores - w.util(h)));
    }
  }
  const free = (h: WorkHost): boolean => h.active < cfg.maxPerNode;

  /** Demand the node cannot serve, as a share of its cores. */
  const unserved = (u: number): number => Math.max(0, u - 1);

  // Targets, least used first. A target's part in the score is the balance term (its relief
  // term is 0 under the ceiling), which only falls as its use rises on equal nodes: the best
  // target is among the first few that pass every check, so a VM looks at TARGETS_PER_VM of
  // them, not at every node (what keeps a plan fast at 1,000 nodes).
  const byUtil = [...hosts].sort((a, b) => w.util(a) - w.util(b));
  /** Put a node whose use changed back in order (binary search; cheaper than re-sorting 1,000 nodes per move). */
  const reposition = (h: WorkHost): void => {
    byUtil.splice(byUtil.indexOf(h), 1);
    const u = w.util(h);
    let lo = 0;
    let hi = byUtil.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (w.util(byUtil[mid] as WorkHost) < u) lo = mid + 1;
      else hi = mid;
    }
    byUtil.splice(lo, 0, h);
  };

  // A target's use after the move is at least its use now plus the VM's CPU over the most cores
  // any node has: once that passes the limit, so does every node after it in byUtil.
  let maxCores = 0;
  for (const h of hosts) maxCores = Math.max(maxCores, h.spec.cores);

  /** Best move off `src`: the highest score over its VMs and the allowed targets. No allocation in the loops. */
  const bestMove = (src: WorkHost, hotSet: Set<WorkHost>, imbalanceOnly: boolean, overflow = false, atPeak = cfg.targetPeak): Candidate | undefined => {
    if (!free(src)) return undefined;
    let bestVm = -1;
    let bestTo: WorkHost | undefined;
    let bestScore = 0;
    let bestSecs = 0;
    let bestDisk: number | undefined;
    const uSrc = w.util(src);
    const std0 = spread.std();
    const limit = overflow ? 1 : cfg.targetCeiling;
    const hotRelief = cfg.reliefInTime && !imbalanceOnly && !overflow;
    for (const v of src.vms) {
      if (!movable(v)) continue;
      const vm = w.vms[v] as VmState;
      const c = w.cpu[v] as number;
      if (c <= 1e-6) continue;
      const dirty = dirtyRateOf(vm);
      // Memory alone: a lower bound of the move's time on any target (its disks add to it per target).
      const secsMem = migrationSeconds(vm.memMiB, dirty, cfg.bandwidthMiBs);
      const uSrc1 = (src.cpu - c) / src.spec.cores;
      const nextSrc0 = hotRelief ? uSrc + (lagCores.get(src) ?? 0) / src.spec.cores : 0;
      const nextReliefMem = hotRelief ? nextSampleRelief(nextSrc0, c, src.spec.cores, secsMem, w.input.period, cfg.emergency) : 0;
      // Moving on only for the next sample: a VM that would not arrive in time is no help.
      if (hotRelief && uSrc <= cfg.hot && nextReliefMem <= 0) continue;
      const step = maxCores > 0 ? c / maxCores : 0;
      let looked = 0;
      for (let i = 0; i < byUtil.length && looked < TARGETS_PER_VM; i++) {
        const to = byUtil[i] as WorkHost;
        const uTo = w.util(to);
        if (uTo + step > limit + 1e-9) break;
        if (to === src || hotSet.has(to) || !free(to) || !w.feasible(v, to)) continue;
        const uTo1 = (to.cpu + c) / to.spec.cores;
        // Overflow: demand would go unserved anyway, so only room now counts.
        if (overflow ? uTo1 > 1 : uTo1 + (atPeak ? peakExtra.get(to) ?? 0 : 0) > cfg.targetCeiling) continue;
        // The disks this target would have copied (vm.migrate's rule) lengthen the move; unknown = memory alone.
        let secs = secsMem;
        let nextRelief = nextReliefMem;
        let diskBytes: number | undefined;
        if (vm.disks) {
          const t = w.moveSeconds(v, to, dirty, cfg.bandwidthMiBs);
          diskBytes = t.diskBytes;
          if (t.secs !== secsMem) {
            secs = t.secs;
            nextRelief = hotRelief ? nextSampleRelief(nextSrc0, c, src.spec.cores, secs, w.input.period, cfg.emergency) : 0;
            if (hotRelief && uSrc <= cfg.hot && nextRelief <= 0) continue;
          }
        }
        looked++;
        const cost = secs / cfg.horizonSec;
        // Overflow: every node is past the ceiling; still move demand that would go unserved to a node with room.
        const relief = overflow
          ? unserved(uSrc) - unserved(uSrc1) - (unserved(uTo1) - unserved(uTo))
          : over(uSrc) - over(uSrc1) + nextRelief - (over(uTo1) - over(uTo));
        const balance = std0 - spread.stdAfter(uSrc, uSrc1, uTo, uTo1);
        if (imbalanceOnly && balance <= 0) continue;
        const score = relief + balance - cost;
        if (score < cfg.minGain) continue;
        if (bestVm < 0 || score > bestScore) {
          bestVm = v;
          bestTo = to;
          bestScore = score;
          bestSecs = secs;
          bestDisk = diskBytes;
        }
      }
    }
    return bestVm >= 0 && bestTo ? { vm: bestVm, to: bestTo, score: bestScore, secs: bestSecs, ...(bestDisk !== undefined ? { diskBytes: bestDisk } : {}) } : undefined;
  };

  // Cores a source still carries in the next sample for the migrations planned off it this round.
  const lagCores = new Map<WorkHost, number>();
  const nextUtil = (h: WorkHost): number => w.util(h) + (lagCores.get(h) ?? 0) / h.spec.cores;
  const take = (src: WorkHost, c: Candidate, reason: Move['reason']): void => {
    const cores = w.cpu[c.vm] as number;
    lagCores.set(src, (lagCores.get(src) ?? 0) + cores * Math.min(1, c.secs / input.period));
    const a0 = w.util(src);
    const b0 = w.util(c.to);
    w.apply(c.vm, c.to, reason, c.score, c.secs, c.diskBytes);
    spread.update(a0, w.util(src), b0, w.util(c.to));
    reposition(src);
    reposition(c.to);
  };

  // 2. Hotspots, worst first; move until the node is under the threshold.
  const hot = hosts.filter((h) => !h.spec.evacuate && isHotspot(h.spec.cpuHistory, cfg));
  const hotSet = new Set(hot);
  hot.sort((a, b) => w.util(b) - w.util(a));
  let budget = cfg.maxMoves;
  for (const src of hot) {
    while (budget > 0 && (w.util(src) > cfg.hot || (cfg.reliefInTime && nextUtil(src) > cfg.emergency))) {
      // A target whose recent peak leaves room first; failing that, one with room now; failing that, overflow.
      const c = bestMove(src, hotSet, false) ?? (cfg.targetPeak ? bestMove(src, hotSet, false, false, false) : undefined) ??
        (w.util(src) > 1 ? bestMove(src, hotSet, false, true) : undefined);
      if (!c) break;
      take(src, c, 'hotspot');
      budget--;
    }
  }

  // 3. No hotspot left to act on: reduce imbalance a little, from the busiest node.
  // Nodes being evacuated are neither source nor target; when every node is, there is nothing to balance.
  const open = hosts.filter((h) => !h.spec.evacuate);
  if (hot.length === 0 && open.length > 0) {
    let rounds = Math.min(budget, cfg.imbalanceMoves);
    while (rounds-- > 0 && spread.std() > cfg.imbalance) {
      const src = open.reduce((a, b) => (w.util(b) > w.util(a) ? b : a));
      const c = bestMove(src, hotSet, true);
      if (!c) break;
      take(src, c, 'imbalance');
    }
  }
  return w.moves;
}

export function oursPolicy(cfg: Partial<Level2Config> = {}): Level2Policy {
  const c = { ...DEFAULT_LEVEL2, ...cfg };
  return { name: 'ours', plan: (i) => planLevel2(i, c) };
}
