/** The live path reads as much history as the policy judges a target over (its VMs' coincident peak). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { liveSamples } from '../../src/cli/balance-live.js';
import { DEFAULT_LEVEL2, historySamples, planLevel2 } from '../../src/balancer/level2.js';
import type { PlanInput } from '../../src/balancer/types.js';

test('vem balance plan|apply reads the policy\'s peak window of samples, from the policy config', () => {
  assert.equal(liveSamples({}), historySamples(DEFAULT_LEVEL2));
  assert.ok(liveSamples({}) >= DEFAULT_LEVEL2.peakWindow && liveSamples({}) >= DEFAULT_LEVEL2.n);
  assert.equal(liveSamples({ config: { peakWindow: 30 } }), 30);
  // Without the peak rule, the hot window is all a plan reads.
  assert.equal(liveSamples({ config: { targetPeak: false } }), DEFAULT_LEVEL2.n);
  assert.equal(liveSamples({ config: { n: 40 } }), 40);
});

/** Node a hot; node b idle now but its VM peaked 10 samples ago; node c steady at 30 %. */
function cluster(samples: number): PlanInput {
  const len = 24;
  const flat = (x: number): number[] => Array.from({ length: len }, () => x);
  const b1 = flat(0.4);
  b1[len - 10] = 6; // 10 samples ago: 75 % of b's 8 cores
  const keep = (h: number[]): number[] => h.slice(-samples);
  return {
    now: 10_000, period: 60, inflight: [],
    hosts: [
      { name: 'a', cores: 8, memMiB: 65_536, cpuHistory: keep(flat(0.95)) },
      { name: 'b', cores: 8, memMiB: 65_536, cpuHistory: keep(b1.map((x) => x / 8)) },
      { name: 'c', cores: 8, memMiB: 65_536, cpuHistory: keep(flat(0.3)) },
    ],
    vms: [
      { name: 'a1', host: 'a', cpuHistory: keep(flat(3.8)), memMiB: 2048, vcpus: 4 },
      { name: 'a2', host: 'a', cpuHistory: keep(flat(3.8)), memMiB: 2048, vcpus: 4 },
      { name: 'b1', host: 'b', cpuHistory: keep(b1), memMiB: 2048, vcpus: 8 },
      { name: 'c1', host: 'c', cpuHistory: keep(flat(2.4)), memMiB: 2048, vcpus: 4 },
    ],
  };
}

test('with the live samples the planner sees a target\'s recent peak; with 5 it would not', () => {
  const full = planLevel2(cluster(liveSamples({})));
  assert.equal(full[0]?.from, 'a');
  // b's VM came back from 6 cores 10 samples ago: at its peak b would pass the ceiling.
  assert.equal(full[0]?.to, 'c');
  // The 5 samples the live path used to read hide that peak, and b looks like the best target.
  const short = planLevel2(cluster(5));
  assert.equal(short[0]?.to, 'b');
});
