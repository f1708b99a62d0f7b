import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { client, WireShapeError, type Client } from '../../src/api/client.js';
import type { VmRow } from '../../src/api/index.js';
import { startAgent } from '../../src/agent/index.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';
import { FaultCode, XmlRpcFault } from '../../src/common/xmlrpc/codec.js';
import { createSimCluster } from '../../src/libvirt/sim/index.js';
import { ClusterStore } from '../../src/tui/store/store.js';
import { NodePoller } from '../../src/tui/store/poller.js';
import type { Link } from '../../src/tui/store/link.js';
import { Ring } from '../../src/tui/store/ring.js';
import { totals } from '../../src/tui/store/model.js';
import { decodeEvents, decodeJob, decodeNodeInfo, decodeNodeStats, decodeVmList, decodeVmStats } from '../../src/tui/store/decode.js';

test('ring keeps the newest values in order', () => {
  const r = new Ring(3);
  assert.equal(r.last(), undefined);
  for (const v of [1, 2, 3, 4, 5]) r.push(v);
  assert.deepEqual(r.values(), [3, 4, 5]);
  assert.deepEqual(r.values(2), [4, 5]);
  assert.equal(r.last(), 5);
  assert.equal(r.length, 3);
});

/** A real agent over a 2-node simulated cluster, called through the typed client; ends with the test. */
async function simAgent(t: TestContext): Promise<{ c: Client; raw: XmlRpcClient }> {
  const sim = createSimCluster({ nodes: 2, vmsPerNode: 3, seed: 21, timeScale: 20 }); // a migration takes a fraction of a second
  const agent = await startAgent({ hypervisor: sim.hypervisors[0] as NonNullable<(typeof sim.hypervisors)[0]>, listen: '127.0.0.1:0', pollMs: 100 });
  const raw = new XmlRpcClient({ url: agent.url });
  t.after(async () => {
    raw.close();
    await agent.close();
    sim.close();
  });
  await new Promise((r) => setTimeout(r, 250));
  await agent.collectNow();
  return { c: client(raw), raw };
}

test('decoders read real node.info, vm.list, node.stats and vm.stats answers', async (t) => {
  const { c } = await simAgent(t);
  const info = await c.node.info();
  const host = decodeNodeInfo(info);
  assert.equal(host.simulated, true);
  assert.equal(host.cpus, info.node?.cpus);
  assert.equal(host.libvirtUp, true);
  assert.equal(decodeNodeInfo({ ...info, libvirt: { ...info.libvirt, up: false } }).libvirtUp, false);
  const rows = await c.vm.list();
  const vms = decodeVmList(rows);
  assert.deepEqual(vms.map((v) => v.name), rows.map((r) => r.name));
  const first = rows[0] as VmRow;
  assert.equal(vms[0]?.sample?.cpuPct, first.cpuPct);
  assert.equal(vms[0]?.sample?.t, first.seenAt);
  assert.equal(vms[0]?.sample?.memUsedKiB, first.memUsedKiB);
  const ns = await c.node.stats(0);
  const page = decodeNodeStats(ns);
  assert.equal(page.cursor, ns.cursor);
  assert.deepEqual(page.samples.map((s) => s.cpuPct), ns.cpuPct);
  assert.deepEqual(page.samples.map((s) => s.t), ns.t);
  const vs = await c.vm.stats(first.name, 0);
  const vp = decodeVmStats(vs);
  assert.ok(vp.samples.length > 0);
  assert.deepEqual(vp.samples.map((s) => [s.name, s.netRxBps]), vs.t.map((_, i) => [first.name, vs.netRxBps?.[i]]));
});

test("an event's detail is the agent's struct, not text (it was read as a string and lost)", async (t) => {
  const { c } = await simAgent(t);
  const vm = (await c.vm.list())[0]?.name as string;
  await c.vm.suspend(vm);
  const page = await c.events.poll(0, 0);
  const ev = decodeEvents(page);
  const suspended = ev.events.find((e) => e.source === 'vm' && e.kind === 'suspend');
  assert.ok(suspended, 'the change made through the agent is an event');
  const up = ev.events.find((e) => e.source === 'libvirt' && e.kind === 'up');
  assert.deepEqual(up?.detail, { uri: 'sim://node-01' });
  assert.deepEqual(ev.events.map((e) => e.detail), page.events.map((e) => e.detail));
});

