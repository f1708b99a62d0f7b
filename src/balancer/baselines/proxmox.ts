/**
 * Proxmox-VE-9.2-like: the HA manager's automatic rebalancing (pve-ha-manager
 * 5.2), from its published design:
 * - node load = (CPU % + memory %) / 2; imbalance = coefficient of variation
 *   of the node loads / sqrt(n - 1) (so it lies in [0, 1]);
 * - it acts once the imbalance has stayed above 0.3 for 3 consecutive rounds
 *   of 10 s (hold duration), and only with a move that lowers the imbalance
 *   by at least 10 % (margin);
 * - one migration at a time and none while any migration runs;
 * - TOPSIS over the cluster each possible move (every running VM to every
 *   node its constraints allow) would leave picks one, criteria mean CPU
 *   (weight 1), highest CPU (2), mean memory (5), highest memory (10), all
 *   minimised; the move is made only if it passes the margin, and the hold
 *   count starts again (pve-ha-manager's Manager::load_balance).
 * A node being evacuated (maintenance mode) has every VM moved at once, each
 * to the node TOPSIS ranks best for it, regardless of the rules above.
 * The simulator plans once a sample, which is longer than a round: one plan
 * plays the rounds that fit in the sample period one after the other (hold,
 * then migrate, then hold again), so Proxmox is not slowed by our sampling.
 * Pure.
 */
import { WorkCluster, dirtyRateOf, migrationSeconds, type WorkHost } from '../cluster.js';
import { last } from '../mathx.js';
import type { Level2Policy, Move, PlanInput, VmState } from '../types.js';
import { topsisBest, type TopsisCriterion } from './topsis.js';

export interface ProxmoxConfig {
  /** Imbalance above which rebalancing is considered. */
  threshold: number;
  /** Consecutive rounds the imbalance must stay above the threshold. */
  holdRounds: number;
  roundSec: number;
  /** Least relative improvement of the imbalance a move must bring. */
  margin: number;
  /** TOPSIS weights: mean CPU, highest CPU, mean memory, highest memory. */
  weights: readonly [number, number, number, number];
  bandwidthMiBs: number;
}

export const DEFAULT_PROXMOX: ProxmoxConfig = {
  threshold: 0.3,
  holdRounds: 3,
  roundSec: 10,
  margin: 0.1,
  weights: [1, 2, 5, 10],
  bandwidthMiBs: 119,
};

/** Coefficient of variation of the loads over sqrt(n - 1): 0 balanced, 1 all load on one node. */
export function proxmoxImbalance(loads: readonly number[]): number {
  const n = loads.length;
  if (n < 2) return 0;
  let s = 0;
  let q = 0;
  for (const x of loads) {
    s += x;
    q += x * x;
  }
  const m = s / n;
  if (m <= 1e-12) return 0;
  return Math.sqrt(Math.max(0, q / n - m * m)) / m / Math.sqrt(n - 1);
}

/** Node load as Proxmox measures it: the mean of CPU and memory use, each a share of the node (CPU capped at 100 %). */
export function proxmoxLoad(cpuShare: number, memShare: number): number {
  return (Math.min(1, Math.max(0, cpuShare)) + Math.max(0, memShare)) / 2;
}

/** Samples the hold duration spans: rounds x round length, at least one sample. */
function holdSamples(cfg: ProxmoxConfig, period: number): number {
  return Math.max(1, Math.ceil((cfg.holdRounds * cfg.roundSec) / Math.max(1e-9, period)));
}

/** Has the imbalance stayed above the threshold over the hold duration (node histories)? */
export function proxmoxHeld(input: PlanInput, cfg: ProxmoxConfig = DEFAULT_PROXMOX): boolean {
  const need = holdSamples(cfg, input.period);
  const hosts = input.hosts.filter((h) => !h.evacuate);
  if (hosts.length < 2) return false;
  const memNow = new Map<string, number>();
  for (const v of input.vms) memNow.set(v.host, (memNow.get(v.host) ?? 0) + v.memMiB);
  for (let back = 0; back < need; back++) {
    const loads: number[] = [];
    for (const h of hosts) {
      const cpu = h.cpuHistory[h.cpuHistory.length - 1 - back];
      if (cpu === undefined) return false;
      const mem = h.memHistory?.[h.memHistory.length - 1 - back] ?? (memNow.get(h.name) ?? 0) / h.memMiB;
      loads.push(proxmoxLoad(cpu, mem));
    }
    if (proxmoxImbalance(loads) <= cfg.threshold) return false;
  }
  return true;
}

const CRITERIA = (w: ProxmoxConfig['weights']): TopsisCriterion[] => w.map((weight) => ({ weight, minimise: true }));

/** The two highest values' indices are enough to know the maximum with any two nodes changed. */
function maxExcept(order: readonly number[], vals: Float64Array, a: number, b: number): number {
  for (const i of order) if (i !== a && i !== b) return vals[i] as number;
  return -Infinity;
}

