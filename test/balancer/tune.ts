/**
 * Tuning harness (not a test): every policy, or ours with overrides, on the
 * tuning set only: generated traces (seed 7) and March PlanetLab days.
 * Usage: node dist/test/balancer/tune.js DIR[:DIR...] [policy,...] [ours-config-json]
 * (DIRs of converted March days, or '-' for none; TUNE_HOSTS=24,28 node counts of 2 cores / 32 GiB; TUNE_GEN=0 skips
 * generated traces; TUNE_SEEDS=7,21,22 the generated seeds (default 7; 101-110 are the holdout, not for tuning);
 * TUNE_KINDS=onoff,mix the generated kinds; TUNE_SHIPPED=1 adds the shipped March PlanetLab fixtures as the bench sets them up)
 * The April days are never read here: they are what a reader checks generalisation on.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
for (const d of dir && dir !== '-' ? dir.split(':') : []) {
  for (const f of readdirSync(d).filter((f) => /^planetlab-201103\d\d-.*\.csv\.gz$/.test(f)).sort()) {
    const trace = loadTrace(join(d, f));
    for (const n of hostCounts) cases.push({ trace: { ...trace, name: `${f.replace('.csv.gz', '')}@${n}` }, hosts: uniformHosts(n, 2, 32) });
  }
}
const HOLDOUT = (s: number): boolean => s >= 101 && s <= 110;
if (process.env.TUNE_GEN !== '0') {
  const seeds = (process.env.TUNE_SEEDS ?? '7').split(',').map(Number);
  if (seeds.some(HOLDOUT) && process.env.TUNE_HOLDOUT !== '1') throw new Error('seeds 101-110 are the holdout: set TUNE_HOLDOUT=1 for the one check on them');
  const kinds = (process.env.TUNE_KINDS ?? 'diurnal,bursty,ramp,onoff,mix').split(',') as TraceKind[];
  for (const seed of seeds) {
    for (const kind of kinds) cases.push({ trace: generateTrace({ kind, vms: 200, steps: 720, period: 60, seed }), hosts: uniformHosts(16, 16, 64) });
  }
}
if (process.env.TUNE_SHIPPED === '1') {
  // dist/test/balancer -> test/fixtures/traces, as the bench reads them (March days only).
  const fx = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'traces');
  cases.push({ trace: loadTrace(join(fx, 'planetlab-3days-300vms.csv.gz')), hosts: uniformHosts(12, 4, 40) });
  for (const day of ['20110322', '20110325']) cases.push({ trace: loadTrace(join(fx, `planetlab-${day}-400vms.csv.gz`)), hosts: uniformHosts(24, 2, 32) });
}
const sum: Record<string, { sla: number; mig: number }> = {};
const byKind: Record<string, Record<string, { sla: number; mig: number }>> = {};
const kindOf = (name: string): string => /^gen-([a-z]+)-s/.exec(name)?.[1] ?? 'planetlab';
for (const c of cases) {
  const row: string[] = [c.trace.name.padEnd(34)];
  for (const n of names) {
    const m: SimMetrics = simulate(c.trace, c.hosts, n === 'ours' ? oursPolicy(cfg) : policyByName(n));
    const s = (sum[n] ??= { sla: 0, mig: 0 });
    s.sla += m.sla_violation;
    s.mig += m.migrations;
    const k = ((byKind[kindOf(c.trace.name)] ??= {})[n] ??= { sla: 0, mig: 0 });
    k.sla += m.sla_violation;
    k.mig += m.migrations;
    row.push(`${n} ${m.sla_violation.toFixed(4)}/${m.migrations}`);
  }
  console.log(row.join('  '));
}
for (const [k, r] of Object.entries(byKind)) console.log(`kind ${k.padEnd(10)} ` + names.map((n) => `${n} ${r[n]!.sla.toFixed(4)}/${r[n]!.mig}`).join('  '));
console.log('sum ' + names.map((n) => `${n} ${sum[n]!.sla.toFixed(4)}/${sum[n]!.mig}`).join('  '));
