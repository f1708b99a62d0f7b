// Level 2 on a mixed cluster plans moves only where a VM can go: between nodes of one
// driver whose driver can live-migrate (the heterogeneous demo showed `vem balance`
// moving a container, and a Xen guest onto a QEMU node).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canMigrateFrom, planLevel2ByDriver, type LiveNode } from '../../src/balancer/live.js';
import { DEFAULT_LEVEL2, planLevel2 } from '../../src/balancer/level2.js';
import type { HostState, PlanInput, VmState } from '../../src/balancer/types.js';

const N = 20;
const host = (name: string): HostState => ({ name, cores: 4, memMiB: 65_536, cpuHistory: Array<number>(N).fill(0) });
const vm = (name: string, on: string, cores: number): VmState => ({ name, host: on, cpuHistory: Array<number>(N).fill(cores), memMiB: 1024, vcpus: 2 });
const node = (name: string, driver: string, canMigrate?: LiveNode['canMigrate']): LiveNode =>
  ({ name, cores: 4, memMiB: 65_536, cpuHistory: [], reachable: true, driver, ...(canMigrate ? { canMigrate } : {}) }) as LiveNode;

function cluster(): { input: PlanInput; nodes: LiveNode[] } {
  const hosts = ['q1', 'q2', 'l1', 'l2', 'x1'].map(host);
  const vms: VmState[] = [];
  // q1 and l1 run hot (four VMs at 1 core each on 4 cores); the rest idle.
  for (let i = 0; i < 4; i++) vms.push(vm(`qemu-${i}`, 'q1', 1), vm(`ct-${i}`, 'l1', 1));
  vms.push(vm('xen-0', 'x1', 0.1));
  for (const h of hosts) h.cpuHistory = Array<number>(N).fill(vms.filter((v) => v.host === h.name).reduce((s, v) => s + (v.cpuHistory[0] ?? 0), 0) / h.cores);
  const noMigration = canMigrateFrom({ migration: 'this function is not supported by the connection driver: virDomainMigratePerform3Params' });
  const nodes = [node('q1', 'QEMU'), node('q2', 'QEMU'), node('l1', 'LXC', noMigration), node('l2', 'LXC', noMigration), node('x1', 'Xen')];
  return { input: { now: 10_000, period: 60, hosts, vms, inflight: [] }, nodes };
}

describe('level 2 by driver', () => {
  it('the plain planner would move VMs across drivers on this cluster (what the grouping prevents)', () => {
    const { input } = cluster();
    const moves = planLevel2(input, DEFAULT_LEVEL2);
    const drv = (n: string): string => n[0] ?? '';
    assert.ok(moves.some((m) => drv(m.from) !== drv(m.to) || m.from === 'l1'), JSON.stringify(moves));
  });

  it('moves only QEMU guests, only to the other QEMU node; containers stay, nothing goes to Xen or LXC', () => {
    const { input, nodes } = cluster();
    const moves = planLevel2ByDriver(input, nodes, DEFAULT_LEVEL2);
    assert.ok(moves.length > 0, 'the hot QEMU node is relieved');
    for (const m of moves) assert.deepEqual([m.from, m.to, m.vm.startsWith('qemu-')], ['q1', 'q2', true], JSON.stringify(m));
  });

  it('what a node can migrate, from the features node.info says its driver lacks', () => {
    assert.equal(canMigrateFrom(undefined), undefined);
    assert.deepEqual(canMigrateFrom({}), { live: true, offline: true });
    assert.deepEqual(canMigrateFrom({ 'offline-migration': 'no' }), { live: true, offline: false });
    assert.deepEqual(canMigrateFrom({ migration: 'no' }), { live: false, offline: false });
  });
});
