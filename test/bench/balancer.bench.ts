/**
 * Balancer benchmark: every level-2 policy on generated traces (diurnal, bursty,
 * ramp, on-off, mix; seed 11, not the seed our defaults were tuned on) and on
 * the shipped PlanetLab days (March 2011), all with the same first-fit-decreasing
 * start, every metric (ours and CloudSim's SLATAH, PDM, SLAV); a level-1 table
 * (ours vs static shares + MOM-like balloons); plan time of our planner on
 * 1,000 VMs x 20 nodes and on 1,000 nodes x 20 VMs (with the memory it takes,
 * KubeVirt-like as the peer). Last line: one JSON object.
 * Ratios are ours / baseline, each summed over all traces.
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { planKubevirt } from '../../src/balancer/baselines/kubevirt.js';
import { planLevel2 } from '../../src/balancer/level2.js';
import { percentile } from '../../src/balancer/mathx.js';
import { createRng } from '../../src/balancer/rng.js';
import type { HostState, PlanInput, VmState } from '../../src/balancer/types.js';
import { dirname, join } from 'node:path';
import { loadTrace } from '../../src/balancer/io.js';
import { simulateLevel1, type L1SimMetrics } from '../../src/balancer/level1-sim.js';
import { POLICY_NAMES, policyByName } from '../../src/balancer/policies.js';
import { metricsTable, summaryTable } from '../../src/balancer/report.js';
import { simulate, type SimMetrics } from '../../src/balancer/simulator.js';
import { uniformHosts, type HostSpec, type Trace } from '../../src/balancer/trace.js';
import { generateTrace, type TraceKind } from '../../src/balancer/tracegen.js';

const here = dirname(fileURLToPath(import.meta.url));
// dist/test/bench -> test/fixtures/traces (the fixture is not copied by tsc)
const FIXTURES = join(here, '..', '..', '..', 'test', 'fixtures', 'traces');
const SEED = 11;

const cases: Array<{ trace: Trace; hosts: HostSpec[]; label: string }> = [];
for (const kind of ['diurnal', 'bursty', 'ramp', 'onoff', 'mix'] as TraceKind[]) {
  cases.push({ trace: generateTrace({ kind, vms: 200, steps: 720, period: 60, seed: SEED }), hosts: uniformHosts(16, 16, 64), label: '16 nodes x 16 cores, 64 GiB' });
}
cases.push({ trace: loadTrace(join(FIXTURES, 'planetlab-3days-300vms.csv.gz')), hosts: uniformHosts(12, 4, 40), label: '12 nodes x 4 cores, 40 GiB' });
// One PlanetLab day each, 400 VMs on 24 nodes of 2 cores (the set-up the April check uses).
for (const day of ['20110322', '20110325']) {
  cases.push({ trace: loadTrace(join(FIXTURES, `planetlab-${day}-400vms.csv.gz`)), hosts: uniformHosts(24, 2, 32), label: '24 nodes x 2 cores, 32 GiB' });
}

const sums: Record<string, SimMetrics> = {};
// Every policy x trace, for the one summary table at the end (the metrics in one place).
const all: Array<{ trace: string; rows: Record<string, SimMetrics> }> = [];
const t0 = Date.now();
for (const c of cases) {
  const rows: Record<string, SimMetrics> = {};
  all.push({ trace: c.trace.name, rows });
  for (const name of POLICY_NAMES) {
    const m = simulate(c.trace, c.hosts, policyByName(name));
    rows[name] = m;
    const s = (sums[name] ??= { sla_violation: 0, unmet_cpu: 0, cv: 0, migrations: 0, gb_moved: 0, plan_ms_p99: 0, slatah: 0, pdm: 0, slav: 0 });
    for (const k of Object.keys(s) as Array<keyof SimMetrics>) s[k] = k === 'plan_ms_p99' ? Math.max(s[k], m[k]) : s[k] + m[k];
  }
  const tr = c.trace;
  process.stdout.write(metricsTable(`\n${tr.name}: ${tr.vms.length} VMs, ${c.label}, ${tr.times.length} samples every ${tr.period} s`, rows) + '\n');
}
process.stdout.write(metricsTable('\nsum over all traces (plan_ms_p99: the worst)', sums) + '\n');
process.stdout.write('\n' + summaryTable(all, sums) + '\n');

// Level 1: the first 12 VMs of each generated trace on one node with half their peak CPU and 1.1 x their peak memory.
const l1Rows: string[] = [];
const l1Keys: Array<keyof L1SimMetrics> = ['cpu_shortfall', 'cpu_shortfall_high', 'guest_swap', 'host_swap', 'free_mean', 'balloon_changes'];
for (const c of cases.slice(0, 5)) {
  const vms = c.trace.vms.slice(0, 12);
  const cores = Math.max(2, Math.round(vms.reduce((s, v) => s + Math.max(...v.cpu), 0) / 2));
  const mem = vms.reduce((s, v) => s + Math.max(...v.mem), 0) * 1.1;
  for (const p of ['static+mom', 'ours'] as const) {
    const m = simulateLevel1(vms, c.trace.period, cores, mem, p);
    l1Rows.push([c.trace.name.padEnd(16), p.padEnd(11), ...l1Keys.map((k) => (k === 'free_mean' ? m[k].toFixed(3) : m[k].toFixed(0)).padStart(12))].join(' '));
  }
}
process.stdout.write(`\nlevel 1 (one node, 12 VMs; every 4th VM priority 2): cpu_shortfall = core-s of priority-fair share not received, swap in MiB-s\n`);
process.stdout.write(['trace'.padEnd(16), 'policy'.padEnd(11), ...l1Keys.map((k) => k.padStart(12))].join(' ') + '\n' + l1Rows.join('\n') + '\n');

// Plan time at scale: ours (and DRS, the peer) planning 1,000 VMs on 20 nodes during a replay.
const big = generateTrace({ kind: 'mix', vms: 1000, steps: 40, period: 60, seed: SEED });
const bigHosts = uniformHosts(20, 64, 256);
const oursBig = simulate(big, bigHosts, policyByName('ours'));
const drsBig = simulate(big, bigHosts, { ...policyByName('drs'), everySeconds: 600 });
process.stdout.write(`\nplan time, 1000 VMs x 20 nodes, 40 samples: ours p99 ${oursBig.plan_ms_p99.toFixed(2)} ms (${oursBig.migrations} migrations); DRS-like p99 ${drsBig.plan_ms_p99.toFixed(2)} ms\n`);
// Plan time at 1,000 nodes x 20 VMs (20,000 VMs), a hot-spot mix: 10 % of the nodes hot
// (some past 100 %), 30 % busy, the rest light; 8 samples of history.
function bigCluster(seed: number): PlanInput {
  const r = createRng(seed);
  const hosts: HostState[] = [];
  const vms: VmState[] = [];
  for (let i = 0; i < 1000; i++) {
    const name = `node${String(i).padStart(4, '0')}`;
    const level = r.next() < 0.1 ? 0.9 + 0.25 * r.next() : r.next() < 0.33 ? 0.55 + 0.2 * r.next() : 0.15 + 0.3 * r.next();
    let cpu = 0;
    for (let j = 0; j < 20; j++) {
      const c = (32 * level) / 20 * (0.5 + r.next());
      cpu += c;
      const hist = Array.from({ length: 8 }, (_, k) => Math.max(0, c * (0.85 + 0.3 * r.next()) * (k < 4 ? 0.9 : 1)));
      vms.push({ name: `${name}-vm${j}`, host: name, cpuHistory: hist, memMiB: r.pick([2048, 4096, 8192]), vcpus: 4,
        antiAffinity: j === 0 ? [`group${i % 50}`] : undefined, lastMigration: r.next() < 0.05 ? 99_500 : undefined });
    }
    hosts.push({ name, cores: 32, memMiB: 256 * 1024, cpuHistory: Array.from({ length: 8 }, (_, k) => (cpu / 32) * (k < 4 ? 0.9 : 1)) });
  }
  return { now: 100_000, period: 60, hosts, vms, inflight: [] };
}
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const oursMs: number[] = [];
const oursCpuMs: number[] = [];
const peerMs: number[] = [];
let oursMoves = 0;
gc();
let before = process.memoryUsage().heapUsed;
const bigInputs = [bigCluster(1000)];
const inputMiB = (process.memoryUsage().heapUsed - before) / 2 ** 20;
for (let i = 1; i < 10; i++) bigInputs.push(bigCluster(1000 + i));
let planMiB = 0;
// Memory: one plan on each cluster right after a collection; heap growth over the plan, nothing
// collected in between unless V8 had to, is what the plan allocates (an upper bound).
for (const input of bigInputs) {
  gc();
  before = process.memoryUsage().heapUsed;
  planLevel2(input);
  planMiB = Math.max(planMiB, (process.memoryUsage().heapUsed - before) / 2 ** 20);
}
// Time: 100 plans over the 10 clusters (a plan does not change its input), no forced collection
// in between (its sweeping would run on into the timed plan).
const PLANS = 100;
for (let i = 0; i < PLANS; i++) {
  const input = bigInputs[i % bigInputs.length] as PlanInput;
  let t = performance.now();
  const cpu0 = process.cpuUsage();
  const moves = planLevel2(input);
  oursMs.push(performance.now() - t);
  // CPU time too: on a shared machine wall time also counts the time other processes ran.
  const cpu = process.cpuUsage(cpu0);
  oursCpuMs.push((cpu.user + cpu.system) / 1000);
  oursMoves += moves.length;
  t = performance.now();
  planKubevirt(input);
  peerMs.push(performance.now() - t);
}
const p99Nodes = percentile(oursMs, 99);
process.stdout.write(`plan time, 1000 nodes x 20 VMs (hot-spot mix), ${PLANS} plans: ours p99 ${p99Nodes.toFixed(2)} ms, median ${percentile(oursMs, 50).toFixed(2)} ms ` +
  `(${(oursMoves / PLANS).toFixed(1)} moves a plan); KubeVirt-like p99 ${percentile(peerMs, 99).toFixed(2)} ms (ratio ${(p99Nodes / Math.max(1e-9, percentile(peerMs, 99))).toFixed(2)}); ` +
  `memory: the cluster ${inputMiB.toFixed(1)} MiB, one plan allocates at most ${planMiB.toFixed(1)} MiB; ` +
  `ours CPU time p99 ${percentile(oursCpuMs, 99).toFixed(2)} ms (all threads, GC included)\n`);
process.stdout.write(`bench wall time ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

const ratio = (a: number, b: number): number | null => (b > 0 ? Number((a / b).toFixed(4)) : null);
const o = sums.ours as SimMetrics;
process.stdout.write(JSON.stringify({
  bench: 'balancer',
  plan_ms_1000x20: Number(oursBig.plan_ms_p99.toFixed(3)),
  sla_vs_drs: ratio(o.sla_violation, (sums.drs as SimMetrics).sla_violation),
  sla_vs_sandpiper: ratio(o.sla_violation, (sums.sandpiper as SimMetrics).sla_violation),
  sla_vs_ovirt: ratio(o.sla_violation, (sums.ovirt as SimMetrics).sla_violation),
  migrations_vs_drs: ratio(o.migrations, (sums.drs as SimMetrics).migrations),
  sla_vs_proxmox: ratio(o.sla_violation, (sums.proxmox as SimMetrics).sla_violation),
  sla_vs_proxmox_norm: ratio(o.sla_violation, (sums['proxmox-norm'] as SimMetrics).sla_violation),
  sla_vs_kubevirt: ratio(o.sla_violation, (sums.kubevirt as SimMetrics).sla_violation),
  plan_ms_1000_nodes: Number(p99Nodes.toFixed(3)),
  plan_mib_1000_nodes: Number(planMiB.toFixed(1)),
  plan_cpu_ms_1000_nodes: Number(percentile(oursCpuMs, 99).toFixed(3)),
  slav_vs_drs: ratio(o.slav, (sums.drs as SimMetrics).slav),
}) + '\n');
