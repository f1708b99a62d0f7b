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
