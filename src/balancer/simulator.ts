/**
 * Trace-driven simulator: replays a trace on a set of nodes in accelerated
 * time, runs a level-2 policy every sample (or every `everySeconds`), and
 * models live migrations: duration from memory, dirty rate and bandwidth; CPU
 * overhead on both ends while it runs; memory held on both ends.
 * Pure apart from the clock used to time each plan call.
 */
import { performance } from 'node:perf_hooks';
import { dirtyRateOf, migrationMiB, migrationSeconds } from './cluster.js';
import { cv, percentile } from './mathx.js';
import { firstFitDecreasing } from './placement.js';
import type { HostSpec, Trace } from './trace.js';
import type { HostState, InflightMigration, Level2Policy, VmState } from './types.js';

export interface SimOptions {
  /** MiB/s available to one migration (default 1 Gbit/s). */
  bandwidthMiBs?: number;
  /** Cores a running migration costs its source and its target. */
  srcOverheadCores?: number;
  dstOverheadCores?: number;
  /** Samples of history handed to the planners. */
  historyLen?: number;
  /** Host network capacity, Mbit/s (for Sandpiper's volume). */
  hostNetMbps?: number;
}

export interface SimMetrics {
  /** Share of host-seconds above 90 % CPU. */
  sla_violation: number;
  /** Core-seconds of demand not served. */
  unmet_cpu: number;
  /** Mean coefficient of variation of node CPU utilisation. */
  cv: number;
  migrations: number;
  gb_moved: number;
  plan_ms_p99: number;
  /**
   * Beloglazov & Buyya's (CCPE 2012) metrics, as CloudSim computes them:
   * SLATAH = mean over nodes of (time at 100 % CPU / time active);
   * PDM = mean over VMs of (CPU lost to migrations / CPU requested), a VM
   * losing 10 % of its demand while it migrates; SLAV = SLATAH x PDM.
   */
  slatah: number;
  pdm: number;
  slav: number;
}

interface Running {
  vm: number;
  from: number;
  to: number;
  start: number;
  end: number;
}

