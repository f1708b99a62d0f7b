/** The Proxmox-like and KubeVirt-like baselines' defining rules, on small hand-made clusters where the right move is known. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_KUBEVIRT, kubevirtCooldown, planKubevirt } from '../../src/balancer/baselines/kubevirt.js';
import { DEFAULT_PROXMOX, PROXMOX_NORMALISED, planProxmox, proxmoxAlternative, proxmoxHeld, proxmoxImbalance, proxmoxLoad } from '../../src/balancer/baselines/proxmox.js';
import { topsisBest, topsisScores } from '../../src/balancer/baselines/topsis.js';
import type { HostState, PlanInput, VmState } from '../../src/balancer/types.js';

function vm(name: string, host: string, cpu: number, memMiB = 1024, extra: Partial<VmState> = {}): VmState {
  return { name, host, cpuHistory: [cpu, cpu, cpu, cpu, cpu], memMiB, vcpus: 4, ...extra };
}
/** Host histories (CPU and memory) follow the VMs so the planners see one consistent cluster. */
function cluster(hosts: Array<[string, number, number]>, vms: VmState[], period = 60, samples = 5): PlanInput {
  const hs: HostState[] = hosts.map(([name, cores, memGiB]) => {
    const mine = vms.filter((v) => v.host === name);
    const cpu = mine.reduce((s, v) => s + (v.cpuHistory.at(-1) ?? 0), 0) / cores;
    const mem = mine.reduce((s, v) => s + v.memMiB, 0) / (memGiB * 1024);
    return { name, cores, memMiB: memGiB * 1024, cpuHistory: Array(samples).fill(cpu), memHistory: Array(samples).fill(mem) };
  });
  return { now: 100_000, period, hosts: hs, vms, inflight: [] };
}

test('TOPSIS: the alternative best on every minimised criterion scores 1, the worst 0, and is picked', () => {
  const crit = [{ weight: 1, minimise: true }, { weight: 2, minimise: true }];
  const s = topsisScores([[1, 1], [2, 2], [1.5, 1.5]], crit);
  assert.equal(s[0], 1);
  assert.equal(s[1], 0);
  assert.ok((s[2] as number) > 0 && (s[2] as number) < 1);
  // The heavier criterion wins a trade-off: better on the weight-10 column beats better on the weight-1 one.
  assert.equal(topsisBest([[1, 2], [2, 1]], [{ weight: 1, minimise: true }, { weight: 10, minimise: true }]), 1);
  assert.equal(topsisBest([], crit), -1);
});

test('TOPSIS: alternatives all alike (distance 0 to both ideals) score 0, as the real code; the first is picked', () => {
  const crit = [{ weight: 1, minimise: true }, { weight: 2, minimise: true }];
  assert.deepEqual(topsisScores([[1.2, 1.5], [1.2, 1.5]], crit), [0, 0]);
  assert.equal(topsisBest([[1.2, 1.5], [1.2, 1.5]], crit), 0);
});

test('Proxmox TOPSIS criteria: 1 + root mean square and 1 + maximum of node CPU, then memory', () => {
  // CPU 0.5, 0.3, 0.1: RMS sqrt((0.25 + 0.09 + 0.01) / 3) = 0.341565; memory 0.2 everywhere.
  const [ac, hc, am, hm] = proxmoxAlternative([0.5, 0.3, 0.1], [0.2, 0.2, 0.2]);
  assert.ok(Math.abs(ac - 1.341565) < 1e-6);
  assert.ok(Math.abs(hc - 1.5) < 1e-12);
  assert.ok(Math.abs(am - 1.2) < 1e-12);
  assert.ok(Math.abs(hm - 1.2) < 1e-12);
});

test('Proxmox imbalance: raw CV (resource-scheduling 2.0.0) or CV / sqrt(n - 1) (2.1.0); load = (CPU % + memory %) / 2', () => {
  assert.equal(proxmoxImbalance([0.4, 0.4, 0.4], false), 0);
  // All load on one of three nodes: sqrt(2) = 1.41 raw, as pve-ha-manager 5.2.0's test logs print it.
  assert.ok(Math.abs(proxmoxImbalance([0.3, 0, 0], false) - Math.SQRT2) < 1e-12);
  assert.ok(Math.abs(proxmoxImbalance([0.3, 0, 0], true) - 1) < 1e-12);
  assert.ok(Math.abs(proxmoxImbalance([1, 0]) - 1) < 1e-12);
  assert.ok(Math.abs(proxmoxImbalance([0.6, 0, 0, 0, 0]) - 1) < 1e-12); // all load on one of five
  assert.ok(Math.abs(proxmoxLoad(0.8, 0.4) - 0.6) < 1e-12);
  assert.ok(Math.abs(proxmoxLoad(1.7, 0.4) - 0.7) < 1e-12); // CPU use tops out at 100 %
});