/** Maintenance mode: every VM leaves, to the node whose resulting usage TOPSIS ranks best. */
function evacuate(w: WorkCluster, cfg: ProxmoxConfig): void {
  const all = [...w.hosts.values()];
  const criteria = CRITERIA(cfg.weights);
  for (const src of all.filter((h) => h.spec.evacuate)) {
    for (const v of [...src.vms]) {
      const vm = w.vms[v] as VmState;
      if (vm.migrating) continue;
      const c = w.cpu[v] as number;
      const targets = all.filter((h) => w.feasible(v, h));
      if (targets.length === 0) continue;
      // The node's own usage after adding the VM (Proxmox's start scoring): CPU and memory shares.
      const rows = targets.map((h) => {
        const cpu = (h.cpu + c) / h.spec.cores;
        const mem = (h.mem + vm.memMiB) / h.spec.memMiB;
        return [cpu, cpu, mem, mem];
      });
      const to = targets[topsisBest(rows, criteria)] as WorkHost;
      w.apply(v, to, 'evacuation', 0, migrationSeconds(vm.memMiB, dirtyRateOf(vm), cfg.bandwidthMiBs));
    }
  }
}

export function planProxmox(input: PlanInput, cfg: ProxmoxConfig = DEFAULT_PROXMOX): Move[] {
  const w = new WorkCluster(input, (v) => last(v.cpuHistory));
  evacuate(w, cfg);
  if (w.moves.length > 0) return w.moves;
  if (input.inflight.length > 0 || input.vms.some((v) => v.migrating)) return [];
  if (!proxmoxHeld(input, cfg)) return [];
  const hosts = [...w.hosts.values()].filter((h) => !h.spec.evacuate);
  const n = hosts.length;
  if (n < 2) return [];
  const idx = new Map<WorkHost, number>(hosts.map((h, i) => [h, i]));
  const criteria = CRITERIA(cfg.weights);
  const hold = cfg.holdRounds * cfg.roundSec;
  // Memory a finished move freed on its source: the next round sees it gone, though
  // feasibility keeps it held (the simulator starts the plan's moves together).
  const freed = new Float64Array(n);
  let elapsed = 0;
  // Rounds that fit in one sample period (at least the first).
  while (w.moves.length === 0 || elapsed + hold <= input.period) {
    const cpu = Float64Array.from(hosts, (h) => h.cpu / h.spec.cores);
    const mem = Float64Array.from(hosts, (h, i) => (h.mem - freed[i]!) / h.spec.memMiB);
    const load = (c: number, m: number): number => proxmoxLoad(c, m);
    let s = 0;
    let q = 0;
    let sc = 0;
    let sm = 0;
    for (let i = 0; i < n; i++) {
      const l = load(cpu[i]!, mem[i]!);
      s += l;
      q += l * l;
      sc += cpu[i]!;
      sm += mem[i]!;
    }
    const imb = (s1: number, q1: number): number => {
      const m = s1 / n;
      return m <= 1e-12 ? 0 : Math.sqrt(Math.max(0, q1 / n - m * m)) / m / Math.sqrt(n - 1);
    };
    const i0 = imb(s, q);
    if (i0 <= cfg.threshold) break;
    const byCpu = [...cpu.keys()].sort((a, b) => cpu[b]! - cpu[a]!).slice(0, 3);
    const byMem = [...mem.keys()].sort((a, b) => mem[b]! - mem[a]!).slice(0, 3);
    const cands: Array<{ v: number; to: WorkHost; i1: number; secs: number }> = [];
    const rows: number[][] = [];
    for (const src of hosts) {
      const a = idx.get(src) as number;
      for (const v of src.vms) {
        const vm = w.vms[v] as VmState;
        if (vm.migrating || w.moved[v]) continue;
        const c = w.cpu[v] as number;
        const ca = cpu[a]! - c / src.spec.cores;
        const ma = mem[a]! - vm.memMiB / src.spec.memMiB;
        for (const to of hosts) {
          if (to === src || !w.feasible(v, to)) continue;
          const b = idx.get(to) as number;
          const cb = cpu[b]! + c / to.spec.cores;
          const mb = mem[b]! + vm.memMiB / to.spec.memMiB;
          const la0 = load(cpu[a]!, mem[a]!);
          const lb0 = load(cpu[b]!, mem[b]!);
          const la1 = load(ca, ma);
          const lb1 = load(cb, mb);
          const i1 = imb(s - la0 - lb0 + la1 + lb1, q - la0 * la0 - lb0 * lb0 + la1 * la1 + lb1 * lb1);
          cands.push({ v, to, i1, secs: migrationSeconds(vm.memMiB, dirtyRateOf(vm), cfg.bandwidthMiBs) });
          rows.push([
            (sc - cpu[a]! - cpu[b]! + ca + cb) / n,
            Math.max(maxExcept(byCpu, cpu, a, b), ca, cb),
            (sm - mem[a]! - mem[b]! + ma + mb) / n,
            Math.max(maxExcept(byMem, mem, a, b), ma, mb),
          ]);
        }
      }
    }
    const best = topsisBest(rows, criteria);
    if (best < 0) break;
    const c = cands[best]!;
    if ((i0 - c.i1) / i0 < cfg.margin) break;
    freed[idx.get(w.at[c.v] as WorkHost) as number]! += (w.vms[c.v] as VmState).memMiB;
    w.apply(c.v, c.to, 'imbalance', 0, c.secs);
    // The next rounds wait for this migration to end, then count the hold duration again.
    elapsed += c.secs + hold;
  }
  return w.moves;
}

export function proxmoxPolicy(cfg: Partial<ProxmoxConfig> = {}): Level2Policy {
  const c = { ...DEFAULT_PROXMOX, ...cfg };
  return { name: 'proxmox', everySeconds: c.roundSec, plan: (i) => planProxmox(i, c) };
}
