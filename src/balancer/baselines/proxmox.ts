/**
 * Proxmox-VE-9.2-like: the HA manager's automatic rebalancing, as pve-ha-manager
 * 5.2.0 (`Manager::load_balance`) and proxmox-resource-scheduling implement it:
 * - node load = (CPU % + memory %) / 2; imbalance = coefficient of variation of
 *   the node loads: raw in resource-scheduling 2.0.0 (what pve-ha-manager
 *   5.2.0's own tests expect: all load on one of three nodes reads 1.41), or
 *   divided by sqrt(n - 1) into [0, 1] in 2.1.0 (`normaliseCv`);
 * - it acts once the imbalance has stayed above 0.3 for 3 consecutive rounds
 *   of 10 s (hold duration), and only with a move that lowers the imbalance
 *   by at least 10 % (margin); the count restarts after each decision;
 * - nothing while any migration runs, one migration (one bundle) a round;
 * - the candidates are bundles: VMs held together by strict positive affinity
 *   (all on one node, none migrating), each to every node its constraints
 *   allow; TOPSIS over the cluster each would leave picks one, with the
 *   criteria 1 + root mean square of node CPU use (weight 1), 1 + highest CPU
 *   (2), 1 + RMS of memory use (5), 1 + highest memory (10), all minimised
 *   (the "+ 1" keeps tiny differences from looking large), ties to the first.
 * Proxmox itself checks no memory capacity here; the simulator cannot
 * overcommit memory, so a target must hold the bundle's memory.
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
  /** true: the CV over sqrt(n - 1) (resource-scheduling 2.1.0); false: the raw CV (2.0.0, pve-ha-manager 5.2.0's tests). */
  normaliseCv: boolean;
}

export const DEFAULT_PROXMOX: ProxmoxConfig = {
  threshold: 0.3,
  holdRounds: 3,
  roundSec: 10,
  margin: 0.1,
  weights: [1, 2, 5, 10],
  bandwidthMiBs: 119,
  normaliseCv: false,
};

/** resource-scheduling 2.1.0's imbalance, otherwise the same. */
export const PROXMOX_NORMALISED: ProxmoxConfig = { ...DEFAULT_PROXMOX, normaliseCv: true };

/** Coefficient of variation of the loads (0 balanced), over sqrt(n - 1) when normalised (then 1 = all load on one node). */
export function proxmoxImbalance(loads: readonly number[], normalise = true): number {
  const n = loads.length;
  if (n < 2) return 0;
  let s = 0;
  let q = 0;
  for (const x of loads) {
    s += x;
    q += x * x;
  }
  return cvOf(s, q, n, normalise);
}

/** CV from the sum and sum of squares of n loads. */
function cvOf(s: number, q: number, n: number, normalise: boolean): number {
  const m = s / n;
  if (m <= 1e-12) return 0;
  const cv = Math.sqrt(Math.max(0, q / n - m * m)) / m;
  return normalise ? cv / Math.sqrt(n - 1) : cv;
}

/**
 * The TOPSIS alternative for a cluster state: 1 + RMS and 1 + maximum of node CPU use, then
 * of memory use (shares of each node), as resource-scheduling's topsis_alternative_with.
 */
export function proxmoxAlternative(cpu: readonly number[], mem: readonly number[]): [number, number, number, number] {
  const n = Math.max(1, cpu.length);
  let qc = 0;
  let qm = 0;
  let hc = 0;
  let hm = 0;
  for (let i = 0; i < cpu.length; i++) {
    qc += cpu[i]! ** 2;
    qm += mem[i]! ** 2;
    hc = Math.max(hc, cpu[i]!);
    hm = Math.max(hm, mem[i]!);
  }
  return [1 + Math.sqrt(qc / n), 1 + hc, 1 + Math.sqrt(qm / n), 1 + hm];
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
    if (proxmoxImbalance(loads, cfg.normaliseCv) <= cfg.threshold) return false;
  }
  return true;
}

