/**
 * Balancer benchmark: every level-2 policy on generated traces (diurnal, bursty,
 * ramp, on-off, mix; seed 11, not the seed our defaults were tuned on) and on
 * the PlanetLab sample, all with the same first-fit-decreasing start; a
 * level-1 table (ours vs static shares + MOM-like balloons); plan time of our
 * planner on 1,000 VMs x 20 nodes. Last line: one JSON object.
 * Ratios are ours / baseline, each summed over all traces.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { loadTrace } from '../../src/balancer/io.js';
import { simulateLevel1, type L1SimMetrics } from '../../src/balancer/level1-sim.js';
import { POLICY_NAMES, policyByName } from '../../src/balancer/policies.js';
import { metricsTable } from '../../src/balancer/report.js';
import { simulate, type SimMetrics } from '../../src/balancer/simulator.js';
import { uniformHosts, type HostSpec, type Trace } from '../../src/balancer/trace.js';
import { generateTrace, type TraceKind } from '../../src/balancer/tracegen.js';

const here = dirname(fileURLToPath(import.meta.url));
// dist/test/bench -> test/fixtures/traces (the fixture is not copied by tsc)
const PLANETLAB = join(here, '..', '..', '..', 'test', 'fixtures', 'traces', 'planetlab-3days-300vms.csv.gz');
const SEED = 11;

const cases: Array<{ trace: Trace; hosts: HostSpec[]; label: string }> = [];
for (const kind of ['diurnal', 'bursty', 'ramp', 'onoff', 'mix'] as TraceKind[]) {
  cases.push({ trace: generateTrace({ kind, vms: 200, steps: 720, period: 60, seed: SEED }), hosts: uniformHosts(16, 16, 64), label: '16 nodes x 16 cores, 64 GiB' });
}
cases.push({ trace: loadTrace(PLANETLAB), hosts: uniformHosts(12, 4, 40), label: '12 nodes x 4 cores, 40 GiB' });

const sums: Record<string, SimMetrics> = {};
const t0 = Date.now();
for (const c of cases) {
  const rows: Record<string, SimMetrics> = {};
  for (const name of POLICY_NAMES) {
    const m = simulate(c.trace, c.hosts, policyByName(name));
    rows[name] = m;
    const s = (sums[name] ??= { sla_violation: 0, unmet_cpu: 0, cv: 0, migrations: 0, gb_moved: 0, plan_ms_p99: 0, slatah: 0, pdm: 0, slav: 0 });
    s.sla_violation += m.sla_violation;
    s.unmet_cpu += m.unmet_cpu;
    s.cv += m.cv;
    s.migrations += m.migrations;
    s.gb_moved += m.gb_moved;
    s.plan_ms_p99 = Math.max(s.plan_ms_p99, m.plan_ms_p99);
  }
  const tr = c.trace;
  process.stdout.write(metricsTable(`\n${tr.name}: ${tr.vms.length} VMs, ${c.label}, ${tr.times.length} samples every ${tr.period} s`, rows) + '\n');
}
process.stdout.write(metricsTable('\nsum over all traces (plan_ms_p99: the worst)', sums) + '\n');

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
}) + '\n');
