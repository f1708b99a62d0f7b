/** The simulator's placement, migration model and metrics on small traces. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrationMiB, migrationSeconds } from '../../src/balancer/cluster.js';
import { firstFitDecreasing } from '../../src/balancer/placement.js';
import { policyByName } from '../../src/balancer/policies.js';
import { simulate } from '../../src/balancer/simulator.js';
import { parseTrace, uniformHosts } from '../../src/balancer/trace.js';
import { generateTrace } from '../../src/balancer/tracegen.js';

test('first-fit decreasing fills nodes to at most 80 % of CPU and memory', () => {
  const hosts = uniformHosts(3, 10, 10);
  const vms = Array.from({ length: 12 }, (_, i) => ({ name: `v${i}`, cpu: 1 + (i % 3), memMiB: 1024 }));
  const p = firstFitDecreasing(hosts, vms);
  assert.deepEqual(p.overflow, []);
  for (const h of hosts) {
    const mine = vms.filter((v) => p.hostOf.get(v.name) === h.name);
    assert.ok(mine.reduce((s, v) => s + v.cpu, 0) <= 8 + 1e-9);
    assert.ok(mine.reduce((s, v) => s + v.memMiB, 0) <= 0.8 * h.memMiB);
  }
  // The biggest go first onto the first node.
  assert.equal(p.hostOf.get('v2'), 'node01');
});

test('migration model: time from memory and bandwidth, stretched by the dirty rate', () => {
  assert.ok(Math.abs(migrationSeconds(1190, 0, 119) - 11) < 1e-9);
  assert.ok(migrationSeconds(1190, 60, 119) > 20);
  assert.ok(Math.abs(migrationMiB(1024, 0, 119) - 1024) < 1e-9);
  assert.ok(migrationMiB(1024, 50, 119) > 1024);
});

test('static on an overloaded node: SLA violation and unmet CPU are counted exactly', () => {
  // Two 4-core nodes; one VM of 3.5 cores placed first, then demand rises to 6 cores for 2 of 3 samples.
  const t = parseTrace('time,vm,cpu,mem\n0,a,3,1024\n0,b,0.1,1024\n60,a,6,1024\n60,b,0.1,1024\n120,a,6,1024\n120,b,0.1,1024\n');
  const m = simulate(t, uniformHosts(2, 4, 16), policyByName('static'));
  assert.equal(m.migrations, 0);
  // a and b both fit node01 (3.1 <= 3.2): node01 is past 90 % in samples 2 and 3, of 6 host-samples.
  assert.ok(Math.abs(m.sla_violation - 2 / 6) < 1e-9, String(m.sla_violation));
  assert.ok(Math.abs(m.unmet_cpu - 2 * 2.1 * 60) < 1e-6, String(m.unmet_cpu));
});

test('every policy runs on a generated trace with the same placement; balancing beats static', () => {
  const t = generateTrace({ kind: 'ramp', vms: 60, steps: 120, seed: 5 });
  const hosts = uniformHosts(6, 16, 64);
  const stat = simulate(t, hosts, policyByName('static'));
  for (const name of ['drs', 'sandpiper', 'ovirt', 'ours'] as const) {
    const m = simulate(t, hosts, policyByName(name));
    assert.ok(m.migrations > 0, name);
    assert.ok(m.gb_moved > 0, name);
    assert.ok(m.unmet_cpu < stat.unmet_cpu, `${name} should serve more demand than static`);
    assert.ok(Number.isFinite(m.plan_ms_p99) && m.plan_ms_p99 > 0 && m.plan_ms_p99 < 1000, `${name}: plan time p99 ${m.plan_ms_p99} ms is measured`);
  }
});

test("CloudSim's metrics: SLATAH is time at 100 % over active time per node; PDM counts a migration shorter than a sample", () => {
  // As the test above: node01 is past 100 % in 2 of 3 samples; node02 never holds a VM (not active).
  const t = parseTrace('time,vm,cpu,mem\n0,a,3,1024\n0,b,0.1,1024\n60,a,6,1024\n60,b,0.1,1024\n120,a,6,1024\n120,b,0.1,1024\n');
  const m = simulate(t, uniformHosts(2, 4, 16), policyByName('static'));
  assert.ok(Math.abs(m.slatah - 2 / 3) < 1e-9, String(m.slatah));
  assert.equal(m.pdm, 0);
  assert.equal(m.slav, 0);
  // Samples every 300 s; a policy moves a (1 core, 1190 MiB) once at time 0: a ~13 s migration, well inside the sample.
  const two = parseTrace('time,vm,cpu,mem\n0,a,1,1190\n0,b,1,1190\n300,a,1,1190\n300,b,1,1190\n');
  let planned = false;
  const once = { name: 'once', plan: () => (planned ? [] : ((planned = true), [{ vm: 'a', from: 'node01', to: 'node02', reason: 'imbalance' as const, score: 0, estSeconds: 0 }])) };
  const r = simulate(two, uniformHosts(2, 4, 16), once);
  const secs = migrationSeconds(1190, 16, 119);
  assert.equal(r.migrations, 1);
  // a loses 10 % of its demand for the migration's time, of 600 core-s requested; b loses nothing: PDM is their mean.
  assert.ok(Math.abs(r.pdm - (0.1 * secs) / 600 / 2) < 1e-12, String(r.pdm));
  assert.equal(r.slatah, 0);
  assert.equal(r.slav, 0);
});
