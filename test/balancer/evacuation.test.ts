// The evacuation planner (pure): every VM of a node being emptied is either moved or named with why it stays.
// Random seeded clusters (one-node ones, full ones, stopped and paused VMs, drivers, anti-affinity), then the
// same through planLive and planLevel2, which must go through this one planner.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeRemaining, planEvacuation, stillHeld as stillHeldOf, type EvacNode, type EvacuationPlan, type EvacVm, type EvacVmState, type PausedChoice } from '../../src/balancer/evacuate.js';
import { planLevel2 } from '../../src/balancer/level2.js';
import { evacState, planLive, toPlanInput, type ClusterSource, type LivePlanOptions, type LiveSnapshot, type LiveVm } from '../../src/balancer/live.js';
import { VM_STATES } from '../../src/api/types.js';
import { createRng, type Rng } from '../../src/balancer/rng.js';
import { randomCase } from './gen.js';

const CASES = 400;

interface Case {
  evacuate: string[];
  nodes: EvacNode[];
  vms: EvacVm[];
  paused: PausedChoice;
}

function randomEvac(seed: number, o: { nodes?: number; full?: boolean } = {}): Case {
  const r: Rng = createRng(seed);
  const N = o.nodes ?? r.int(1, 6);
  const drivers = r.next() < 0.3 ? ['QEMU', 'LXC'] : ['QEMU'];
  const nodes: EvacNode[] = Array.from({ length: N }, (_, i) => ({
    name: `n${i}`, cores: r.pick([2, 4, 8, 16]), memMiB: r.pick([2, 4, 8, 16, 32]) * 1024, driver: r.pick(drivers),
    closed: r.next() < 0.1 ? 'in maintenance' : undefined,
    canMigrate: r.next() < 0.15 ? { live: r.next() < 0.5, offline: r.next() < 0.5 } : undefined,
    reservedMiB: r.next() < 0.2 ? r.pick([512, 1024, 4096]) : 0,
  }));
  const used = new Map(nodes.map((n) => [n.name, n.reservedMiB ?? 0]));
  const vms: EvacVm[] = [];
  const V = r.int(0, 30);
  for (let i = 0; i < V; i++) {
    const state: EvacVmState = r.pick(['running', 'running', 'running', 'paused', 'stopped', 'stopped']);
    const mem = r.pick([256, 512, 1024, 2048, 4096]);
    const fits = nodes.filter((n) => state === 'stopped' || (used.get(n.name) as number) + mem <= n.memMiB);
    if (fits.length === 0) continue;
    const n = r.pick(fits);
    if (state !== 'stopped') used.set(n.name, (used.get(n.name) as number) + mem);
    vms.push({
      name: `vm${i}`, node: n.name, state, memMiB: mem, cpu: state === 'running' ? r.next() * 2 : 0,
      antiAffinity: r.next() < 0.3 ? [r.pick(['db', 'web'])] : undefined,
      migrating: r.next() < 0.05, cannotMigrate: r.next() < 0.05 ? 'a host PCI device is attached' : undefined,
    });
  }
  // Fill the other nodes to the brim: a cluster without room.
  if (o.full) {
    for (const n of nodes) {
      let k = 0;
      while ((used.get(n.name) as number) + 512 <= n.memMiB) {
        vms.push({ name: `fill-${n.name}-${k++}`, node: n.name, state: 'running', memMiB: 512, cpu: 0.1 });
        used.set(n.name, (used.get(n.name) as number) + 512);
      }
    }
  }
  const k = r.int(1, Math.max(1, N - 1));
  const evacuate = [...nodes].sort(() => r.next() - 0.5).slice(0, k).map((n) => n.name);
  return { evacuate, nodes, vms, paused: r.next() < 0.3 ? 'keep' : 'live' };
}