export function simulate(trace: Trace, hosts: readonly HostSpec[], policy: Level2Policy, o: SimOptions = {}): SimMetrics {
  const bw = o.bandwidthMiBs ?? 119;
  const srcOv = o.srcOverheadCores ?? 0.3;
  const dstOv = o.dstOverheadCores ?? 0.2;
  const histLen = o.historyLen ?? 24;
  const netCap = o.hostNetMbps ?? 1000;
  const H = hosts.length;
  const V = trace.vms.length;
  const steps = trace.times.length;
  const dt = trace.period;
  const hostIdx = new Map(hosts.map((h, i) => [h.name, i]));
  const vmIdx = new Map(trace.vms.map((v, i) => [v.name, i]));

  const placed = firstFitDecreasing(hosts, trace.vms.map((v) => ({ name: v.name, cpu: v.cpu[0] as number, memMiB: v.mem[0] as number })));
  const at = new Int32Array(V);
  trace.vms.forEach((v, i) => (at[i] = hostIdx.get(placed.hostOf.get(v.name) as string) as number));
  // vCPUs: the VM's configured size; the smallest whole number covering its peak demand.
  const vcpus = trace.vms.map((v) => Math.max(1, Math.ceil(Math.max(...v.cpu) - 1e-9)));
  const lastMig = new Float64Array(V).fill(-Infinity);
  const lastMigSecs = new Float64Array(V);
  const migEnds: number[][] = trace.vms.map(() => []);
  const migrating = new Map<number, Running>();

  const hostCpuHist: number[][] = hosts.map(() => []);
  const hostMemHist: number[][] = hosts.map(() => []);
  const hostNetHist: number[][] = hosts.map(() => []);
  const vmHist: number[][] = trace.vms.map(() => []);
  const push = (a: number[], x: number): void => {
    a.push(x);
    if (a.length > histLen) a.shift();
  };

  let slaHostSec = 0;
  let unmet = 0;
  let cvSum = 0;
  let migrations = 0;
  let mibMoved = 0;
  const planMs: number[] = [];
  const migrationHistory = (i: number, t: number): Pick<VmState, 'lastMigration' | 'lastMigrationSeconds' | 'migrationsLast24h'> => {
    if (!Number.isFinite(lastMig[i]!)) return {};
    const ends = migEnds[i]!;
    while (ends.length > 0 && (ends[0] as number) <= t - 86_400) ends.shift();
    return { lastMigration: lastMig[i]!, lastMigrationSeconds: lastMigSecs[i]!, migrationsLast24h: ends.length };
  };
  let nextPlan = trace.times[0] as number;
  const demand = new Float64Array(H);
  const mem = new Float64Array(H);
  const net = new Float64Array(H);
  const active = new Uint8Array(H);
  const hostActiveSec = new Float64Array(H);
  const hostFullSec = new Float64Array(H);
  const vmRequested = new Float64Array(V);
  const vmLost = new Float64Array(V);

  const finishBy = (time: number): void => {
    for (const [vi, m] of migrating) {
      if (m.end <= time) {
        at[vi] = m.to;
        lastMig[vi] = m.end;
        lastMigSecs[vi] = m.end - m.start;
        migEnds[vi]!.push(m.end);
        migrating.delete(vi);
      }
    }
  };

  for (let k = 0; k < steps; k++) {
    const t = trace.times[k] as number;
    // Migrations that ended before this sample: the VM now lives on its target.
    finishBy(t);
    demand.fill(0);
    mem.fill(0);
    net.fill(0);
    active.fill(0);
    for (let i = 0; i < V; i++) {
      const v = trace.vms[i]!;
      const c = v.cpu[k] as number;
      const m = migrating.get(i);
      active[at[i]!] = 1;
      vmRequested[i]! += c * dt;
      if (m) {
        active[m.to] = 1;
        vmLost[i]! += 0.1 * c * Math.min(1, Math.max(0, Math.min(m.end, t + dt) - Math.max(m.start, t)) / dt) * dt;
      }
      if (m && m.end < t + dt) {
        // Ends within this interval: split its demand between both ends.
        const f = Math.max(0, m.end - t) / dt;
        demand[m.from]! += c * f;
        demand[m.to]! += c * (1 - f);
      } else demand[at[i]!]! += c;
      mem[at[i]!]! += v.mem[k] as number;
      net[at[i]!]! += v.net[k] as number;
      if (m) mem[m.to]! += v.mem[k] as number;
    }
    for (const m of migrating.values()) {
      const f = Math.min(1, Math.max(0, Math.min(m.end, t + dt) - Math.max(m.start, t)) / dt);
      demand[m.from]! += srcOv * f;
      demand[m.to]! += dstOv * f;
    }
    const served: number[] = new Array<number>(H);
    for (let h = 0; h < H; h++) {
      const cores = hosts[h]!.cores;
      const u = demand[h]! / cores;
      if (u > 0.9) slaHostSec += dt;
      if (active[h]) {
        hostActiveSec[h]! += dt;
        if (u >= 1 - 1e-9) hostFullSec[h]! += dt;
      }
      unmet += Math.max(0, demand[h]! - cores) * dt;
      served[h] = Math.min(1, u);
      push(hostCpuHist[h]!, u);
      push(hostMemHist[h]!, mem[h]! / hosts[h]!.memMiB);
      push(hostNetHist[h]!, net[h]!);
    }
    cvSum += cv(served);
    for (let i = 0; i < V; i++) push(vmHist[i]!, trace.vms[i]!.cpu[k] as number);

    if (t + 1e-9 < nextPlan) continue;
    nextPlan = t + (policy.everySeconds ?? dt);
    // The plan runs once this interval is over (at t + dt): what ended within it is done.
    finishBy(t + dt);
    const hs: HostState[] = hosts.map((h, j) => ({
      name: h.name, cores: h.cores, memMiB: h.memMiB, netMbps: netCap,
      cpuHistory: hostCpuHist[j]!, memHistory: hostMemHist[j]!, netHistory: hostNetHist[j]!,
    }));
    const vs: VmState[] = trace.vms.map((v, i) => ({
      name: v.name, host: hosts[at[i]!]!.name, cpuHistory: vmHist[i]!, memMiB: v.mem[k] as number, vcpus: vcpus[i]!,
      netMbps: v.net[k] as number, migrating: migrating.has(i), ...migrationHistory(i, t),
    }));
    const inflight: InflightMigration[] = [...migrating.values()].map((m) => ({ vm: trace.vms[m.vm]!.name, from: hosts[m.from]!.name, to: hosts[m.to]!.name }));
    const t0 = performance.now();
    const moves = policy.plan({ now: t, period: dt, hosts: hs, vms: vs, inflight });
    planMs.push(performance.now() - t0);
    for (const mv of moves) {
      const vi = vmIdx.get(mv.vm);
      const to = hostIdx.get(mv.to);
      if (vi === undefined || to === undefined || migrating.has(vi) || at[vi] === to) continue;
      const vmMem = trace.vms[vi]!.mem[k] as number;
      const dirty = dirtyRateOf(vs[vi]!);
      const secs = migrationSeconds(vmMem, dirty, bw);
      // Sample k is the mean over [t, t + dt): the plan that read it can act only from t + dt on,
      // so its migrations start there and their overhead and PDM fall in the next interval.
      migrating.set(vi, { vm: vi, from: at[vi]!, to, start: t + dt, end: t + dt + secs });
      migrations++;
      mibMoved += migrationMiB(vmMem, dirty, bw);
    }
  }
  const total = H * dt * steps;
  const slatah = meanOfRatios(hostFullSec, hostActiveSec);
  const pdm = meanOfRatios(vmLost, vmRequested);
  return {
    sla_violation: total > 0 ? slaHostSec / total : 0,
    unmet_cpu: unmet,
    cv: steps > 0 ? cvSum / steps : 0,
    migrations,
    gb_moved: mibMoved / 1024,
    plan_ms_p99: percentile(planMs, 99),
    slatah,
    pdm,
    slav: slatah * pdm,
  };
}

/** Mean of a[i] / b[i] over the i with b[i] > 0 (CloudSim's averaging over nodes or VMs). */
function meanOfRatios(a: Float64Array, b: Float64Array): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    if (b[i]! > 0) {
      s += a[i]! / b[i]!;
      n++;
    }
  }
  return n > 0 ? s / n : 0;
}
