/** Properties every level-2 plan must keep, over many seeded random clusters and every policy. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planDrs, planOvirt, planSandpiper } from '../../src/balancer/baselines.js';
import { kubevirtCooldown, planKubevirt } from '../../src/balancer/baselines/kubevirt.js';
import { PROXMOX_NORMALISED, planProxmox } from '../../src/balancer/baselines/proxmox.js';
import { DEFAULT_LEVEL2, planLevel2 } from '../../src/balancer/level2.js';
import type { Move, PlanInput } from '../../src/balancer/types.js';
import { randomCase } from './gen.js';

const CASES = 400;
const planners: Array<[string, (i: PlanInput) => Move[]]> = [
  ['ours', (i) => planLevel2(i)],
  ['drs', (i) => planDrs(i)],
  ['sandpiper', (i) => planSandpiper(i)],
  ['ovirt', (i) => planOvirt(i)],
  ['proxmox', (i) => planProxmox(i)],
  ['proxmox-norm', (i) => planProxmox(i, PROXMOX_NORMALISED)],
  ['kubevirt', (i) => planKubevirt(i)],
];

/** Memory held per node after the plan: VMs there now, migrations arriving, moves arriving (sources keep theirs until done). */
function memoryAfter(input: PlanInput, moves: Move[]): Map<string, number> {
  const mem = new Map(input.hosts.map((h) => [h.name, 0]));
  const vm = new Map(input.vms.map((v) => [v.name, v]));
  for (const v of input.vms) mem.set(v.host, (mem.get(v.host) ?? 0) + v.memMiB);
  for (const m of input.inflight) mem.set(m.to, (mem.get(m.to) ?? 0) + (vm.get(m.vm)?.memMiB ?? 0));
  for (const m of moves) mem.set(m.to, (mem.get(m.to) ?? 0) + (vm.get(m.vm)?.memMiB ?? 0));
  return mem;
}

for (const [name, plan] of planners) {
  test(`${name}: VMs bound by strict positive affinity end on one node (moved together or not at all)`, () => {
    let bundles = 0;
    let movedTogether = 0;
    for (let seed = 1; seed <= CASES; seed++) {
      const input = randomCase(seed + 70_000, { affinity: true, inflight: seed % 2 === 0, evacuate: seed % 3 === 0 });
      const moves = plan(input);
      const at = new Map(input.vms.map((v) => [v.name, v.host]));
      for (const m of moves) at.set(m.vm, m.to);
      const groups = new Map<string, string[]>();
      for (const v of input.vms) for (const l of v.affinity ?? []) groups.set(l, [...(groups.get(l) ?? []), v.name]);
      for (const [l, g] of groups) {
        bundles++;
        assert.equal(new Set(g.map((n) => at.get(n))).size, 1, `seed ${seed}: ${l} split: ${g.map((n) => `${n}@${at.get(n)}`).join(' ')}`);
        if (moves.some((m) => g.includes(m.vm))) movedTogether++;
      }
    }
    assert.ok(bundles > 100, `too few bundles (${bundles})`);
    if (name.startsWith('proxmox')) assert.ok(movedTogether > 5, `proxmox should move some bundles (${movedTogether})`);
  });

  test(`${name}: a plan never overcommits a target's memory`, () => {
    let total = 0;
    for (let seed = 1; seed <= CASES; seed++) {
      const input = randomCase(seed, { inflight: true, labels: true, evacuate: seed % 3 === 0, maintenance: true });
      const moves = plan(input);
      total += moves.length;
      const mem = memoryAfter(input, moves);
      for (const target of new Set(moves.map((m) => m.to))) {
        const h = input.hosts.find((x) => x.name === target);
        assert.ok(h, `seed ${seed}: move to unknown node ${target}`);
        assert.ok((mem.get(target) ?? 0) <= h.memMiB, `seed ${seed}: ${target} would hold ${mem.get(target)} MiB of ${h.memMiB}`);
        assert.ok(!h.maintenance && !h.evacuate, `seed ${seed}: move onto ${target}, which takes no VMs`);
      }
    }
    assert.ok(total > 20, `the random cases should make ${name} move VMs (got ${total})`);
  });

  test(`${name}: a plan never breaks anti-affinity and never moves a VM twice or one already migrating`, () => {
    for (let seed = 1; seed <= CASES; seed++) {
      const input = randomCase(seed + 10_000, { inflight: true, labels: true, evacuate: seed % 4 === 0 });
      const moves = plan(input);
      const at = new Map(input.vms.map((v) => [v.name, v.host]));
      const seen = new Set<string>();
      for (const m of moves) {
        assert.ok(!seen.has(m.vm), `seed ${seed}: ${m.vm} moved twice`);
        seen.add(m.vm);
        assert.equal(at.get(m.vm), m.from, `seed ${seed}: ${m.vm} is not on ${m.from}`);
        assert.notEqual(m.from, m.to);
        assert.ok(!input.vms.find((v) => v.name === m.vm)?.migrating, `seed ${seed}: ${m.vm} is already migrating`);
        at.set(m.vm, m.to);
      }
      // Initial placements are clean, so after the plan no node may hold two VMs with one label.
      const byNode = new Map<string, Set<string>>();
      for (const v of input.vms) {
        const node = at.get(v.name) as string;
        const s = byNode.get(node) ?? new Set<string>();
        for (const l of v.antiAffinity ?? []) {
          assert.ok(!s.has(l), `seed ${seed}: two '${l}' VMs on ${node}`);
          s.add(l);
        }
        byNode.set(node, s);
      }
    }
  });
}

