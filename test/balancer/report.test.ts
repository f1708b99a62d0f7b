import assert from 'node:assert/strict';
import { test } from 'node:test';
import { METRIC_NAMES, summaryTable } from '../../src/balancer/report.js';
import type { SimMetrics } from '../../src/balancer/simulator.js';

const m = (sla: number, mig: number): SimMetrics => ({ sla_violation: sla, unmet_cpu: 1, cv: 0.1, migrations: mig, gb_moved: 2, plan_ms_p99: 0.5, slatah: 0.01, pdm: 1e-4, slav: 1e-6 });

test('summary table: one row per trace x policy, every metric a column, the sums last', () => {
  const t = summaryTable(
    [
      { trace: 'gen-ramp', rows: { drs: m(0.1, 10), ours: m(0.05, 3) } },
      { trace: 'planetlab-day', rows: { drs: m(0.2, 20), ours: m(0.3, 4) } },
    ],
    { drs: m(0.3, 30), ours: m(0.35, 7) },
  );
  const lines = t.split('\n');
  assert.equal(lines.length, 2 + 6);
  for (const k of METRIC_NAMES) assert.ok((lines[1] as string).includes(k), k);
  assert.match(lines[2] as string, /^gen-ramp\s+drs\s+0\.1000\s/);
  assert.match(lines[5] as string, /^planetlab-day\s+ours\s+0\.3000\s.*\s4\s/);
  assert.match(lines[7] as string, /^sum\s+ours\s+0\.3500\s/);
});
