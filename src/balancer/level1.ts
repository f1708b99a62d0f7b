/**
 * Level 1, between the VMs of one node (runs in the node agent). Pure: an
 * observation of the node and its VMs in, scheduler shares, optional caps and
 * balloon targets out.
 *
 * CPU: each VM's entitlement is its priority-weighted max-min fair share of the
 * node's cores given current demand (water-filling); shares follow that
 * entitlement so that, under contention, the kernel's proportional-share
 * scheduler hands each VM what it is entitled to. Optional caps (CFS quota)
 * hold a VM to its entitlement only while the node is contended.
 * Memory: when the node's free memory falls under `pressureFree`, idle guest
 * memory is reclaimed by lowering balloons (never below what the guest uses
 * plus `guestFree` headroom, nor below the VM's minimum); a guest whose use
 * rises gets memory back at once, and when pressure ends balloons relax back
 * towards the VM's maximum while the node keeps its free reserve.
 */

export interface L1VmPolicy {
  /** Weight of the VM's claim on CPU and memory (default 1). */
  priority?: number;
  minShares?: number;
  maxShares?: number;
  minMemKiB?: number;
  maxMemKiB?: number;
}

export interface L1Vm {
  name: string;
  vcpus: number;
  /** CPU demand over the last period, in cores. */
  cpuDemand: number;
  /** The VM's configured maximum memory. */
  memMaxKiB: number;
  /** The balloon's current size. */
  memCurKiB: number;
  /** Memory the guest uses (balloon size minus what the guest reports unused); undefined when unknown. */
  memUsedKiB?: number;
  /** Current shares, when known (to avoid needless changes). */
  shares?: number;
  policy?: L1VmPolicy;
}

export interface Level1Observation {
  cores: number;
  memTotalKiB: number;
  memFreeKiB: number;
  vms: L1Vm[];
}

export interface Level1Config {
  baseShares: number;
  /** Node free memory share under which the node is under pressure. */
  pressureFree: number;
  /** Free memory each guest keeps inside its balloon. */
  guestFree: number;
  /** At most this share of a VM's maximum is reclaimed per period. */
  shrinkStep: number;
  /** Balloons relax back by this share of the maximum per period once pressure ends. */
  relaxStep: number;
  /** Hold contended VMs to their entitlement with a CFS quota. */
  caps: boolean;
  capPeriodUs: number;
  /** An idle VM's claim: this share of its priority-fair share of the node. */
  floorShare: number;
  /** Demand is planned with this headroom, so a VM whose load rises is not held to last period's. */
  headroom: number;
  /** Balloon changes smaller than this share of the VM's maximum are not made (no churn). */
  memHysteresis: number;
  /** Changes of shares smaller than this ratio are not made (no churn). */
  hysteresis: number;
  /** When set, the memory VMs may use on this node (KiB): free = budget - sum of balloons. */
  memBudgetKiB?: number;
}

export const DEFAULT_LEVEL1: Level1Config = {
  baseShares: 1024,
  pressureFree: 0.2,
  guestFree: 0.2,
  shrinkStep: 0.1,
  relaxStep: 0.05,
  caps: false,
  capPeriodUs: 100_000,
  floorShare: 0.5,
  headroom: 1.25,
  hysteresis: 0.1,
  memHysteresis: 0.01,
};

export interface L1Decision {
  vm: string;
  /** Entitled cores under current demand. */
  entitledCores: number;
  shares: number;
  /** CFS quota per vCPU in µs (-1 = no cap); only when caps are on. */
  quotaUs?: number;
  /** New balloon size, when it should change. */
  balloonKiB?: number;
  reason: string;
}

export interface Level1Plan {
  contended: boolean;
  pressure: boolean;
  freeShare: number;
  decisions: L1Decision[];
}

const MIN_SHARES = 2;
const MAX_SHARES = 262_144;

/** Weighted max-min fair division of `capacity` among demands (water-filling). */
export function waterFill(capacity: number, demand: readonly number[], weight: readonly number[]): number[] {
  const out = demand.map(() => 0);
  let left = capacity;
  let active = demand.map((_, i) => i).filter((i) => (demand[i] as number) > 0 && (weight[i] as number) > 0);
  while (active.length > 0 && left > 1e-12) {
    const wsum = active.reduce((s, i) => s + (weight[i] as number), 0);
    const unit = left / wsum;
    const done = active.filter((i) => (demand[i] as number) - out[i]! <= unit * (weight[i] as number) + 1e-12);
    if (done.length === 0) {
      for (const i of active) out[i]! += unit * (weight[i] as number);
      break;
    }
    for (const i of done) {
      left -= (demand[i] as number) - out[i]!;
      out[i] = demand[i] as number;
    }
    active = active.filter((i) => !done.includes(i));
  }
  return out;
}

