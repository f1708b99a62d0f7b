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
  const histLen = o.historyLen ?? 8;
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
  let nextPlan = trace.times[0] as number;
  const demand = new Float64Array(H);
  const mem = new Float64Array(H);
  const net = new Float64Array(H);

  for (let k = 0; k < steps; k++) {
    const t = trace.times[k] as number;
    // Migrations that ended before this sample: the VM now lives on its target.
    for (const [vi, m] of migrating) {
      if (m.end <= t) {
        at[vi] = m.to;
        lastMig[vi] = m.end;
        migrating.delete(vi);
      }
    }
    demand.fill(0);
    mem.fill(0);
    net.fill(0);
    for (let i = 0; i < V; i++) {
      const v = trace.vms[i]!;
      const c = v.cpu[k] as number;
      const m = migrating.get(i);
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
    const hs: HostState[] = hosts.map((h, j) => ({
      name: h.name, cores: h.cores, memMiB: h.memMiB, netMbps: netCap,
      cpuHistory: hostCpuHist[j]!, memHistory: hostMemHist[j]!, netHistory: hostNetHist[j]!,
    }));
    const vs: VmState[] = trace.vms.map((v, i) => ({
      name: v.name, host: hosts[at[i]!]!.name, cpuHistory: vmHist[i]!, memMiB: v.mem[k] as number, vcpus: vcpus[i]!,
      netMbps: v.net[k] as number, migrating: migrating.has(i), lastMigration: Number.isFinite(lastMig[i]!) ? lastMig[i]! : undefined,
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
      migrating.set(vi, { vm: vi, from: at[vi]!, to, start: t, end: t + secs });
      migrations++;
      mibMoved += migrationMiB(vmMem, dirty, bw);
    }
  }
  const total = H * dt * steps;
  return {
    sla_violation: total > 0 ? slaHostSec / total : 0,
    unmet_cpu: unmet,
    cv: steps > 0 ? cvSum / steps : 0,
    migrations,
    gb_moved: mibMoved / 1024,
    plan_ms_p99: percentile(planMs, 99),
  };
}
