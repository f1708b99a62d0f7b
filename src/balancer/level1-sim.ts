/**
 * Level 1 in the simulator: one node's VMs replayed from a trace, ours against
 * static shares (every VM 1024) for CPU and a MOM-like balloon policy for
 * memory (oVirt's MOM: node free memory < 20 % is pressure; balloons shrink by
 * at most 5 % a step, guests keep 20 % free; grow back by 5 % a step when
 * pressure ends). Pure.
 */
import { DEFAULT_LEVEL1, planLevel1, waterFill, type L1Vm, type Level1Config } from './level1.js';
import type { TraceVm } from './trace.js';

export interface L1SimMetrics {
  /** Core-seconds of priority-weighted fair share that VMs did not get. */
  cpu_shortfall: number;
  /** The same, for VMs of the highest priority only. */
  cpu_shortfall_high: number;
  /** MiB-seconds a guest needed beyond its balloon (guest swapping). */
  guest_swap: number;
  /** MiB-seconds balloons held beyond the node's memory (node swapping). */
  host_swap: number;
  /** Mean memory left free on the node, share of total. */
  free_mean: number;
  balloon_changes: number;
}

export type Level1PolicyName = 'static+mom' | 'ours';

/** MOM-like balloon step for one guest (KiB). */
export function momBalloon(curKiB: number, usedKiB: number, maxKiB: number, pressure: boolean): number {
  if (pressure) {
    const keep = usedKiB / 0.8; // guests keep 20 % free
    return Math.round(Math.max(Math.min(curKiB, keep), curKiB * 0.95));
  }
  return Math.round(Math.min(maxKiB, curKiB * 1.05));
}

/**
 * Replay `vms` on one node of `cores` and `memMiB`. Priorities: every fourth VM
 * has priority 2 (a "gold" class), the rest 1. Balloons start at each VM's
 * maximum, taken as 1.25 x its peak memory use in the trace.
 */
export function simulateLevel1(vms: readonly TraceVm[], period: number, cores: number, memMiB: number, policy: Level1PolicyName,
  cfg: Partial<Level1Config> = {}): L1SimMetrics {
  const c = { ...DEFAULT_LEVEL1, ...cfg };
  const n = vms.length;
  const steps = Math.min(...vms.map((v) => v.cpu.length));
  const prio = vms.map((_, i) => (i % 4 === 0 ? 2 : 1));
  const vcpus = vms.map((v) => Math.max(1, Math.ceil(Math.max(...v.cpu) - 1e-9)));
  const maxKiB = vms.map((v) => Math.round(Math.max(...v.mem) * 1.25 * 1024));
  const totalKiB = memMiB * 1024;
  const cur = [...maxKiB];
  let shares = vms.map(() => 1024);
  const m: L1SimMetrics = { cpu_shortfall: 0, cpu_shortfall_high: 0, guest_swap: 0, host_swap: 0, free_mean: 0, balloon_changes: 0 };
  for (let k = 0; k < steps; k++) {
    const demand = vms.map((v) => v.cpu[k] as number);
    const used = vms.map((v) => (v.mem[k] as number) * 1024);
    // CPU this period: proportional share by the shares set last period, capped by demand.
    const got = waterFill(cores, demand, shares);
    const fair = waterFill(cores, demand, prio);
    for (let i = 0; i < n; i++) {
      const short = Math.max(0, fair[i]! - got[i]!) * period;
      m.cpu_shortfall += short;
      if (prio[i] === 2) m.cpu_shortfall_high += short;
      m.guest_swap += (Math.max(0, used[i]! - cur[i]!) / 1024) * period;
    }
    const sum = cur.reduce((s, x) => s + x, 0);
    m.host_swap += (Math.max(0, sum - totalKiB) / 1024) * period;
    const free = Math.max(0, totalKiB - sum);
    m.free_mean += free / totalKiB / steps;

    // Decide for the next period from what was seen in this one.
    if (policy === 'ours') {
      const obsVms: L1Vm[] = vms.map((v, i) => ({
        name: v.name, vcpus: vcpus[i]!, cpuDemand: demand[i]!, memMaxKiB: maxKiB[i]!, memCurKiB: cur[i]!,
        memUsedKiB: Math.min(used[i]!, cur[i]!), shares: shares[i]!, policy: { priority: prio[i]! },
      }));
      const plan = planLevel1({ cores, memTotalKiB: totalKiB, memFreeKiB: free, vms: obsVms }, c);
      shares = plan.decisions.map((d) => d.shares);
      plan.decisions.forEach((d, i) => {
        if (d.balloonKiB !== undefined && d.balloonKiB !== cur[i]) {
          cur[i] = d.balloonKiB;
          m.balloon_changes++;
        }
      });
    } else {
      const pressure = free < 0.2 * totalKiB;
      for (let i = 0; i < n; i++) {
        const next = momBalloon(cur[i]!, Math.min(used[i]!, cur[i]!), maxKiB[i]!, pressure);
        if (next !== cur[i]) {
          cur[i] = next;
          m.balloon_changes++;
        }
      }
    }
  }
  return m;
}