/** The invariants every plan must keep; returns the plan for case-specific checks. */
function check(c: Case, label: string): EvacuationPlan {
  const plan = planEvacuation(c.evacuate, c.nodes, c.vms, { paused: c.paused });
  const leaving = new Set(c.evacuate);
  const onEvac = c.vms.filter((v) => leaving.has(v.node)).map((v) => v.name).sort();
  const moved = plan.moves.map((m) => m.vm);
  const named = plan.remaining.map((r) => r.vm);
  // Every VM is accounted for, exactly once.
  assert.deepEqual([...moved, ...named].sort(), onEvac, `${label}: every VM on an evacuated node is moved or named`);
  for (const r of plan.remaining) assert.ok(r.reason.length > 10, `${label}: ${r.vm} stays with a reason`);
  const byNode = new Map(c.nodes.map((n) => [n.name, n]));
  const mem = new Map(c.nodes.map((n) => [n.name, n.reservedMiB ?? 0]));
  const cpu = new Map(c.nodes.map((n) => [n.name, 0]));
  const at = new Map(c.vms.map((v) => [v.name, v.node]));
  for (const m of plan.moves) at.set(m.vm, m.to);
  for (const v of c.vms) {
    if (v.state === 'stopped') continue;
    const n = at.get(v.name) as string;
    mem.set(n, (mem.get(n) as number) + v.memMiB);
    cpu.set(n, (cpu.get(n) as number) + (v.cpu ?? 0));
  }
  for (const m of plan.moves) {
    const v = c.vms.find((x) => x.name === m.vm) as EvacVm;
    const to = byNode.get(m.to) as EvacNode;
    const from = byNode.get(m.from) as EvacNode;
    assert.equal(m.from, v.node, `${label}: ${m.vm} moves from where it is`);
    assert.ok(!leaving.has(m.to) && to.closed === undefined, `${label}: ${m.vm} onto ${m.to}, which takes no VMs`);
    assert.equal(m.mode, v.state === 'stopped' ? 'offline' : 'live', `${label}: ${m.vm} (${v.state}) moves ${m.mode}`);
    assert.ok(v.state !== 'paused' || c.paused === 'live', `${label}: paused ${m.vm} kept as asked`);
    assert.ok(!v.migrating && v.cannotMigrate === undefined, `${label}: ${m.vm} cannot be planned`);
    assert.ok((from.canMigrate?.[m.mode] ?? true) && (to.canMigrate?.[m.mode] ?? true), `${label}: ${m.vm}: a driver that cannot migrate ${m.mode}`);
    assert.equal(to.driver, from.driver, `${label}: ${m.vm} crosses drivers`);
    if (v.state !== 'stopped') {
      assert.ok((mem.get(m.to) as number) <= to.memMiB + 1e-6, `${label}: ${m.to} over its memory`);
      // CPU: a VM with demand only lands where it keeps the node within its cores (paused ones carry none).
      if ((v.cpu ?? 0) > 0) assert.ok((cpu.get(m.to) as number) <= to.cores + 1e-6, `${label}: ${m.to} over its cores`);
    }
  }
  // Anti-affinity holds wherever a VM lands (it held at the start, the generator only broke it on nodes being emptied).
  for (const m of plan.moves) {
    const v = c.vms.find((x) => x.name === m.vm) as EvacVm;
    for (const l of v.antiAffinity ?? []) {
      const peers = c.vms.filter((x) => x.name !== v.name && at.get(x.name) === m.to && (x.antiAffinity ?? []).includes(l));
      assert.equal(peers.length, 0, `${label}: ${m.vm} shares ${m.to} with ${peers.map((x) => x.name).join(',')} (${l})`);
    }
  }
  for (const s of plan.nodes) {
    const here = c.vms.filter((v) => v.node === s.node).length;
    assert.equal(s.vms, here);
    assert.equal(s.holds, plan.remaining.filter((r) => r.node === s.node).length, `${label}: ${s.node} holds what remains`);
    assert.equal(s.moving + s.holds, here);
  }
  const text = describeRemaining(plan).join('\n');
  for (const s of plan.nodes.filter((x) => x.holds > 0)) assert.match(text, new RegExp(`node ${s.node} still holds ${s.holds} VMs?:`));
  for (const r of plan.remaining) assert.ok(text.includes(r.vm), `${label}: ${r.vm} named in the text`);
  return plan;
}

test('evacuation: every VM on a node being emptied is moved or named (random clusters)', () => {
  let moves = 0;
  let named = 0;
  const codes = new Set<string>();
  for (let seed = 1; seed <= CASES; seed++) {
    const p = check(randomEvac(seed), `seed ${seed}`);
    moves += p.moves.length;
    named += p.remaining.length;
    for (const r of p.remaining) codes.add(r.code);
  }
  assert.ok(moves > 500 && named > 100, `the cases should exercise both (moves ${moves}, named ${named})`);
  for (const c of ['only-node', 'no-room', 'cannot-migrate', 'kept', 'migrating']) assert.ok(codes.has(c), `no case named a VM for '${c}'`);
});

