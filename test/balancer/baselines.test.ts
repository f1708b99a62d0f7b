/** Each baseline's defining rule, on small hand-made clusters. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drsPriority, planDrs, planOvirt, planSandpiper, sandpiperHot, staticPolicy, volume } from '../../src/balancer/baselines.js';
import { isHotspot, planLevel2, DEFAULT_LEVEL2 } from '../../src/balancer/level2.js';
import type { HostState, PlanInput, VmState } from '../../src/balancer/types.js';

function host(name: string, cores: number, cpuHistory: number[], memGiB = 64): HostState {
  return { name, cores, memMiB: memGiB * 1024, cpuHistory };
}
function vm(name: string, h: string, cpu: number | number[], memMiB = 1024): VmState {
  return { name, host: h, cpuHistory: Array.isArray(cpu) ? cpu : [cpu, cpu, cpu, cpu, cpu], memMiB, vcpus: 4 };
}
/** Host histories follow the VMs' demand so the planners see a consistent cluster. */
function cluster(hosts: Array<[string, number]>, vms: VmState[], period = 60): PlanInput {
  const hs = hosts.map(([n, cores]) => {
    const mine = vms.filter((v) => v.host === n);
    const len = Math.max(1, ...mine.map((v) => v.cpuHistory.length));
    const hist = Array.from({ length: len }, (_, k) => mine.reduce((s, v) => s + (v.cpuHistory[k] ?? 0), 0) / cores);
    return host(n, cores, hist);
  });
  return { now: 100_000, period, hosts: hs, vms, inflight: [] };
}

test('static never moves anything', () => {
  const input = cluster([['a', 4], ['b', 4]], [vm('v1', 'a', 4), vm('v2', 'a', 3)]);
  assert.deepEqual(staticPolicy.plan(input), []);
});

test('DRS priority: 6 - ceil(imbalance / 0.1 * sqrt(hosts))', () => {
  assert.equal(drsPriority(0.05, 4), 5); // 0.5 * 2 = 1
  assert.equal(drsPriority(0.1, 4), 4); // 2
  assert.equal(drsPriority(0.11, 4), 3); // 2.2 -> 3
  assert.equal(drsPriority(0.2, 9), 0); // 6
});

test('DRS at threshold 3 leaves a cluster whose priority is 4 or 5 alone, balances one at 3 or better', () => {
  // Two 10-core nodes at 0.55 and 0.45: std 0.05 -> ceil(0.05/0.1*1.41)=1 -> priority 5: nothing.
  const calm = cluster([['a', 10], ['b', 10]], [vm('v1', 'a', 3), vm('v2', 'a', 2.5), vm('v3', 'b', 4.5)]);
  assert.deepEqual(planDrs(calm), []);
  // 0.9 vs 0.1: std 0.4 -> priority < 3: moves until balanced, each lowering the std.
  const skew = cluster([['a', 10], ['b', 10]], [vm('v1', 'a', 3), vm('v2', 'a', 3), vm('v3', 'a', 3), vm('v4', 'b', 1)]);
  const moves = planDrs(skew);
  assert.ok(moves.length >= 1);
  assert.ok(moves.every((m) => m.from === 'a' && m.to === 'b'));
  // One 3-core VM moved: 0.6 / 0.4 (std 0.1, priority 4): DRS stops there.
  assert.equal(moves.length, 1);
});

test('DRS moves at most MaxMovesPerHost per node per pass', () => {
  const vms = Array.from({ length: 30 }, (_, i) => vm(`v${i}`, 'a', 0.3));
  const input = cluster([['a', 10], ['b', 10], ['c', 10]], vms);
  const moves = planDrs(input, { threshold: 5, everySeconds: 300, maxMovesPerHost: 8 });
  assert.equal(moves.filter((m) => m.from === 'a').length, 8);
});

test("Sandpiper's volume is 1/((1-cpu)(1-mem)(1-net))", () => {
  assert.equal(volume(0, 0, 0), 1);
  assert.ok(Math.abs(volume(0.5, 0.5, 0) - 4) < 1e-9);
  assert.ok(Math.abs(volume(0.5, 0.5, 0.5) - 8) < 1e-9);
});

test('Sandpiper: hot only when k of n samples and the forecast exceed the threshold', () => {
  const c = { k: 3, n: 5, threshold: 0.75 };
  assert.equal(sandpiperHot([0.5, 0.5, 0.8, 0.8, 0.5], c), false); // 2 of 5
  assert.equal(sandpiperHot([0.8, 0.8, 0.8, 0.5, 0.5], c), false); // 3 of 5 but falling: forecast below
  assert.equal(sandpiperHot([0.5, 0.5, 0.8, 0.85, 0.9], c), true);
});

