// A node's load for level 2 (src/balancer/node-load.ts): host-wide CPU for a node
// alone on its machine, its VMs' CPU for nodes found sharing one; and that this is
// what turns a lab (two libvirtds on one machine) from "no imbalance" into a move.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { machineGroups, nodeLoads, sameMachine, type MachineCounters, type NodeLoadReading } from '../../src/balancer/node-load.js';
import { planLive, type ClusterSource, type LiveSnapshot } from '../../src/balancer/live.js';

const GiB = 1024 * 1024;
const S = 1e9;

function machine(busySec: number, idleSec: number, atMs = 1_000_000, memTotalKiB = 8 * GiB): MachineCounters {
  return { busyNs: busySec * S, idleNs: idleSec * S, memTotalKiB, atMs };
}

function reading(name: string, host: number[], vms: number[], m?: MachineCounters, cores = 2): NodeLoadReading {
  return { name, cores, host, vms, ...(m ? { machine: m } : {}) };
}

describe('sameMachine: one machine\'s counters, read by two agents', () => {
  it('agree within what the time between the readings explains', () => {
    // Read 500 ms apart on a 2-core machine: at most 1 core-second apart, plus the slack.
    const a = reading('n1', [], [], machine(50_000, 900_000, 1_000_000));
    const b = reading('n2', [], [], machine(50_001.5, 900_000.2, 1_000_500));
    assert.equal(sameMachine(a, b), true);
  });

  it('separate hosts do not: different counters, memory or cores', () => {
    const a = reading('a', [], [], machine(50_000, 900_000));
    assert.equal(sameMachine(a, reading('b', [], [], machine(50_000 + 600, 900_000))), false, 'busy 10 core-minutes apart');
    assert.equal(sameMachine(a, reading('b', [], [], machine(50_000, 900_000 - 30))), false, 'idle 30 core-seconds apart');
    assert.equal(sameMachine(a, reading('b', [], [], machine(50_000, 900_000, 1_000_000, 4 * GiB))), false, 'other memory');
    assert.equal(sameMachine(a, reading('b', [], [], machine(50_000, 900_000), 4)), false, 'other core count');
    assert.equal(sameMachine(a, reading('b', [], [])), false, 'no counters (older agent, simulated node)');
  });

  it('the allowance grows with the time between the readings', () => {
    const a = reading('n1', [], [], machine(50_000, 900_000, 1_000_000));
    const b = reading('n2', [], [], machine(50_012, 900_000, 1_005_000)); // 12 core-s later, read 5 s later on 2 cores: possible
    assert.equal(sameMachine(a, b), true);
    assert.equal(sameMachine(a, { ...b, machine: { ...(b.machine as MachineCounters), atMs: 1_000_000 } }), false);
  });
});

describe('machineGroups and nodeLoads', () => {
  it('groups the nodes of one machine; a separate host keeps its host-wide CPU, its own non-VM work included', () => {
    const rs = [
      reading('n1', [0.95, 0.97], [0.6, 0.62], machine(50_000, 900_000)),
      reading('other', [0.7, 0.72], [0.1, 0.12], machine(7_000, 80_000)),
      reading('n2', [0.96, 0.97], [0, 0.01], machine(50_000.5, 900_000.3, 1_000_200)),
    ];
    assert.deepEqual(machineGroups(rs), [['n1', 'n2']]);
    const { load, shared } = nodeLoads(rs);
    assert.deepEqual(shared, [['n1', 'n2']]);
    assert.deepEqual(load.get('n1'), [0.6, 0.62]);
    assert.deepEqual(load.get('n2'), [0, 0.01]);
    assert.deepEqual(load.get('other'), [0.7, 0.72], 'host-wide: its 0.6 of non-VM work counts');
  });

  it('separate hosts only: every load is host-wide, nothing shared', () => {
    const { load, shared } = nodeLoads([reading('a', [0.5], [0.1], machine(1, 2)), reading('b', [0.2], [0.2], machine(900, 20_000)), reading('c', [0.3], [0.3])]);
    assert.deepEqual(shared, []);
    assert.deepEqual([...load.values()], [[0.5], [0.2], [0.3]]);
  });

  it('a machine of three nodes is one group even when only neighbours are close enough', () => {
    const rs = [
      // Read at the same moment with 1 s of slack: 2 cores allow 2 core-seconds, x and z are 3 apart.
      reading('x', [], [], machine(100, 1000)),
      reading('y', [], [], machine(101.5, 1000)),
      reading('z', [], [], machine(103, 1000)),
    ];
    assert.equal(sameMachine(rs[0] as NodeLoadReading, rs[2] as NodeLoadReading, 1), false);
    assert.deepEqual(machineGroups(rs, 1), [['x', 'y', 'z']]);
  });
});

describe('the planner over a shared machine', () => {
  // Two lab nodes on one saturated 2-core machine: two guests burning on n1, none on n2.
  const vms = [
    { name: 'b1', node: 'n1', vcpus: 1, memMiB: 192, cpuHistory: [0.5, 0.5, 0.5, 0.5, 0.5], running: true },
    { name: 'b2', node: 'n1', vcpus: 1, memMiB: 192, cpuHistory: [0.5, 0.5, 0.5, 0.5, 0.5], running: true },
  ];
  const hostWide = [0.97, 0.98, 0.99, 0.97, 0.98];
  const snap = (cpu: (n: string) => number[]): LiveSnapshot => ({
    now: 10_000, period: 1, inflight: [], vms,
    nodes: ['n1', 'n2'].map((name) => ({ name, cores: 2, memMiB: 2048, reachable: true, cpuHistory: cpu(name) })),
  });
  const src = (s: LiveSnapshot): ClusterSource => ({ snapshot: () => Promise.resolve(s), migrate: () => Promise.resolve() });

  it('with the host-wide figure on both nodes both look hot and nothing moves (the lab as it was)', async () => {
    const { moves } = await planLive(src(snap(() => hostWide)));
    assert.deepEqual(moves, []);
  });

  it('with each node\'s VMs\' CPU, one guest moves from n1 to n2', async () => {
    const rs = [
      reading('n1', hostWide, [0.5, 0.5, 0.5, 0.5, 0.5], machine(50_000, 900_000)),
      reading('n2', hostWide, [0, 0, 0, 0, 0], machine(50_000.4, 900_000.1, 1_000_100)),
    ];
    const { load } = nodeLoads(rs);
    const { moves } = await planLive(src(snap((n) => load.get(n) ?? [])));
    assert.equal(moves.length, 1);
    assert.deepEqual([moves[0]?.from, moves[0]?.to], ['n1', 'n2']);
    assert.ok(['b1', 'b2'].includes(moves[0]?.vm ?? ''));
  });
});