test('ours: never moves a VM within its cooldown, nor past the per-node limit (evacuation aside)', () => {
  let moved = 0;
  for (let seed = 1; seed <= CASES; seed++) {
    const input = randomCase(seed + 20_000, { cooldowns: true, inflight: true, labels: true });
    const moves = planLevel2(input);
    moved += moves.length;
    const active = new Map<string, number>();
    for (const m of input.inflight) for (const n of [m.from, m.to]) active.set(n, (active.get(n) ?? 0) + 1);
    for (const m of moves) {
      const v = input.vms.find((x) => x.name === m.vm);
      assert.ok(v);
      if (v.lastMigration !== undefined) {
        assert.ok(input.now - v.lastMigration >= DEFAULT_LEVEL2.cooldownSec, `seed ${seed}: ${m.vm} moved ${input.now - v.lastMigration} s after its last migration`);
      }
      for (const n of [m.from, m.to]) active.set(n, (active.get(n) ?? 0) + 1);
    }
    const before = new Map<string, number>();
    for (const m of input.inflight) for (const n of [m.from, m.to]) before.set(n, (before.get(n) ?? 0) + 1);
    for (const [n, c] of active) {
      assert.ok(c <= Math.max(DEFAULT_LEVEL2.maxPerNode, before.get(n) ?? 0), `seed ${seed}: ${c} migrations at once on ${n}`);
    }
  }
  assert.ok(moved > 50, `the random cases should exercise moves (got ${moved})`);
});