// Three 4-core 16 GiB nodes; a holds two big VMs, b and c little (c a bit more than b).
const skewed = (): VmState[] => [vm('v1', 'a', 2, 4096), vm('v2', 'a', 1.6, 4096), vm('v3', 'b', 0.2), vm('v4', 'c', 0.3)];
const nodes3: Array<[string, number, number]> = [['a', 4, 16], ['b', 4, 16], ['c', 4, 16]];

test('Proxmox: moves the VM that leaves the lowest highest-CPU, to the emptiest node, one at a time', () => {
  const input = cluster(nodes3, skewed());
  assert.ok(proxmoxImbalance(input.hosts.map((h) => proxmoxLoad(h.cpuHistory.at(-1) ?? 0, h.memHistory?.at(-1) ?? 0))) > 0.3);
  const moves = planProxmox(input);
  // v2 (1.6 cores) to b leaves a at 0.5 and b at 0.45; v1 would leave b at 0.55. Memory criteria tie.
  assert.deepEqual(moves.map((m) => [m.vm, m.from, m.to]), [['v2', 'a', 'b']]);
});

test('Proxmox: holds for 3 rounds of 10 s, and nothing while any migration runs', () => {
  // Samples every 10 s: the imbalance must be above 0.3 in each of the last 3.
  const input = cluster(nodes3, skewed(), 10);
  assert.equal(planProxmox(input).length, 1);
  const calmBefore = structuredClone(input);
  for (const h of calmBefore.hosts) h.cpuHistory[h.cpuHistory.length - 3] = 0.5; // three rounds ago all nodes alike
  for (const h of calmBefore.hosts) (h.memHistory as number[])[h.memHistory!.length - 3] = 0.3;
  assert.equal(proxmoxHeld(calmBefore), false);
  assert.deepEqual(planProxmox(calmBefore), []);
  const busy = structuredClone(input);
  busy.inflight = [{ vm: 'v3', from: 'b', to: 'c' }];
  assert.deepEqual(planProxmox(busy), []);
});

test('Proxmox: no move unless it lowers the imbalance by the 10 % margin', () => {
  // One big VM alone on a: moving it only swaps the imbalance to b.
  const input = cluster([['a', 4, 16], ['b', 4, 16]], [vm('v1', 'a', 3.6, 8192)]);
  assert.ok(proxmoxHeld(input));
  assert.deepEqual(planProxmox(input), []);
  assert.deepEqual(planProxmox(cluster(nodes3, skewed()), { ...DEFAULT_PROXMOX, margin: 0.99 }), []);
});

test('Proxmox: a balanced cluster is left alone; an evacuated node is emptied at once', () => {
  const even = cluster(nodes3, [vm('v1', 'a', 1), vm('v2', 'b', 1), vm('v3', 'c', 1)]);
  assert.deepEqual(planProxmox(even), []);
  even.hosts[0]!.evacuate = true;
  const moves = planProxmox(even);
  assert.deepEqual(moves.map((m) => [m.vm, m.reason]), [['v1', 'evacuation']]);
});

test('Proxmox: pve-ha-manager 5.2.0 test-crs-dynamic-auto-rebalance2, four alike VMs on one of three nodes: 1.41 -> 0.94 -> 0.35', () => {
  // 3 nodes of 24 cores / 32 GiB; four VMs of 1 core / 4 GiB on the first. The real log moves
  // vm:101 to node2 (imbalance 1.41 to 0.94), then vm:102 to node3 (0.94 to 0.35), then stops.
  const nodes: Array<[string, number, number]> = [['node1', 24, 32], ['node2', 24, 32], ['node3', 24, 32]];
  const vms = ['vm:101', 'vm:102', 'vm:103', 'vm:104'].map((n) => vm(n, 'node1', 1, 4096));
  // Rounds of 10 s in samples of 10 s: one round a plan, the real log's moves one by one.
  const first = planProxmox(cluster(nodes, vms, 10));
  assert.deepEqual(first.map((m) => [m.vm, m.to]), [['vm:101', 'node2']]);
  assert.ok(Math.abs((first[0] as { score: number }).score - (1.41421 - 0.93541)) < 1e-4);
  const after1 = vms.map((v) => (v.name === 'vm:101' ? { ...v, host: 'node2' } : v));
  const second = planProxmox(cluster(nodes, after1, 10));
  assert.deepEqual(second.map((m) => [m.vm, m.to]), [['vm:102', 'node3']]);
  assert.ok(Math.abs((second[0] as { score: number }).score - (0.93541 - 0.35355)) < 1e-4);
  const after2 = after1.map((v) => (v.name === 'vm:102' ? { ...v, host: 'node3' } : v));
  assert.deepEqual(planProxmox(cluster(nodes, after2, 10)), []);
  // A 600-s sample fits both rounds (hold, migrate, hold again) in one plan: the same two moves.
  assert.deepEqual(planProxmox(cluster(nodes, vms, 600)).map((m) => [m.vm, m.to]), [['vm:101', 'node2'], ['vm:102', 'node3']]);
  // Normalised (2.1.0), 0.35 / sqrt(2) = 0.25 is under the threshold already; the moves are the same.
  assert.deepEqual(planProxmox(cluster(nodes, vms, 600), PROXMOX_NORMALISED).map((m) => m.vm), ['vm:101', 'vm:102']);
});