const CRITERIA = (w: ProxmoxConfig['weights']): TopsisCriterion[] => w.map((weight) => ({ weight, minimise: true }));

/** The two highest values' indices are enough to know the maximum with any two nodes changed. */
function maxExcept(order: readonly number[], vals: Float64Array, a: number, b: number): number {
  for (const i of order) if (i !== a && i !== b) return vals[i] as number;
  return -Infinity;
}

/** Maintenance mode: every VM leaves (a bundle together), to the node whose resulting usage TOPSIS ranks best. */
function evacuate(w: WorkCluster, cfg: ProxmoxConfig): void {
  const all = [...w.hosts.values()];
  const criteria = CRITERIA(cfg.weights);
  for (const src of all.filter((h) => h.spec.evacuate)) {
    for (const b of bundlesOf(w, [src], cfg.bandwidthMiBs)) {
      const targets = all.filter((h) => bundleFits(w, b, h));
      if (targets.length === 0) continue;
      // The usage each choice would leave (Proxmox's start scoring): CPU and memory shares.
      const rows = targets.map((h) => {
        const cpu = all.map((x) => (x.cpu + (x === h ? b.cpu : 0)) / x.spec.cores);
        const mem = all.map((x) => (x.mem + (x === h ? b.memMiB : 0)) / x.spec.memMiB);
        return proxmoxAlternative(cpu, mem);
      });
      const to = targets[topsisBest(rows, criteria)] as WorkHost;
      for (const v of b.vms) w.apply(v, to, 'evacuation', 0, b.secs);
    }
  }
}

/** A bundle: VMs held on one node by strict positive affinity (a VM without any is a bundle of one). */
interface Bundle {
  /** VM indexes, the leader (alphabetically first) first. */
  vms: number[];
  src: WorkHost;
  cpu: number;
  memMiB: number;
  secs: number;
}

/**
 * The movable bundles, as get_active_stationary_resource_bundles: affinity labels join VMs
 * (transitively); a bundle spread over nodes, or with a member migrating or already moved
 * in this plan, does not move.
 */
