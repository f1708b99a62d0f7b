/** The Proxmox-like and KubeVirt-like baselines' defining rules, on small hand-made clusters where the right move is known. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_KUBEVIRT, kubevirtCooldown, planKubevirt } from '../../src/balancer/baselines/kubevirt.js';
import { DEFAULT_PROXMOX, planProxmox, proxmoxHeld, proxmoxImbalance, proxmoxLoad } from '../../src/balancer/baselines/proxmox.js';
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

test('Proxmox imbalance: CV of node loads / sqrt(n - 1); load = (CPU % + memory %) / 2', () => {
  assert.equal(proxmoxImbalance([0.4, 0.4, 0.4]), 0);
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
