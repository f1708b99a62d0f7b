// The migrate dialog on a mixed cluster (vem demo --mixed): a node of another driver, or one whose
// driver cannot migrate, is not a target and says why; the HYPERVISOR column names the simulated driver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newNode, newVm, type NodeRecord, type VmRecord } from '../../src/tui/store/model.js';
import { targetsFor } from '../../src/tui/commands/plan.js';
import { migrateChoiceLines } from '../../src/tui/views/panels.js';
import { hypervisorLabel, nodeLines } from '../../src/tui/views/tables.js';
import { makeTheme } from '../../src/tui/views/theme.js';

function node(name: string, driver: string, unsupported?: Record<string, string>, simulated = true): NodeRecord {
  const n = newNode(name, 'up');
  n.host = { hostname: name, uri: `sim://${name}`, driver, hypervisorVersion: '1.0', simulated, cpus: 8, memoryKiB: 64 * 1048576, libvirtUp: true, ...(unsupported ? { capabilities: { unsupported } } : {}) };
  return n;
}

function vm(n: string, name: string, state = 'running'): VmRecord {
  const v = newVm(n, name);
  v.memKiB = 1048576;
  v.state = state;
  return v;
}

const noP2p = 'the driver reports no peer-to-peer migration (virConnectSupportsFeature)';
const nodes = (): NodeRecord[] => [
  node('node-01', 'Simulated', {}),
  node('node-02', 'Simulated', {}),
  node('lxc-01', 'LXC', { migration: noP2p, 'offline-migration': noP2p }),
  node('lxc-02', 'LXC', { migration: noP2p, 'offline-migration': noP2p }),
  node('xen-01', 'Xen', { 'offline-migration': 'the driver reports no offline migration (virConnectSupportsFeature)' }),
  node('xen-02', 'Xen', { 'offline-migration': 'the driver reports no offline migration (virConnectSupportsFeature)' }),
];

test('a QEMU guest fits only on the other QEMU node; LXC and Xen nodes are not targets, with the reason', () => {
  const t = targetsFor(vm('node-01', 'web'), nodes());
  assert.deepEqual(t.filter((f) => f.fits).map((f) => f.node), ['node-02']);
  const why = Object.fromEntries(t.filter((f) => !f.fits).map((f) => [f.node, f.reason]));
  assert.equal(why['lxc-01'], 'different driver (Simulated here, LXC there)');
  assert.equal(why['xen-02'], 'different driver (Simulated here, Xen there)');
  assert.ok(t.filter((f) => !f.fits).every((f) => f.excluded === true));
  const lines = migrateChoiceLines(vm('node-01', 'web'), t, 0, true, makeTheme(true)).join('\n');
  assert.match(lines, /lxc-01 +not a target: different driver \(Simulated here, LXC there\)/);
  assert.match(lines, /node-02 +fits /);
});

test('a Xen guest goes live to the other Xen node only, never stopped; a container goes nowhere', () => {
  const x = targetsFor(vm('xen-01', 'db'), nodes());
  assert.deepEqual(x.filter((f) => f.fits).map((f) => f.node), ['xen-02']);
  const stopped = targetsFor(vm('xen-01', 'db', 'shutoff'), nodes());
  assert.equal(stopped.find((f) => f.node === 'xen-02')?.reason, 'the Xen driver cannot migrate a stopped VM');
  const c = targetsFor(vm('lxc-01', 'ct'), nodes());
  assert.deepEqual(c.filter((f) => f.fits), []);
  assert.equal(c.find((f) => f.node === 'lxc-02')?.reason, 'the LXC driver cannot live-migrate');
  // A simulated node and a real one of the same driver are not one pool either.
  const real = [node('lxc-01', 'LXC', {}), node('lab-lxc', 'LXC', {}, false)];
  assert.equal(targetsFor(vm('lxc-01', 'ct'), real)[0]?.reason, 'different driver (LXC (SIMULATED) here, LXC there)');
});

test('an older agent without capabilities or a driver: nothing is held against the node', () => {
  const a = newNode('a', 'up');
  const b = newNode('b', 'up');
  b.host = { hostname: 'b', uri: 'qemu+tcp://b/system', driver: 'QEMU', hypervisorVersion: '8.2.0', simulated: false, cpus: 8, memoryKiB: 64 * 1048576, libvirtUp: true };
  assert.equal(targetsFor(vm('a', 'web'), [a, b])[0]?.fits, true);
});

test('HYPERVISOR says which driver a simulated node simulates; the plain simulator stays SIMULATED', () => {
  const [q, , l, , x] = nodes();
  assert.ok(q && l && x);
  assert.equal(hypervisorLabel(q), 'SIMULATED');
  assert.equal(hypervisorLabel(l), 'LXC (SIMULATED)');
  assert.equal(hypervisorLabel(x, 14), 'Xen SIMULATED', 'the table column is 14 wide at most');
  assert.equal(hypervisorLabel(x, 10), 'SIMULATED');
  const rows = nodeLines({ rows: [q, l, x], selected: 0, top: 0, focused: false }, 120, 4, makeTheme(true), 'ascii').lines.map((s) => s.replace(/\{\/?[a-z]+\}/g, ''));
  assert.match(rows[2] ?? '', /^ lxc-01 .* LXC SIMULATED /);
  assert.match(rows[3] ?? '', /^ xen-01 .* Xen SIMULATED /);
  assert.match(rows[1] ?? '', /^ node-01 .* SIMULATED /);
});
