import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterStore } from '../../src/tui/store/store.js';
import { Ring } from '../../src/tui/store/ring.js';
import { totals } from '../../src/tui/store/model.js';
import { decodeEvents, decodeJob, decodeNodeInfo, decodeNodeStats, decodeVmList, decodeVmStats, expandColumns } from '../../src/tui/store/decode.js';

test('ring keeps the newest values in order', () => {
  const r = new Ring(3);
  assert.equal(r.last(), undefined);
  for (const v of [1, 2, 3, 4, 5]) r.push(v);
  assert.deepEqual(r.values(), [3, 4, 5]);
  assert.deepEqual(r.values(2), [4, 5]);
  assert.equal(r.last(), 5);
  assert.equal(r.length, 3);
});

test('decoders read node.info, vm.list, stats (rows and columns), events and jobs', () => {
  const host = decodeNodeInfo({ hostname: 'h1', uri: 'sim://n1', driver: 'Simulated', hypervisorVersion: '1.0.0', simulated: true, node: { cpus: 16, memoryKiB: 65536 } });
  assert.equal(host.simulated, true);
  assert.equal(host.cpus, 16);
  assert.equal(host.libvirtUp, true);
  assert.equal(decodeNodeInfo({ libvirt: 'down' }).libvirtUp, false);
  const vms = decodeVmList([{ name: 'a', uuid: 'u', state: 'running', vcpus: 2, memKiB: 1024, maxMemKiB: 2048 }, { noname: 1 }]);
  assert.deepEqual(vms, [{ name: 'a', uuid: 'u', state: 'running', vcpus: 2, memKiB: 1024, maxMemKiB: 2048 }]);
  const cols = expandColumns({ ticks: [4, 5], cols: { cpuPct: [10, 20], memUsedKiB: [1, 2] } });
  assert.deepEqual(cols, [{ t: 4, cpuPct: 10, memUsedKiB: 1 }, { t: 5, cpuPct: 20, memUsedKiB: 2 }]);
  const ns = decodeNodeStats({ cursor: 5, ticks: [4, 5], cols: { cpuPct: [10, 20], memUsedKiB: [100, 200], memTotalKiB: [1000, 1000] } });
  assert.equal(ns.cursor, 5);
  assert.deepEqual(ns.samples.map((s) => s.cpuPct), [10, 20]);
  const vs = decodeVmStats({ cursor: 9, vms: { a: { ticks: [8, 9], cols: { cpuPct: [1, 2], netRxBps: [5, 6] } }, b: [{ cpuPct: 3 }] } });
  assert.equal(vs.cursor, 9);
  assert.deepEqual(vs.samples.map((s) => [s.name, s.cpuPct]), [['a', 1], ['a', 2], ['b', 3]]);
  const rows = decodeVmStats({ cursor: 1, samples: [{ name: 'c', cpuPct: 7 }] });
  assert.equal(rows.samples[0]?.name, 'c');
  const ev = decodeEvents({ cursor: 3, events: [{ seq: 3, kind: 'lifecycle', vm: 'a', source: 'domain', detail: {} }] });
  assert.equal(ev.cursor, 3);
  assert.equal(ev.events[0]?.vm, 'a');
  const job = decodeJob({ id: 'j1', state: 'running', stats: { memTotal: 100, memRemaining: 40, memIteration: 3, memDirtyRate: 7 } });
  assert.equal(job.state, 'running');
  assert.equal(job.memIteration, 3);
  assert.equal(decodeJob({ id: 'j', state: 'completed' }).state, 'completed');
  assert.equal(decodeJob({ id: 'j', state: 'failed', error: 'boom' }).error, 'boom');
  assert.equal(decodeJob({ id: 'j', state: 'cancelled' }).state, 'cancelled');
});

test('the store follows VM lists per node, keeps history, and totals the cluster', () => {
  const s = new ClusterStore();
  let changes = 0;
  s.onChange(() => changes++);
  s.setLink('n1', 'up');
  s.setHost('n1', { hostname: 'h', uri: 'sim://n1', driver: 'Simulated', hypervisorVersion: '', simulated: true, cpus: 8, memoryKiB: 8000, libvirtUp: true });
  s.setLink('n2', 'down');
  s.setVmList('n1', [
    { name: 'a', uuid: '1', state: 'running', vcpus: 2, memKiB: 1000, maxMemKiB: 1000 },
    { name: 'b', uuid: '2', state: 'shutoff', vcpus: 1, memKiB: 500, maxMemKiB: 500 },
  ]);
  assert.equal(s.vms.size, 2);
  assert.equal(s.nodes.get('n1')?.running, 1);
  assert.equal(s.nodes.get('n1')?.vmMemKiB, 1000);
  s.addVmSamples('n1', [{ name: 'a', t: 1, cpuPct: 10, memUsedKiB: 500 }, { name: 'a', t: 2, cpuPct: 30 }, { name: 'zz', t: 2, cpuPct: 1 }]);
  const a = s.vms.get('n1/a');
  assert.equal(a?.cpuPct, 30);
  assert.deepEqual(a?.cpuHist.values(), [10, 30]);
  assert.equal(a?.memPct, 50);
  s.addNodeSamples('n1', [{ t: 1, cpuPct: 40, memUsedKiB: 2000, memTotalKiB: 8000 }]);
  const t = totals(s.nodes.values());
  assert.equal(t.nodes, 2);
  assert.equal(t.nodesUp, 1);
  assert.equal(t.vms, 2);
  assert.equal(t.running, 1);
  assert.equal(t.cpuPct, 40);
  assert.equal(t.simulated, true);
  // a VM migrated away disappears from its old node
  s.setVmList('n1', [{ name: 'b', uuid: '2', state: 'shutoff', vcpus: 1, memKiB: 500, maxMemKiB: 500 }]);
  assert.equal(s.vms.has('n1/a'), false);
  assert.ok(changes >= 6);
});