export function planLevel1(obs: Level1Observation, cfg: Level1Config = DEFAULT_LEVEL1): Level1Plan {
  const vms = obs.vms;
  const prio = vms.map((v) => Math.max(0.01, v.policy?.priority ?? 1));
  const psum = prio.reduce((s, p) => s + p, 0);
  // An idle VM keeps a claim of part of its fair share, so it is not starved when it wakes.
  const demand = vms.map((v, i) => {
    const fair = Math.min(v.vcpus, (obs.cores * (prio[i] as number)) / psum);
    return Math.min(v.vcpus, Math.max(cfg.floorShare * fair, cfg.headroom * v.cpuDemand));
  });
  const contended = vms.reduce((s, v) => s + Math.min(v.vcpus, v.cpuDemand), 0) > obs.cores;
  const entitled = waterFill(obs.cores, demand, prio);
  const esum = entitled.reduce((s, e) => s + e, 0);

  const decisions: L1Decision[] = vms.map((v, i) => {
    const p = prio[i] as number;
    // Shares proportional to entitlement, normalised so the average VM keeps baseShares.
    const raw = esum > 0 ? (cfg.baseShares * vms.length * (entitled[i] as number)) / esum : cfg.baseShares * p;
    const lo = v.policy?.minShares ?? MIN_SHARES;
    const hi = v.policy?.maxShares ?? MAX_SHARES;
    let shares = Math.round(Math.min(hi, Math.max(lo, MIN_SHARES, raw)));
    if (v.shares !== undefined && Math.abs(shares - v.shares) <= cfg.hysteresis * v.shares) shares = v.shares;
    const d: L1Decision = { vm: v.name, entitledCores: entitled[i] as number, shares, reason: contended ? 'contended' : 'demand' };
    if (cfg.caps) d.quotaUs = contended && v.cpuDemand > (entitled[i] as number) + 1e-9 ? Math.max(1000, Math.round(((entitled[i] as number) / v.vcpus) * cfg.capPeriodUs)) : -1;
    return d;
  });
  const mem = planBalloons(obs, prio, cfg, decisions);
  return { contended, ...mem, decisions };
}

/** Balloon targets; writes balloonKiB and reasons into `decisions`. */
function planBalloons(obs: Level1Observation, prio: number[], cfg: Level1Config, decisions: L1Decision[]): { pressure: boolean; freeShare: number } {
  const vms = obs.vms;
  const sumCur = vms.reduce((s, v) => s + v.memCurKiB, 0);
  const total = cfg.memBudgetKiB ?? obs.memTotalKiB;
  let free = cfg.memBudgetKiB !== undefined ? cfg.memBudgetKiB - sumCur : obs.memFreeKiB;
  const reserve = cfg.pressureFree * total;
  const pressure = free < reserve;
  const bounds = vms.map((v) => {
    const max = Math.min(v.memMaxKiB, v.policy?.maxMemKiB ?? v.memMaxKiB);
    const min = Math.min(max, v.policy?.minMemKiB ?? Math.round(v.memMaxKiB * 0.1));
    const want = v.memUsedKiB === undefined ? v.memCurKiB : Math.round(v.memUsedKiB / (1 - cfg.guestFree));
    return { min, max, want: Math.min(max, Math.max(min, want)) };
  });
  const grow = vms.map((v, i) => Math.max(0, bounds[i]!.want - v.memCurKiB));
  const needGrow = grow.reduce((s, g) => s + g, 0);
  // Reclaim idle memory (cur above want) to restore the reserve and cover guests that need more,
  // most idle first (idleness divided by priority), a bounded step per VM per period.
  let toReclaim = Math.max(0, reserve - free + needGrow);
  if (toReclaim > 0) {
    const order = vms.map((_, i) => i).filter((i) => vms[i]!.memCurKiB > bounds[i]!.want)
      .sort((a, b) => (vms[b]!.memCurKiB - bounds[b]!.want) / prio[b]! - (vms[a]!.memCurKiB - bounds[a]!.want) / prio[a]!);
    for (const i of order) {
      if (toReclaim <= 0) break;
      const v = vms[i]!;
      const cut = Math.min(v.memCurKiB - bounds[i]!.want, Math.round(cfg.shrinkStep * v.memMaxKiB), Math.ceil(toReclaim));
      if (cut < cfg.memHysteresis * v.memMaxKiB) continue;
      decisions[i]!.balloonKiB = v.memCurKiB - cut;
      decisions[i]!.reason += ', host memory pressure';
      free += cut;
      toReclaim -= cut;
    }
  }
  // Give memory back to guests whose use rose, highest priority first, never past the node's memory.
  const growers = vms.map((_, i) => i).filter((i) => grow[i]! > 0).sort((a, b) => prio[b]! - prio[a]!);
  for (const i of growers) {
    const g = Math.min(grow[i]!, Math.max(0, Math.floor(free)));
    if (g <= 0) continue;
    decisions[i]!.balloonKiB = vms[i]!.memCurKiB + g;
    decisions[i]!.reason += ', memory demand rose';
    free -= g;
  }
  if (!pressure && needGrow === 0) {
    // No pressure: relax balloons back towards the maximum while the node keeps its reserve.
    for (let i = 0; i < vms.length; i++) {
      const v = vms[i]!;
      const b = bounds[i]!;
      if (decisions[i]!.balloonKiB !== undefined || v.memCurKiB >= b.max) continue;
      const g = Math.min(b.max - v.memCurKiB, Math.round(cfg.relaxStep * v.memMaxKiB), Math.floor(free - reserve));
      if (g < cfg.memHysteresis * v.memMaxKiB) continue;
      decisions[i]!.balloonKiB = v.memCurKiB + g;
      decisions[i]!.reason += ', pressure over';
      free -= g;
    }
  }
  return { pressure, freeShare: total > 0 ? free / total : 0 };
}