test('Proxmox: the CV variant decides whether it acts (raw above 0.3, normalised under it)', () => {
  // Four 10-core nodes: a at 50 % CPU (five 1-core VMs), b, c, d at 20 % (two each): raw CV 0.45, normalised 0.26.
  const nodes: Array<[string, number, number]> = [['a', 10, 64], ['b', 10, 64], ['c', 10, 64], ['d', 10, 64]];
  const vms: VmState[] = [];
  for (let i = 0; i < 5; i++) vms.push(vm(`a${i}`, 'a', 1));
  for (const h of ['b', 'c', 'd']) for (let i = 0; i < 2; i++) vms.push(vm(`${h}${i}`, h, 1));
  const input = cluster(nodes, vms);
  const loads = input.hosts.map((h) => proxmoxLoad(h.cpuHistory.at(-1) ?? 0, h.memHistory?.at(-1) ?? 0));
  assert.ok(proxmoxImbalance(loads, false) > 0.3 && proxmoxImbalance(loads, true) < 0.3);
  assert.equal(proxmoxHeld(input, DEFAULT_PROXMOX), true);
  assert.equal(proxmoxHeld(input, PROXMOX_NORMALISED), false);
  assert.deepEqual(planProxmox(input, PROXMOX_NORMALISED), []);
  // Raw: a's VMs are alike and so are b, c, d: the first of the ties, a0 to b.
  assert.deepEqual(planProxmox(input, DEFAULT_PROXMOX).map((m) => [m.vm, m.from, m.to]), [['a0', 'a', 'b']]);
});

test('Proxmox: the root mean square criterion breaks a tie the highest-use criteria leave', () => {
  // 4-core 16 GiB nodes; a and b at 80 % CPU (two 1.6-core VMs each), c at 20 %, d idle; 2 GiB on each.
  // Moving a VM from a to c or to d leaves the same highest CPU (b, 80 %) and the same memory;
  // only the RMS of CPU differs: to d (0.4, 0.8, 0.2, 0.4) 0.5 beats to c (0.4, 0.8, 0.6, 0) 0.539.
  const nodes: Array<[string, number, number]> = [['a', 4, 16], ['b', 4, 16], ['c', 4, 16], ['d', 4, 16]];
  const vms = [vm('a1', 'a', 1.6), vm('a2', 'a', 1.6), vm('b1', 'b', 1.6), vm('b2', 'b', 1.6), vm('c1', 'c', 0.8, 2048), vm('d1', 'd', 0, 2048)];
  const moves = planProxmox(cluster(nodes, vms, 10), PROXMOX_NORMALISED);
  assert.deepEqual(moves.map((m) => [m.vm, m.from, m.to]), [['a1', 'a', 'd']]);
});