test('decodeJob reads a real migration job and refuses a shape the agent never sends', async (t) => {
  const { c, raw } = await simAgent(t);
  const vm = (await c.vm.list())[0]?.name as string;
  const id = await c.vm.migrate(vm, 'sim://node-02');
  const job = decodeJob(await raw.call('job.get', id));
  assert.equal(job.id, id);
  assert.ok(['running', 'completed'].includes(job.state));
  let end = job;
  for (let i = 0; i < 200 && end.state === 'running'; i++) {
    await new Promise((r) => setTimeout(r, 50));
    end = decodeJob(await raw.call('job.get', id));
  }
  assert.equal(end.state, 'completed');
  // The invented shape the old decoder accepted ({state, stats}) is now an error naming the field.
  assert.throws(() => decodeJob({ id: 'j1', state: 'running', stats: { memTotal: 100 } }), (e: unknown) => e instanceof WireShapeError && e.method === 'job.get' && e.problems.includes('result.status: missing'));
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
  // A paused VM holds its memory and vCPUs but is not counted as running (the header said 31/40 running with paused ones in).
  s.setVmList('n1', [
    { name: 'a', uuid: '1', state: 'running', vcpus: 2, memKiB: 1000, maxMemKiB: 1000 },
    { name: 'b', uuid: '2', state: 'shutoff', vcpus: 1, memKiB: 500, maxMemKiB: 500 },
    { name: 'p', uuid: '3', state: 'paused', vcpus: 1, memKiB: 300, maxMemKiB: 300 },
  ]);
  assert.equal(s.nodes.get('n1')?.running, 1, 'paused is not running');
  assert.equal(s.nodes.get('n1')?.vmMemKiB, 1300, 'but its memory is committed');
  s.setVmList('n1', [
    { name: 'a', uuid: '1', state: 'running', vcpus: 2, memKiB: 1000, maxMemKiB: 1000 },
    { name: 'b', uuid: '2', state: 'shutoff', vcpus: 1, memKiB: 500, maxMemKiB: 500 },
  ]);
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

/** The part of a node link the poller uses, over a real XML-RPC client. */
function linkOver(name: string, raw: XmlRpcClient, calls: string[]): Link {
  return {
    name,
    state: 'up',
    on: () => undefined,
    call: (m, ...p) => {
      calls.push(m);
      return raw.call(m, ...p);
    },
    openConsole: () => Promise.reject(new Error('no console in this test')),
    close: async () => undefined,
  };
}

test('the poller follows a node with vm.watch: all figures when on screen, only the top rows for a ranking, changes as they happen', async (t) => {
  const { c, raw } = await simAgent(t);
  const store = new ClusterStore();
  const calls: string[] = [];
  let period = 1;
  let sort = 'name';
  const p = new NodePoller(linkOver('n1', raw, calls), store, { refreshMs: 60_000, watched: () => period, sort: () => sort, topRows: 1, longPollMs: 200, phase: 0 });
  t.after(() => p.stop());
  await p.refresh();
  assert.equal(store.vms.size, 3);
  assert.ok(!calls.includes('vm.list'), 'the dashboard no longer reads vm.list');
  const rows = (await c.vm.list()).filter((r) => r.state === 'running');
  assert.ok(rows.length >= 2, 'the seed has running VMs');
  for (const r of rows) assert.equal(store.vms.get(`n1/${r.name}`)?.cpuHist.length, 1, `${r.name} got its figures`);

  // Ranked by CPU and off screen: only the node's top row gets new figures.
  period = 2;
  sort = 'cpu';
  await new Promise((r) => setTimeout(r, 250));
  await p.refresh(); // tick 2: due (period 2)
  const hist = rows.map((r) => store.vms.get(`n1/${r.name}`)?.cpuHist.length ?? 0);
  assert.equal(hist.filter((n) => n === 2).length, 1, `one VM refreshed, got ${hist}`);

  // A change made elsewhere shows after the event, without a full list.
  const vm = rows[0]?.name as string;
  await c.vm.suspend(vm);
  await new Promise((r) => setTimeout(r, 250));
  p.invalidate(false);
  await p.refresh();
  assert.equal(store.vms.get(`n1/${vm}`)?.state, 'paused');
});

test('a tick asks vm.watch and node.stats in one request (system.multicall); an agent that refuses multicall gets the two calls', async (t) => {
  const { raw } = await simAgent(t);
  const store = new ClusterStore();
  const calls: string[] = [];
  const p = new NodePoller(linkOver('n1', raw, calls), store, { refreshMs: 60_000, longPollMs: 200 });
  t.after(() => p.stop());
  await p.refresh(); // node.info, then the first watch and stats
  calls.length = 0;
  await new Promise((r) => setTimeout(r, 250));
  await p.refresh();
  assert.deepEqual(calls, ['system.multicall'], 'one request for the tick');
  assert.equal(store.vms.size, 3);
  assert.ok((store.nodes.get('n1')?.cpuHist.length ?? 0) > 0, 'the node figures came in the same request');
  const running = [...store.vms.values()].filter((v) => v.state === 'running');
  assert.ok(running.length > 0 && running.every((v) => v.cpuHist.length >= 1), 'and the VM figures');

  // An agent without multicall: refused once, then the two calls each tick, and the figures still come.
  const old = new ClusterStore();
  const oldCalls: string[] = [];
  const refusing = linkOver('n2', raw, oldCalls);
  const through = refusing.call.bind(refusing);
  refusing.call = (m, ...params) => (m === 'system.multicall' ? Promise.reject(new XmlRpcFault(FaultCode.METHOD_NOT_FOUND, `unknown method '${m}'`)) : through(m, ...params));
  const q = new NodePoller(refusing, old, { refreshMs: 60_000, longPollMs: 200 });
  t.after(() => q.stop());
  await q.refresh();
  await new Promise((r) => setTimeout(r, 250));
  oldCalls.length = 0;
  await q.refresh();
  assert.deepEqual(oldCalls.sort(), ['node.stats', 'vm.watch']);
  assert.equal(old.vms.size, 3);
  assert.equal(old.nodes.get('n2')?.error, undefined, 'no error shown for the refusal');
});