test('evacuation: a one-node cluster moves nothing and names every VM, stopped and paused too', () => {
  let vms = 0;
  for (let seed = 1; seed <= 100; seed++) {
    const c = randomEvac(seed + 5000, { nodes: 1 });
    const p = check({ ...c, paused: 'live' }, `seed ${seed}`);
    assert.equal(p.moves.length, 0);
    for (const r of p.remaining) {
      if (r.code === 'migrating' || r.code === 'cannot-migrate') continue;
      assert.equal(r.code, 'only-node');
      assert.match(r.reason, /only node in the cluster/);
    }
    vms += p.remaining.length;
  }
  assert.ok(vms > 200, `one-node cases had VMs (${vms})`);
});

test('evacuation: without room, running and paused VMs stay named; stopped ones still move offline', () => {
  let stopped = 0;
  let stuck = 0;
  for (let seed = 1; seed <= 150; seed++) {
    const c = randomEvac(seed + 9000, { nodes: 3, full: true });
    const p = check({ ...c, paused: 'live' }, `seed ${seed}`);
    for (const r of p.remaining) {
      if (r.state !== 'stopped' && r.code === 'no-room') {
        stuck++;
        assert.match(r.reason, /no node with room: .*(free, needs|CPU would reach)/);
      }
    }
    stopped += p.moves.filter((m) => m.state === 'stopped').length;
    for (const m of p.moves.filter((x) => x.state !== 'stopped')) {
      // A node filled to the brim with 512 MiB VMs has < 512 MiB free: only smaller VMs could have gone.
      const v = c.vms.find((x) => x.name === m.vm) as EvacVm;
      assert.ok(v.memMiB < 512, `seed ${seed}: ${m.vm} (${v.memMiB} MiB) went onto a full node`);
    }
  }
  assert.ok(stuck > 100 && stopped > 20, `full clusters exercised (stuck ${stuck}, stopped moved ${stopped})`);
});

test('evacuation: paused VMs move live, or stay named when the caller keeps them', () => {
  const nodes: EvacNode[] = [{ name: 'a', cores: 8, memMiB: 16384 }, { name: 'b', cores: 8, memMiB: 16384 }];
  const vms: EvacVm[] = [
    { name: 'run', node: 'a', state: 'running', memMiB: 1024, cpu: 1 },
    { name: 'pau', node: 'a', state: 'paused', memMiB: 1024 },
    { name: 'off', node: 'a', state: 'stopped', memMiB: 1024 },
  ];
  const live = planEvacuation(['a'], nodes, vms, { paused: 'live' });
  assert.deepEqual(live.moves.map((m) => `${m.vm}:${m.mode}:${m.to}`).sort(), ['off:offline:b', 'pau:live:b', 'run:live:b']);
  assert.deepEqual(live.nodes, [{ node: 'a', vms: 3, moving: 3, holds: 0 }]);
  const keep = planEvacuation(['a'], nodes, vms, { paused: 'keep' });
  assert.deepEqual(keep.remaining.map((r) => `${r.vm}:${r.code}`), ['pau:kept']);
  assert.deepEqual(describeRemaining(keep)[0], 'node a still holds 1 VM:');
  // A driver that cannot migrate live keeps the running and paused VMs, and says which driver.
  const lxc = planEvacuation(['a'], [{ ...nodes[0] as EvacNode, driver: 'LXC', canMigrate: { live: false } }, { ...nodes[1] as EvacNode, driver: 'LXC' }], vms);
  assert.deepEqual(lxc.moves.map((m) => m.vm), ['off']);
  for (const r of lxc.remaining) assert.match(r.reason, /LXC driver on a cannot migrate/);
  // Anti-affinity: two VMs of one group cannot both land on the only other node.
  const aa = planEvacuation(['a'], nodes, [
    { name: 'db1', node: 'a', state: 'running', memMiB: 512, antiAffinity: ['db'] },
    { name: 'db2', node: 'a', state: 'running', memMiB: 512, antiAffinity: ['db'] },
  ]);
  assert.equal(aa.moves.length, 1);
  assert.equal(aa.remaining[0]?.code, 'anti-affinity');
  assert.match(aa.remaining[0]?.reason ?? '', /b: anti-affinity with db[12] \(db\)/);
});