test('ours: an evacuation empties the node whenever the other nodes can take its VMs', () => {
  let checked = 0;
  for (let seed = 1; seed <= CASES * 2; seed++) {
    const input = randomCase(seed + 30_000, { evacuate: true });
    const src = input.hosts.find((h) => h.evacuate);
    assert.ok(src);
    const leaving = input.vms.filter((v) => v.host === src.name);
    // "Capacity allows": some single other node could take all of them at once (CPU and memory).
    const need = leaving.reduce((s, v) => s + v.memMiB, 0);
    const needCpu = leaving.reduce((s, v) => s + Math.max(...v.cpuHistory.slice(-1), 0) * 2, 0);
    const ok = input.hosts.some((h) => {
      if (h === src || h.maintenance) return false;
      const vms = input.vms.filter((v) => v.host === h.name);
      const mem = vms.reduce((s, v) => s + v.memMiB, 0);
      const cpu = vms.reduce((s, v) => s + Math.max(...v.cpuHistory) * 1.5, 0);
      return mem + need <= h.memMiB && cpu + needCpu <= h.cores;
    });
    if (!ok || leaving.length === 0) continue;
    checked++;
    const moves = planLevel2(input);
    const out = new Set(moves.filter((m) => m.from === src.name).map((m) => m.vm));
    for (const v of leaving) assert.ok(out.has(v.name), `seed ${seed}: ${v.name} left on evacuated ${src.name}`);
    assert.ok(moves.filter((m) => m.from === src.name).every((m) => m.reason === 'evacuation'));
  }
  assert.ok(checked > 50, `too few evacuation cases with room (${checked})`);
});

test('kubevirt: never moves a VM within its backing-off cooldown (evacuation aside)', () => {
  let moved = 0;
  let cooling = 0;
  for (let seed = 1; seed <= CASES; seed++) {
    const input = randomCase(seed + 40_000, { cooldowns: true, labels: true });
    // Give the cooled-down VMs a migration count and duration so the back-off is exercised.
    for (const v of input.vms) {
      if (v.lastMigration === undefined) continue;
      v.migrationsLast24h = 1 + (seed % 4);
      v.lastMigrationSeconds = 60 * (seed % 30);
      cooling++;
    }
    for (const m of planKubevirt(input)) {
      moved++;
      const v = input.vms.find((x) => x.name === m.vm);
      assert.ok(v);
      if (v.lastMigration !== undefined) {
        assert.ok(input.now - v.lastMigration >= kubevirtCooldown(v), `seed ${seed}: ${m.vm} moved ${input.now - v.lastMigration} s after its last migration`);
      }
    }
  }
  assert.ok(moved > 20 && cooling > 100, `the random cases should exercise moves and cooldowns (got ${moved}, ${cooling})`);
});

for (const [name, plan] of [['proxmox', planProxmox], ['kubevirt', planKubevirt]] as const) {
  test(`${name}: an evacuation empties the node whenever the other nodes have the memory for its VMs`, () => {
    let checked = 0;
    for (let seed = 1; seed <= CASES * 2; seed++) {
      const input = randomCase(seed + 50_000, { evacuate: true, maintenance: true });
      const src = input.hosts.find((h) => h.evacuate);
      assert.ok(src);
      const leaving = input.vms.filter((v) => v.host === src.name);
      // Neither checks CPU for a move; capacity = some single other node takes all of them in memory.
      const need = leaving.reduce((s, v) => s + v.memMiB, 0);
      const ok = input.hosts.some((h) => h !== src && !h.maintenance &&
        input.vms.filter((v) => v.host === h.name).reduce((s, v) => s + v.memMiB, 0) + need <= h.memMiB);
      if (!ok || leaving.length === 0) continue;
      checked++;
      const moves = plan(input);
      const out = new Set(moves.filter((m) => m.from === src.name && m.reason === 'evacuation').map((m) => m.vm));
      for (const v of leaving) assert.ok(out.has(v.name), `seed ${seed}: ${v.name} left on evacuated ${src.name}`);
    }
    assert.ok(checked > 50, `too few evacuation cases with room (${checked})`);
  });
}

test('proxmox: no rebalancing move while any migration runs (its only cooldown)', () => {
  let blocked = 0;
  for (let seed = 1; seed <= CASES; seed++) {
    const input = randomCase(seed + 60_000, { inflight: true, labels: true });
    const moves = planProxmox(input);
    if (input.inflight.length > 0) {
      blocked++;
      assert.deepEqual(moves, [], `seed ${seed}: moved while ${input.inflight.length} migrations run`);
    }
  }
  assert.ok(blocked > 50, `too few cases with migrations running (${blocked})`);
});