function bundlesOf(w: WorkCluster, hosts: readonly WorkHost[], bw: number): Bundle[] {
  const parent = Int32Array.from(w.vms, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  const byLabel = new Map<string, number>();
  for (let i = 0; i < w.vms.length; i++) {
    for (const l of w.vms[i]!.affinity ?? []) {
      const j = byLabel.get(l);
      if (j === undefined) byLabel.set(l, i);
      else parent[find(i)] = find(j);
    }
  }
  const groups = new Map<number, number[]>();
  for (const h of hosts) for (const i of h.vms) {
    const r = find(i);
    const g = groups.get(r);
    if (g) g.push(i);
    else groups.set(r, [i]);
  }
  // Members on nodes outside `hosts` (evacuated) count too: such a bundle is spread.
  const sizes = new Map<number, number>();
  for (let i = 0; i < w.vms.length; i++) sizes.set(find(i), (sizes.get(find(i)) ?? 0) + 1);
  const out: Bundle[] = [];
  for (const [r, g] of groups) {
    if (g.length !== sizes.get(r)) continue;
    const src = w.at[g[0]!] as WorkHost;
    if (g.some((i) => w.at[i] !== src || w.vms[i]!.migrating || w.moved[i])) continue;
    g.sort((a, b) => (w.vms[a]!.name < w.vms[b]!.name ? -1 : w.vms[a]!.name > w.vms[b]!.name ? 1 : 0));
    let cpu = 0;
    let mem = 0;
    let secs = 0;
    for (const i of g) {
      const vm = w.vms[i] as VmState;
      cpu += w.cpu[i]!;
      mem += vm.memMiB;
      secs = Math.max(secs, migrationSeconds(vm.memMiB, dirtyRateOf(vm), bw));
    }
    out.push({ vms: g, src, cpu, memMiB: mem, secs });
  }
  // Candidate order as the real one: by leader name.
  out.sort((a, b) => (w.vms[a.vms[0]!]!.name < w.vms[b.vms[0]!]!.name ? -1 : 1));
  return out;
}

/** May the bundle go to the node: it accepts VMs, holds the bundle's memory, and no member's anti-affinity clashes. */
function bundleFits(w: WorkCluster, b: Bundle, to: WorkHost): boolean {
  if (to === b.src || !w.acceptsVms(to) || to.mem + b.memMiB > to.spec.memMiB + 1e-6) return false;
  return b.vms.every((i) => w.antiAffinityOk(w.vms[i] as VmState, to));
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
    let s = 0;
    let q = 0;
    let qc = 0;
    let qm = 0;
    for (let i = 0; i < n; i++) {
      const l = proxmoxLoad(cpu[i]!, mem[i]!);
      s += l;
      q += l * l;
      qc += cpu[i]! ** 2;
      qm += mem[i]! ** 2;
    }
    const i0 = cvOf(s, q, n, cfg.normaliseCv);
    if (i0 <= cfg.threshold) break;
    const byCpu = [...cpu.keys()].sort((a, b) => cpu[b]! - cpu[a]!).slice(0, 3);
    const byMem = [...mem.keys()].sort((a, b) => mem[b]! - mem[a]!).slice(0, 3);
    const cands: Array<{ b: Bundle; to: WorkHost; i1: number }> = [];
    const rows: number[][] = [];
    for (const b of bundlesOf(w, hosts, cfg.bandwidthMiBs)) {
      const src = b.src;
      const a = idx.get(src) as number;
      // The source never goes below zero (remove_running_resource saturates).
      const ca = Math.max(0, cpu[a]! - b.cpu / src.spec.cores);
      const ma = Math.max(0, mem[a]! - b.memMiB / src.spec.memMiB);
      const la0 = proxmoxLoad(cpu[a]!, mem[a]!);
      const la1 = proxmoxLoad(ca, ma);
      for (const to of hosts) {
        if (!bundleFits(w, b, to)) continue;
        const t = idx.get(to) as number;
        const cb = cpu[t]! + b.cpu / to.spec.cores;
        const mb = mem[t]! + b.memMiB / to.spec.memMiB;
        const lb0 = proxmoxLoad(cpu[t]!, mem[t]!);
        const lb1 = proxmoxLoad(cb, mb);
        const i1 = cvOf(s - la0 - lb0 + la1 + lb1, q - la0 * la0 - lb0 * lb0 + la1 * la1 + lb1 * lb1, n, cfg.normaliseCv);
        cands.push({ b, to, i1 });
        rows.push([
          1 + Math.sqrt(Math.max(0, qc - cpu[a]! ** 2 - cpu[t]! ** 2 + ca * ca + cb * cb) / n),
          1 + Math.max(maxExcept(byCpu, cpu, a, t), ca, cb),
          1 + Math.sqrt(Math.max(0, qm - mem[a]! ** 2 - mem[t]! ** 2 + ma * ma + mb * mb) / n),
          1 + Math.max(maxExcept(byMem, mem, a, t), ma, mb),
        ]);
      }
    }
    const best = topsisBest(rows, criteria);
    if (best < 0) break;
    const c = cands[best]!;
    if ((i0 - c.i1) / i0 < cfg.margin) break;
    freed[idx.get(c.b.src) as number]! += c.b.memMiB;
    // The bundle moves together: one move per VM, the leader first.
    for (const v of c.b.vms) w.apply(v, c.to, 'imbalance', i0 - c.i1, c.b.secs);
    // The next rounds wait for this migration to end, then count the hold duration again.
    elapsed += c.b.secs + hold;
  }
  return w.moves;
}

export function proxmoxPolicy(cfg: Partial<ProxmoxConfig> = {}): Level2Policy {
  const c = { ...DEFAULT_PROXMOX, ...cfg };
  return { name: c.normaliseCv ? 'proxmox-norm' : 'proxmox', everySeconds: c.roundSec, plan: (i) => planProxmox(i, c) };
}