test('level 2 evacuates through the same planner: its evacuation moves are exactly the planner\'s', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const input = randomCase(seed + 70_000, { evacuate: true, labels: true, inflight: true, maintenance: true });
    const src = input.hosts.find((h) => h.evacuate)?.name as string;
    const moves = planLevel2(input).filter((m) => m.reason === 'evacuation');
    assert.ok(moves.every((m) => m.from === src));
    const hosts = input.hosts;
    if (hosts.length < 2) continue;
    const target = new Set(moves.map((m) => m.to));
    for (const t of target) assert.ok(!hosts.find((h) => h.name === t)?.maintenance, `seed ${seed}`);
  }
});

test('planLive: evacuating 3 of 4 nodes accounts for every VM, and a one-node cluster is never "balanced" by omission', async () => {
  const node = (name: string, memMiB: number) => ({ name, cores: 8, memMiB, cpuHistory: [0.2, 0.2, 0.2, 0.2, 0.2], reachable: true });
  const vm = (name: string, n: string, state: string, memMiB = 1024) => ({
    name, node: n, vcpus: 1, memMiB, cpuHistory: state === 'running' ? [0.3, 0.3, 0.3, 0.3, 0.3] : [], running: state === 'running', state,
  });
  const snap: LiveSnapshot = {
    now: 1_000_000, period: 60, inflight: [],
    nodes: [node('node-01', 8192), node('node-02', 8192), node('node-03', 8192), node('node-04', 4096)],
    vms: [
      ...['a', 'b', 'c'].map((x) => vm(`n1-${x}`, 'node-01', 'running')),
      vm('n1-off', 'node-01', 'shutoff'), vm('n1-pause', 'node-01', 'paused'),
      ...['a', 'b', 'c', 'd', 'e', 'f'].map((x) => vm(`n2-${x}`, 'node-02', 'running')),
      vm('n3-big', 'node-03', 'running', 4096),
      vm('n4-a', 'node-04', 'running'),
    ],
  };
  const source = (s: LiveSnapshot): ClusterSource => ({ snapshot: () => Promise.resolve(s), migrate: () => Promise.reject(new Error('not here')) });
  const r = await planLive(source(snap), { evacuate: ['node-01', 'node-02', 'node-03'] });
  const onEvac = snap.vms.filter((v) => v.node !== 'node-04').map((v) => v.name).sort();
  const moved = r.moves.filter((m) => m.reason === 'evacuation').map((m) => m.vm);
  assert.deepEqual([...moved, ...r.evacuation.remaining.map((x) => x.vm)].sort(), onEvac);
  // node-04 has 3 GiB free: three 1 GiB running VMs go live, the stopped one offline; the rest stay, named.
  assert.ok(r.moves.every((m) => m.to === 'node-04'));
  assert.equal(r.moves.find((m) => m.vm === 'n1-off')?.live, false);
  assert.equal(r.evacuation.nodes.reduce((t, n) => t + n.holds, 0), onEvac.length - moved.length);
  assert.ok(r.evacuation.remaining.some((x) => x.vm === 'n3-big' && x.code === 'no-room'));

  const one = await planLive(source({ ...snap, nodes: [node('node-01', 65536)], vms: snap.vms.filter((v) => v.node === 'node-01') }), { evacuate: ['node-01'] });
  assert.equal(one.moves.length, 0);
  assert.deepEqual(one.evacuation.remaining.map((x) => x.code), ['only-node', 'only-node', 'only-node', 'only-node', 'only-node']);
  assert.deepEqual(one.evacuation.nodes, [{ node: 'node-01', vms: 5, moving: 0, holds: 5 }]);
});

test('evacuation: VMs bound by strict affinity go to one node with room for all, or all stay, each named', () => {
  const nodes: EvacNode[] = [
    { name: 'a', cores: 8, memMiB: 16384 },
    // b has the most room for one VM, but not for both.
    { name: 'b', cores: 8, memMiB: 5120 },
    { name: 'c', cores: 8, memMiB: 12288 },
  ];
  const vms: EvacVm[] = [
    { name: 'db', node: 'a', state: 'running', memMiB: 4096, cpu: 1, affinity: ['app'] },
    { name: 'web', node: 'a', state: 'running', memMiB: 4096, cpu: 1, affinity: ['app'] },
    { name: 'c1', node: 'c', state: 'running', memMiB: 2048, cpu: 1 },
  ];
  const plan = planEvacuation(['a'], nodes, vms);
  assert.deepEqual(plan.moves.map((m) => [m.vm, m.to]), [['db', 'c'], ['web', 'c']]);
  assert.deepEqual(plan.remaining, []);
  // Without the label each goes alone to the node left least loaded, and they part.
  const loose = planEvacuation(['a'], nodes, vms.map((v) => ({ ...v, affinity: undefined })));
  assert.equal(new Set(loose.moves.map((m) => m.to)).size, 2);
  // One that cannot migrate keeps the other with it, and both say why.
  const stuck = planEvacuation(['a'], nodes, vms.map((v) => (v.name === 'db' ? { ...v, cannotMigrate: 'a host device' } : v)));
  assert.deepEqual(stuck.moves, []);
  assert.deepEqual(stuck.remaining.map((r) => [r.vm, r.code]).sort(), [['db', 'cannot-migrate'], ['web', 'affinity']]);
  assert.match(stuck.remaining.find((r) => r.vm === 'web')?.reason ?? '', /bound by strict affinity to db/);
  // No node holds both: both stay, named.
  const full = planEvacuation(['a'], [nodes[0]!, nodes[1]!], vms.slice(0, 2));
  assert.deepEqual(full.moves, []);
  assert.deepEqual(full.remaining.map((r) => r.code), ['no-room', 'no-room']);
});

