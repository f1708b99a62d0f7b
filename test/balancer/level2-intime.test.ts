/** Ours on a hotspot: relief that arrives within the next sample is preferred, and the node is relieved in time. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LEVEL2, planLevel2 } from '../../src/balancer/level2.js';
import type { PlanInput } from '../../src/balancer/types.js';

const flat = (x: number): number[] => Array.from({ length: 24 }, () => x);

/** Node a at 97 % of 16 cores: 'big' (6 cores, ~3 min to migrate, longer than the 60-s sample), 'small' (2 cores, ~13 s), 'rest' too big to fit anywhere. */
function hot(): PlanInput {
  return {
    now: 10_000, period: 60, inflight: [],
    hosts: ['a', 'b', 'c', 'd'].map((n) => ({ name: n, cores: 16, memMiB: 65_536, cpuHistory: flat(n === 'a' ? 0.97 : 0.3) })),
    vms: [
      { name: 'big', host: 'a', cpuHistory: flat(6), memMiB: 4096, vcpus: 8 },
      { name: 'small', host: 'a', cpuHistory: flat(2), memMiB: 1024, vcpus: 2 },
      { name: 'rest', host: 'a', cpuHistory: flat(7.5), memMiB: 60_000, vcpus: 16 },
      ...['b', 'c', 'd'].map((n) => ({ name: `${n}1`, host: n, cpuHistory: flat(4.8), memMiB: 8192, vcpus: 8 })),
    ],
  };
}

test('a hotspot sheds first the VM whose move lands within the next sample, then what lasting relief needs', () => {
  const moves = planLevel2(hot());
  assert.equal(moves[0]?.vm, 'small');
  assert.ok(moves[0]!.estSeconds < 60);
  // The small one alone leaves a above the hot level: the big one still goes.
  assert.deepEqual(moves.map((m) => m.vm).sort(), ['big', 'small']);
  assert.ok(moves.every((m) => m.from === 'a' && m.to !== 'a'));
});

test('judged only by lasting relief (reliefInTime off), the slow VM alone goes and a stays past 90 % for the next sample', () => {
  const moves = planLevel2(hot(), { ...DEFAULT_LEVEL2, reliefInTime: false });
  assert.deepEqual(moves.map((m) => m.vm), ['big']);
  assert.ok(moves[0]!.estSeconds > 60);
});