test('Proxmox: a strict positive affinity bundle moves together, never one VM of it alone', () => {
  // a (4 cores): v1 + v2 bound by affinity (0.8 cores, 2 GiB each) and v3 (2 cores, 4 GiB); b and c nearly idle.
  // Moving the bundle leaves a at 50 %, b 45 % (highest 50 %); moving v3 leaves b at 55 %: the bundle wins.
  const bundle = (): VmState[] => [
    vm('v1', 'a', 0.8, 2048, { affinity: ['g'] }), vm('v2', 'a', 0.8, 2048, { affinity: ['g'] }), vm('v3', 'a', 2, 4096),
    vm('w1', 'b', 0.2), vm('w2', 'c', 0.2),
  ];
  const moves = planProxmox(cluster(nodes3, bundle(), 10));
  assert.deepEqual(moves.map((m) => [m.vm, m.from, m.to]), [['v1', 'a', 'b'], ['v2', 'a', 'b']]);
  // Without the label the best single move is v3 (v1 alone would leave a at 70 %).
  const loose = bundle().map((v) => ({ ...v, affinity: undefined }));
  assert.deepEqual(planProxmox(cluster(nodes3, loose, 10)).map((m) => m.vm), ['v3']);
  // A bundle with a member in another node is not stationary and does not move; v3 then does.
  const spread = bundle().map((v) => (v.name === 'v2' ? { ...v, host: 'c' } : v));
  assert.ok(planProxmox(cluster(nodes3, spread, 10)).every((m) => m.vm !== 'v1'));
  // Evacuating a moves the bundle to one node.
  const ev = cluster(nodes3, bundle(), 10);
  ev.hosts[0]!.evacuate = true;
  const out = planProxmox(ev);
  assert.equal(out.find((m) => m.vm === 'v1')?.to, out.find((m) => m.vm === 'v2')?.to);
});

test('KubeVirt cooldown: max(15 min, last migration) doubled per migration in 24 h, at most 6 h', () => {
  assert.equal(kubevirtCooldown(vm('x', 'a', 0)), 0);
  assert.equal(kubevirtCooldown(vm('x', 'a', 0, 1024, { lastMigration: 0, migrationsLast24h: 1, lastMigrationSeconds: 30 })), 900);
  assert.equal(kubevirtCooldown(vm('x', 'a', 0, 1024, { lastMigration: 0, migrationsLast24h: 1, lastMigrationSeconds: 1200 })), 1200);
  assert.equal(kubevirtCooldown(vm('x', 'a', 0, 1024, { lastMigration: 0, migrationsLast24h: 3 })), 3600);
  assert.equal(kubevirtCooldown(vm('x', 'a', 0, 1024, { lastMigration: 0, migrationsLast24h: 10 })), DEFAULT_KUBEVIRT.maxCooldownSec);
});

// Four 4-core 16 GiB nodes: a at 90 % CPU (nine 0.4-core VMs), b and c at 50 %, d at 10 %. Mean 50 %: a over (> 70 %), d under (< 30 %).
function lowNode(aVms = 9, aCpu = 0.4, extra: (i: number) => Partial<VmState> = () => ({})): VmState[] {
  const vms: VmState[] = [];
  for (let i = 0; i < aVms; i++) vms.push(vm(`a${i}`, 'a', aCpu, 1024, extra(i)));
  for (const h of ['b', 'c']) for (let i = 0; i < 5; i++) vms.push(vm(`${h}${i}`, h, 0.4));
  vms.push(vm('d0', 'd', 0.4));
  return vms;
}
const nodes4: Array<[string, number, number]> = [['a', 4, 16], ['b', 4, 16], ['c', 4, 16], ['d', 4, 16]];

test('KubeVirt: evicts from the over-utilised node until it is back under mean + 20 %, to the under-utilised one', () => {
  const moves = planKubevirt(cluster(nodes4, lowNode()));
  // a0 leaves a at 80 % (still over), a1 at 70 %: no longer above 70 %, so the cycle stops.
  assert.deepEqual(moves.map((m) => [m.vm, m.from, m.to]), [['a0', 'a', 'd'], ['a1', 'a', 'd']]);
});

test('KubeVirt: at most 5 evictions from one node a cycle; none without an under-utilised node', () => {
  // Twenty 0.18-core VMs on a: it would need 6 evictions to get under 70 %.
  const moves = planKubevirt(cluster(nodes4, lowNode(20, 0.18)));
  assert.equal(moves.length, 5);
  const noRoom = lowNode().filter((v) => v.host !== 'd');
  for (let i = 0; i < 5; i++) noRoom.push(vm(`d${i}`, 'd', 0.4));
  assert.deepEqual(planKubevirt(cluster(nodes4, noRoom)), []);
});

test('KubeVirt: a VM within its cooldown is skipped', () => {
  const now = 100_000;
  const vms = lowNode(9, 0.4, (i) => (i === 0 ? { lastMigration: now - 600, migrationsLast24h: 1 } : i === 1 ? { lastMigration: now - 1000, migrationsLast24h: 2 } : {}));
  const moves = planKubevirt(cluster(nodes4, vms));
  // a0: 600 s < 900 s; a1: 1000 s < 1800 s (its second migration in 24 h).
  assert.deepEqual(moves.map((m) => m.vm), ['a2', 'a3']);
});