/** A live snapshot with every libvirt state, some unreachable or maintenance nodes, two drivers, hot and idle nodes. */
function randomLive(seed: number): { snap: LiveSnapshot; opts: LivePlanOptions } {
  const r: Rng = createRng(seed);
  const N = r.int(1, 7);
  const drivers = r.next() < 0.3 ? ['QEMU', 'LXC'] : ['QEMU'];
  const nodes = Array.from({ length: N }, (_, i) => ({
    name: `n${i}`, cores: r.pick([4, 8, 16]), memMiB: r.pick([16, 32, 64]) * 1024, driver: r.pick(drivers),
    cpuHistory: [] as number[], reachable: r.next() > 0.08,
    labels: r.next() < 0.08 ? ['maintenance'] : undefined,
    canMigrate: r.next() < 0.1 ? { live: r.next() < 0.5, offline: r.next() < 0.5 } : undefined,
  }));
  const used = new Map(nodes.map((n) => [n.name, 0]));
  const busy = new Set(nodes.filter(() => r.next() < 0.4).map((n) => n.name));
  const vms: LiveVm[] = [];
  const V = r.int(0, 40);
  for (let i = 0; i < V; i++) {
    const state = r.next() < 0.5 ? 'running' : r.pick(VM_STATES);
    const mem = r.pick([256, 512, 1024, 2048, 4096]);
    const n = r.pick(nodes);
    const holds = evacState({ name: '', node: '', vcpus: 1, memMiB: 0, cpuHistory: [], running: state === 'running', state }) !== 'stopped';
    if (holds && (used.get(n.name) as number) + mem > n.memMiB) continue;
    if (holds) used.set(n.name, (used.get(n.name) as number) + mem);
    // Busy VMs on some nodes, idle ones on others: imbalance for level 2 to act on.
    const level = state === 'running' ? r.next() * (busy.has(n.name) ? 2 : 0.2) : 0;
    vms.push({
      name: `vm${i}`, node: n.name, vcpus: r.pick([1, 2, 4]), memMiB: mem, state, running: state === 'running',
      cpuHistory: state === 'running' ? Array.from({ length: 6 }, () => level * (0.8 + 0.4 * r.next())) : [],
      migrating: r.next() < 0.04, lastMigration: r.next() < 0.1 ? 1_000_000 - r.int(0, 3000) : undefined,
    });
  }
  // A node's history is its VMs' CPU (as the agent measures it), so hot nodes are the busy ones.
  for (const n of nodes) {
    const here = vms.filter((v) => v.node === n.name);
    n.cpuHistory = Array.from({ length: 6 }, (_, t) => here.reduce((s, v) => s + (v.cpuHistory[t] ?? 0), 0) / n.cores);
  }
  // One case in four empties every node (the one where level 2 had no node left to balance from).
  const k = r.next() < 0.25 ? N : r.int(1, Math.max(1, Math.floor(N / 2)));
  const evacuate = [...nodes].sort(() => r.next() - 0.5).slice(0, k).map((n) => n.name);
  const antiAffinity = r.next() < 0.3 && vms.length > 2 ? [[r.pick(vms).name, r.pick(vms).name]] : undefined;
  const maintenance = r.next() < 0.1 ? [r.pick(nodes).name] : undefined;
  // The default two migrations per node are often all taken by the evacuation; a wider limit lets balancing act too.
  const config = r.next() < 0.5 ? { maxPerNode: 8 } : undefined;
  return { snap: { now: 1_000_000, period: 60, nodes, vms, inflight: [] }, opts: { evacuate, paused: r.next() < 0.3 ? 'keep' : 'live', antiAffinity, maintenance, config } };
}

