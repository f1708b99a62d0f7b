// vm.watch on a real agent over the simulated hypervisor: inventory changes since a
// version, packed live figures that match vm.list, the top rows by a column, and a
// full answer when the client's version cannot be served.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { client } from '../../src/api/client.js';
import { unpackFloat32, unpackInt32 } from '../../src/api/packed.js';
import type { WatchAnswer } from '../../src/api/index.js';
import { startAgent } from '../../src/agent/index.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';
import { createSimCluster } from '../../src/libvirt/sim/index.js';

function figures(a: WatchAnswer): Map<number, { cpuPct: number; netRxBps: number }> {
  const keys = unpackInt32(a.live.keys);
  const cpu = unpackFloat32(a.live.cpuPct);
  const rx = unpackFloat32(a.live.netRxBps);
  assert.equal(cpu.length, keys.length);
  return new Map([...keys].map((k, i) => [k, { cpuPct: cpu[i] as number, netRxBps: rx[i] as number }]));
}

test('vm.watch: changes since a version, figures of the shown VMs, top rows by a column', async (t) => {
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 12, seed: 5 });
  // Collections only when the test asks (collectNow), so vm.list and vm.watch read the same one.
  const agent = await startAgent({ hypervisor: sim.hypervisors[0] as NonNullable<(typeof sim.hypervisors)[0]>, listen: '127.0.0.1:0', pollMs: 600_000 });
  const rpc = new XmlRpcClient({ url: agent.url });
  t.after(async () => {
    rpc.close();
    await agent.close();
    sim.close();
  });
  const c = client(rpc);
  await new Promise((r) => setTimeout(r, 300));
  await agent.collectNow();

  const first = await c.vm.watch(0);
  assert.equal(first.full, true);
  assert.equal(first.added.length, 12);
  assert.equal(first.vmsTotal, 12);
  assert.equal(unpackInt32(first.live.keys).length, 0, 'no view: no figures');
  const byName = new Map(first.added.map((i) => [i.name, i]));

  // Nothing changed: nothing sent but the version.
  const same = await c.vm.watch(first.version);
  assert.deepEqual([same.full, same.added, same.changed, same.removed], [false, [], [], []]);

  // A state change and a removal arrive as changes, not as the whole list.
  const names = [...byName.keys()].sort();
  const [a, b] = names as [string, string];
  await c.vm.suspend(a);
  await c.vm.destroy(b);
  await c.vm.undefine(b);
  // The collector keeps a VM it no longer sees for 3 collections (a libvirt hiccup is not a removal).
  for (let i = 0; i < 5; i++) await agent.collectNow();
  const next = await c.vm.watch(first.version);
  assert.equal(next.full, false);
  assert.deepEqual(next.changed.map((i) => [i.name, i.state]), [[a, 'paused']]);
  assert.equal(next.changed[0]?.key, byName.get(a)?.key, 'a VM keeps its key');
  assert.deepEqual(next.removed, [b]);
  assert.ok(next.version > first.version);

  // Figures: every VM of the node, packed, equal to what vm.list says of the same collection.
  const list = await c.vm.list();
  const all = await c.vm.watch(next.version, { all: true });
  const f = figures(all);
  const running = list.filter((r) => r.state !== 'shutoff');
  assert.equal(f.size, list.length, 'every VM of the node, stopped ones too');
  for (const r of running) {
    const got = f.get(byName.get(r.name)?.key ?? -1);
    assert.ok(got, `${r.name} has figures`);
    assert.ok(Math.abs(got.cpuPct - r.cpuPct) < 1e-3 * Math.max(1, r.cpuPct), `${r.name} cpuPct ${got.cpuPct} vs ${r.cpuPct}`);
    assert.ok(Math.abs(got.netRxBps - (r.netRxBps ?? 0)) <= 1e-6 * (r.netRxBps ?? 0) + 1, `${r.name} netRxBps`);
  }

  // The top 3 by CPU, best first, and only them.
  const top = await c.vm.watch(next.version, { sort: 'cpuPct', top: 3 });
  const want = running.sort((x, y) => y.cpuPct - x.cpuPct).slice(0, 3).map((r) => byName.get(r.name)?.key);
  assert.deepEqual(top.top, want);
  assert.deepEqual([...figures(top).keys()].sort(), [...want].sort());

  // A version from elsewhere (another agent start, or the future) gets everything again.
  const again = await c.vm.watch(next.version + 1000);
  assert.equal(again.full, true);
  assert.equal(again.added.length, 11);
});

test('storage.volumes and network.list say which VMs use each volume and network', async (t) => {
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 3, seed: 5 });
  const agent = await startAgent({ hypervisor: sim.hypervisors[0] as NonNullable<(typeof sim.hypervisors)[0]>, listen: '127.0.0.1:0', pollMs: 100 });
  const rpc = new XmlRpcClient({ url: agent.url });
  t.after(async () => {
    rpc.close();
    await agent.close();
    sim.close();
  });
  const c = client(rpc);
  for (let i = 0; i < 20 && agent.core.domains.entries.size < 3; i++) {
    await agent.collectNow();
    await new Promise((r) => setTimeout(r, 100));
  }
  const vms = (await c.vm.list()).map((v) => v.name);
  const users = new Map<string, string[]>();
  for (const p of await c.storage.pools()) for (const v of await c.storage.volumes(p.name)) users.set(v.path, v.usedBy ?? []);
  for (const vm of vms) {
    const disks = (await c.vm.info(vm)).xml?.disks.filter((d) => d.device === 'disk') ?? [];
    for (const d of disks) assert.deepEqual(users.get(d.source ?? '')?.includes(vm), true, `${vm} uses ${d.source}`);
  }
  const nets = await c.network.list();
  const dflt = nets.find((n) => n.name === 'default');
  const onDefault = [];
  for (const vm of vms) if ((await c.vm.info(vm)).xml?.interfaces.some((i) => i.type === 'network' && i.source === 'default')) onDefault.push(vm);
  assert.deepEqual(dflt?.usedBy, onDefault.sort());
});