test('Sandpiper moves the highest volume-to-size VM first, to the lowest-volume node', () => {
  // Same CPU, different memory: the small one has the higher VSR and goes first.
  const vms = [vm('big', 'a', [2, 2, 2, 2, 2], 8192), vm('small', 'a', [2, 2, 2, 2, 2], 512), vm('rest', 'a', [3.8, 3.8, 3.8, 3.8, 3.8], 1024), vm('c1', 'c', 2)];
  const input = cluster([['a', 8], ['b', 8], ['c', 8]], vms);
  const moves = planSandpiper(input);
  assert.equal(moves[0]?.vm, 'small');
  assert.equal(moves[0]?.to, 'b');
});

test('oVirt: a node at >= 75 % for 2 minutes sheds its VM with the least CPU x vCPUs to a node under 60 %', () => {
  const vms = [vm('v1', 'a', [3, 3, 3]), vm('v2', 'a', [0.5, 0.5, 0.5]), vm('v3', 'a', [3, 3, 3]), vm('w', 'b', [1, 1, 1]), vm('x', 'c', [3, 3, 3])];
  const input = cluster([['a', 8], ['b', 8], ['c', 4]], vms);
  // a: 6.5/8 = 0.81 for 3 samples of 60 s; b at 0.125; c at 0.75 (not a target).
  const moves = planOvirt(input);
  assert.deepEqual(moves.map((m) => [m.vm, m.from, m.to]), [['v2', 'a', 'b']]);
  // Only one sample above the line (1 minute of a 60 s period): not yet.
  const brief = cluster([['a', 8], ['b', 8]], [vm('v1', 'a', [1, 1, 6.5]), vm('v2', 'a', [0.5, 0.5, 0.5])]);
  assert.deepEqual(planOvirt(brief), []);
  // No node under 60 %: nothing.
  const full = cluster([['a', 8], ['b', 8]], [vm('v1', 'a', [7, 7, 7]), vm('v2', 'b', [5, 5, 5])]);
  assert.deepEqual(planOvirt(full), []);
});

test('ours: hotspot is k of n above the threshold with the forecast above too, or the forecast past the emergency level', () => {
  const c = DEFAULT_LEVEL2;
  assert.equal(isHotspot([0.5, 0.5, 0.5, 0.82, 0.83], c), false); // 2 of 5
  assert.equal(isHotspot([0.5, 0.5, 0.82, 0.83, 0.85], c), true);
  assert.equal(isHotspot([0.85, 0.85, 0.85, 0.5, 0.4], c), false); // falling: forecast below
  assert.equal(isHotspot([0.5, 0.6, 0.7, 0.85, 0.98], c), true); // steep rise: forecast past 0.9
});

test('ours relieves a hotspot with the best-scoring move and respects the target ceiling', () => {
  const vms = [vm('a1', 'a', 3), vm('a2', 'a', 2), vm('a3', 'a', 2), vm('b1', 'b', 1), vm('c1', 'c', 6)];
  const input = cluster([['a', 8], ['b', 8], ['c', 8]], vms);
  const moves = planLevel2(input);
  assert.ok(moves.length >= 1);
  assert.ok(moves.every((m) => m.from === 'a' && m.to === 'b' && m.reason === 'hotspot'));
  // c at 0.75 cannot take a 2-core VM without passing the 0.8 ceiling.
});

test('ours: a target whose VMs peaked together within the last 20 samples is judged at that peak', () => {
  // 24 samples. a is hot (7.6 of 8 cores). b is the least used now (2 cores), but its on-off VM ran at
  // 6 cores 12 samples ago; c holds a steady 3 cores. Over 20 samples b's peak (0.75 + the mover)
  // passes the 0.8 ceiling, so a's VMs go to c; over only the last 5 samples b looked quiet and took one.
  const steady = (x: number): number[] => Array(24).fill(x);
  const onoff = steady(0.5).map((x, k) => (k >= 10 && k < 14 ? 6 : x));
  const vms = [vm('a1', 'a', steady(3)), vm('a2', 'a', steady(2)), vm('a3', 'a', steady(1.6)), vm('a4', 'a', steady(1)),
    vm('b1', 'b', steady(1.5)), vm('b2', 'b', onoff), vm('c1', 'c', steady(3))];
  const input = cluster([['a', 8], ['b', 8], ['c', 8]], vms);
  assert.equal(DEFAULT_LEVEL2.peakWindow, 20);
  const moves = planLevel2(input);
  assert.ok(moves.length >= 1 && moves.every((m) => m.from === 'a' && m.to === 'c'), JSON.stringify(moves));
  const short = planLevel2(input, { ...DEFAULT_LEVEL2, peakWindow: 5 });
  assert.ok(short.some((m) => m.to === 'b'), JSON.stringify(short));
});

test('ours does nothing on a calm, balanced cluster (minimum gain)', () => {
  const vms = [vm('a1', 'a', 2), vm('b1', 'b', 2.2), vm('c1', 'c', 1.9)];
  assert.deepEqual(planLevel2(cluster([['a', 8], ['b', 8], ['c', 8]], vms)), []);
});