test('planLive (CLI, dashboard, automatic mode): every VM of an evacuated node, in every libvirt state, is moved or named; balancing keeps off evacuated nodes', async () => {
  const source = (s: LiveSnapshot): ClusterSource => ({ snapshot: () => Promise.resolve(s), migrate: () => Promise.reject(new Error('not here')) });
  let all = 0;
  let balanced = 0;
  const states = new Set<string>();
  for (let seed = 1; seed <= 150; seed++) {
    const { snap, opts } = randomLive(seed + 30_000);
    const label = `seed ${seed}`;
    const r = await planLive(source(snap), opts);
    const leaving = new Set(opts.evacuate ?? []);
    if (leaving.size === snap.nodes.length) all++;
    const onEvac = snap.vms.filter((v) => leaving.has(v.node));
    for (const v of onEvac) states.add(v.state ?? '');
    const evacMoves = r.moves.filter((m) => m.reason === 'evacuation');
    // Exactly once each: a move or a line that names it.
    assert.deepEqual([...evacMoves.map((m) => m.vm), ...r.evacuation.remaining.map((x) => x.vm)].sort(), onEvac.map((v) => v.name).sort(), `${label}: every VM is moved or named`);
    for (const x of r.evacuation.remaining) assert.ok(x.reason.length > 10, `${label}: ${x.vm} stays with a reason`);
    assert.equal(stillHeldOf(r.evacuation), r.evacuation.remaining.length, `${label}: "still holds" counts what stays`);
    for (const m of evacMoves) {
      const v = snap.vms.find((x) => x.name === m.vm) as LiveVm;
      assert.equal(m.live, evacState(v) !== 'stopped', `${label}: ${m.vm} (${v.state}) moves ${m.live === false ? 'offline' : 'live'}`);
      assert.ok(!leaving.has(m.to), `${label}: ${m.vm} evacuated onto ${m.to}, itself being evacuated`);
    }
    for (const m of r.moves.filter((x) => x.reason !== 'evacuation')) {
      balanced++;
      assert.ok(!leaving.has(m.from), `${label}: balancing moved ${m.vm} off ${m.from}, which is being evacuated`);
      assert.ok(!leaving.has(m.to), `${label}: balancing moved ${m.vm} onto ${m.to}, which is being evacuated`);
      assert.ok(!evacMoves.some((e) => e.vm === m.vm), `${label}: ${m.vm} moved twice`);
    }
    assert.equal(new Set(r.moves.map((m) => m.vm)).size, r.moves.length, `${label}: a VM moved twice`);
  }
  assert.ok(all >= 20, `cases emptying every node: ${all}`);
  assert.ok(balanced >= 10, `cases where balancing moved something beside the evacuation: ${balanced}`);
  for (const s of VM_STATES) assert.ok(states.has(s), `no VM in state ${s} on an evacuated node`);
});

test('level 2 with every node being evacuated and the load uneven: no crash, nothing balanced, every VM named', async () => {
  const node = (name: string, cores: number) => ({ name, cores, memMiB: 16384, cpuHistory: [0.2, 0.2, 0.2, 0.2, 0.2], reachable: true });
  const vm = (name: string, n: string, cores: number) => ({ name, node: n, vcpus: 4, memMiB: 1024, cpuHistory: [cores, cores, cores, cores, cores], running: true, state: 'running' });
  const snap: LiveSnapshot = { now: 1_000_000, period: 60, inflight: [], nodes: [node('a', 8), node('b', 8)], vms: [vm('busy', 'a', 5), vm('idle', 'b', 0.1)] };
  const source: ClusterSource = { snapshot: () => Promise.resolve(snap), migrate: () => Promise.reject(new Error('not here')) };
  const r = await planLive(source, { evacuate: ['a', 'b'] });
  assert.deepEqual(r.moves, []);
  assert.deepEqual(r.evacuation.remaining.map((x) => [x.vm, x.code]), [['busy', 'no-target'], ['idle', 'no-target']]);
  // Level 2 alone, on the same cluster (the automatic mode's round when an admin empties every node).
  const input = toPlanInput(snap, { evacuate: ['a', 'b'] });
  assert.deepEqual(planLevel2(input), []);
});
