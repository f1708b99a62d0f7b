/**
 * Tuning harness (not a test): every policy, or ours with overrides, on the
 * tuning set only: generated traces (seed 7) and March PlanetLab days.
 * Usage: node dist/test/balancer/tune.js DIR[:DIR...] [policy,...] [ours-config-json]
 * (DIRs of converted March days; TUNE_HOSTS=24,28 node counts of 2 cores / 32 GiB; TUNE_GEN=0 skips generated traces)
 * The April days are never read here: they are what a reader checks generalisation on.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadTrace } from '../../src/balancer/io.js';
import { oursPolicy, type Level2Config } from '../../src/balancer/level2.js';
import { POLICY_NAMES, isPolicyName, policyByName } from '../../src/balancer/policies.js';
import { simulate, type SimMetrics } from '../../src/balancer/simulator.js';
import { uniformHosts, type HostSpec, type Trace } from '../../src/balancer/trace.js';
import { generateTrace, type TraceKind } from '../../src/balancer/tracegen.js';

const [dir, pol, cfgJson] = process.argv.slice(2);
const names = (pol ?? POLICY_NAMES.join(',')).split(',').filter(isPolicyName);
const cfg = cfgJson ? (JSON.parse(cfgJson) as Partial<Level2Config>) : {};
const cases: Array<{ trace: Trace; hosts: HostSpec[] }> = [];
const hostCounts = (process.env.TUNE_HOSTS ?? '24').split(',').map(Number);
for (const d of dir ? dir.split(':') : []) {
  for (const f of readdirSync(d).filter((f) => /^planetlab-201103\d\d-.*\.csv\.gz$/.test(f)).sort()) {
    const trace = loadTrace(join(d, f));
    for (const n of hostCounts) cases.push({ trace: { ...trace, name: `${f.replace('.csv.gz', '')}@${n}` }, hosts: uniformHosts(n, 2, 32) });
  }
}
if (process.env.TUNE_GEN !== '0') {
  for (const kind of ['diurnal', 'bursty', 'ramp', 'onoff', 'mix'] as TraceKind[]) {
    cases.push({ trace: generateTrace({ kind, vms: 200, steps: 720, period: 60, seed: 7 }), hosts: uniformHosts(16, 16, 64) });
  }
}
const sum: Record<string, { sla: number; mig: number }> = {};
for (const c of cases) {
  const row: string[] = [c.trace.name.padEnd(34)];
  for (const n of names) {
    const m: SimMetrics = simulate(c.trace, c.hosts, n === 'ours' ? oursPolicy(cfg) : policyByName(n));
    const s = (sum[n] ??= { sla: 0, mig: 0 });
    s.sla += m.sla_violation;
    s.mig += m.migrations;
    row.push(`${n} ${m.sla_violation.toFixed(4)}/${m.migrations}`);
  }
  console.log(row.join('  '));
}
console.log('sum ' + names.map((n) => `${n} ${sum[n]!.sla.toFixed(4)}/${sum[n]!.mig}`).join('  '));
