// The dashboard's balancer source reads each reachable node's load from its agent
// (node.stats: host-wide and VM CPU, and the host counters): nodes with the same
// counters share a machine and are judged by their VMs' CPU, as `vem balance` does;
// an agent that fails leaves its node on the store's host-wide history.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterStore } from '../../src/tui/store/store.js';
import { storeSource } from '../../src/tui/commands/balance.js';
import type { CommandCenter } from '../../src/tui/commands/index.js';
import type { XmlRpcValue } from '../../src/common/xmlrpc/value.js';
import { api } from '../../src/api/index.js';

interface Fake {
  busyNs: number;
  idleNs: number;
  cpuPct: number[];
  vmCpuPct: number[];
  fail?: boolean;
}

function stats(f: Fake): XmlRpcValue {
  const n = f.cpuPct.length;
  return {
    cursor: n, intervalMs: 500, t: f.cpuPct.map((_, i) => 1_000_000 + i * 500), cpuPct: f.cpuPct, iowaitPct: new Array<number>(n).fill(0),
    memUsedKiB: new Array<number>(n).fill(1024), memTotalKiB: new Array<number>(n).fill(8 * 1048576), vmsRunning: new Array<number>(n).fill(0),
    vmCpuPct: f.vmCpuPct, collectMs: new Array<number>(n).fill(1),
    latest: { cpu: { kernelNs: f.busyNs, userNs: 0, idleNs: f.idleNs, iowaitNs: 0 }, memory: { totalKiB: 8 * 1048576, freeKiB: 1, buffersKiB: 0, cachedKiB: 0 } },
  };
}

function cluster(fakes: Record<string, Fake>, simulated = false): { store: ClusterStore; cmd: CommandCenter; asked: string[] } {
  const store = new ClusterStore();
  const asked: string[] = [];
  for (const name of Object.keys(fakes)) {
    store.setHost(name, { hostname: name, uri: 'qemu:///system', driver: 'QEMU', hypervisorVersion: '7', simulated, cpus: 2, memoryKiB: 8 * 1048576, libvirtUp: true });
    store.addNodeSamples(name, [97, 98, 99].map((cpuPct, i) => ({ t: i, cpuPct })));
  }
  const link = (name: string): unknown => ({
    name,
    call(method: string): Promise<XmlRpcValue> {
      asked.push(`${name} ${method}`);
      const f = fakes[name] as Fake;
      return f.fail ? Promise.reject(new Error('link down')) : Promise.resolve(stats(f));
    },
  });
  const cmd = { migrations: new Map(), host: { link } } as unknown as CommandCenter;
  return { store, cmd, asked };
}

const S = 1e9;

test('nodes whose agents report one machine\'s counters are judged by their VMs\' CPU; the snapshot names them', async () => {
  const { store, cmd, asked } = cluster({
    n1: { busyNs: 50_000 * S, idleNs: 900_000 * S, cpuPct: [97, 98, 99], vmCpuPct: [40, 45, 50] },
    n2: { busyNs: 50_001 * S, idleNs: 900_000 * S, cpuPct: [96, 98, 99], vmCpuPct: [0, 0, 1] },
  });
  const s = await storeSource(store, cmd, () => 2_000_000).snapshot();
  // node.stats for the load, node.migrationStorage for the move cost (this fake answers it wrongly: disks unknown).
  assert.deepEqual(asked.sort(), [`n1 ${api.node.migrationStorage.name}`, `n1 ${api.node.stats.name}`, `n2 ${api.node.migrationStorage.name}`, `n2 ${api.node.stats.name}`]);
  assert.deepEqual(s.shared, [['n1', 'n2']]);
  assert.deepEqual(s.nodes.find((n) => n.name === 'n1')?.cpuHistory, [0.4, 0.45, 0.5]);
  assert.deepEqual(s.nodes.find((n) => n.name === 'n2')?.cpuHistory, [0, 0, 0.01]);
});

test('separate hosts keep the host-wide CPU (their own non-VM work counts); a failing agent leaves the store\'s history', async () => {
  const { store, cmd } = cluster({
    a: { busyNs: 50_000 * S, idleNs: 900_000 * S, cpuPct: [70, 72], vmCpuPct: [10, 12] },
    b: { busyNs: 90_000 * S, idleNs: 400_000 * S, cpuPct: [20, 30], vmCpuPct: [20, 30] },
    c: { busyNs: 50_000 * S, idleNs: 900_000 * S, cpuPct: [], vmCpuPct: [], fail: true },
  });
  const s = await storeSource(store, cmd, () => 2_000_000).snapshot();
  assert.equal(s.shared, undefined);
  assert.deepEqual(s.nodes.map((n) => [n.name, n.cpuHistory]), [['a', [0.7, 0.72]], ['b', [0.2, 0.3]], ['c', [0.97, 0.98, 0.99]]]);
});

test('simulated nodes are never grouped, whatever their counters say', async () => {
  const same = { busyNs: 10 * S, idleNs: 10 * S, cpuPct: [50], vmCpuPct: [5] };
  const { store, cmd } = cluster({ s1: { ...same }, s2: { ...same } }, true);
  const s = await storeSource(store, cmd, () => 2_000_000).snapshot();
  assert.equal(s.shared, undefined);
  assert.deepEqual(s.nodes.map((n) => n.cpuHistory), [[0.5], [0.5]]);
});
