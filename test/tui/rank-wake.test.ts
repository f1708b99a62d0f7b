/**
 * The dashboard's side of the rank wake: which figure a node none of whose rows is
 * on screen waits for (pure), and a poller against a real agent (simulated libvirt)
 * that holds its long-poll with that mark and asks the node's top rows once the agent
 * says a VM passed it, instead of every few ticks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent } from '../../src/agent/index.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';
import type { XmlRpcValue } from '../../src/common/xmlrpc/value.js';
import { createSimCluster } from '../../src/libvirt/sim/index.js';
import { newVm, type VmRecord } from '../../src/tui/store/model.js';
import { rankWake, wireFigure } from '../../src/tui/store/rank-wake.js';
import { ClusterStore } from '../../src/tui/store/store.js';
import { NodePoller } from '../../src/tui/store/poller.js';
import type { Link } from '../../src/tui/store/link.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function vm(name: string, f: Partial<VmRecord>): VmRecord {
  return Object.assign(newVm('n1', name), f);
}

test("a record's figure in vm.watch's units: memory as a fraction, byte rates summed, unknown below zero", () => {
  const a = vm('a', { cpuPct: 12.5, memPct: 40, diskRdBps: 100, diskWrBps: 50, netRxBps: 7 });
  assert.equal(wireFigure(a, 'cpuPct'), 12.5);
  assert.equal(wireFigure(a, 'memPct'), 0.4);
  assert.equal(wireFigure(a, 'diskBps'), 150);
  assert.equal(wireFigure(a, 'netBps'), 7);
  assert.equal(wireFigure(vm('b', {}), 'cpuPct'), -1);
  assert.equal(wireFigure(vm('b', {}), 'diskBps'), -1);
});

test("the wake is above the screen's last row and above anything held of the node", () => {
  const mark = vm('m', { cpuPct: 30 });
  assert.deepEqual(rankWake('cpuPct', mark, [vm('a', { cpuPct: 5 }), vm('b', { cpuPct: 12 })]), { sort: 'cpuPct', above: 30 });
  // A VM held at 55 but not shown (filtered out): waking at 30 would answer at every collection.
  assert.deepEqual(rankWake('cpuPct', mark, [vm('a', { cpuPct: 55 })]), { sort: 'cpuPct', above: 55 });
  assert.equal(rankWake('cpuPct', vm('m', { cpuPct: Infinity }), []), undefined, 'no finite mark, no wake');
});

test('a node none of whose rows is shown waits with the mark and is asked for its top rows when a VM passes it', async (t) => {
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 6, seed: 5 });
  const hv = sim.hypervisors[0];
  assert.ok(hv);
  const set = (name: string, util: number): void => {
    Object.assign(hv.host.byName.get(name)?.workload ?? {}, { kind: 'idle', base: util, peak: util, noise: 0 });
  };
  for (const name of hv.host.byName.keys()) set(name, 0.02);
  const agent = await startAgent({ hypervisor: hv, listen: '127.0.0.1:0', pollMs: 100 });
  const raw = new XmlRpcClient({ url: agent.url });
  t.after(async () => {
    raw.close();
    await agent.close();
    sim.close();
  });
  await sleep(400);
  const requests: string[] = [];
  const wakes: XmlRpcValue[] = [];
  const link: Link = {
    name: 'n1',
    state: 'up',
    on: () => undefined,
    call: (m, ...p) => {
      requests.push(m === 'system.multicall' ? (p[0] as Array<{ methodName: string }>).map((c) => c.methodName).join('+') : m);
      if (m === 'events.poll') wakes.push(p[2] as XmlRpcValue);
      return raw.call(m, ...(p as XmlRpcValue[]));
    },
    openConsole: () => Promise.reject(new Error('no console in this test')),
    close: async () => undefined,
  };
  const store = new ClusterStore();
  // The screen's last row belongs to another node, at 1 % of its host (this node's VMs idle at 2 % of a vCPU each; one busy vCPU is several %).
  const MARK = 1;
  const mark = vm('elsewhere', { node: 'n0', cpuPct: MARK });
  const p = new NodePoller(link, store, { refreshMs: 60_000, longPollMs: 20_000, phase: 0, watched: () => 10, nodeWatched: () => false, sort: () => 'cpu', rankMark: () => mark, rankRows: 2 });
  t.after(() => p.stop());
  await p.refresh(); // the whole inventory first
  const running = store.vmsOf('n1').filter((v) => v.state === 'running');
  assert.ok(running.length >= 2 && running.every((v) => (v.cpuPct ?? 0) < MARK), 'every VM below the mark');
  p.start();
  await sleep(600);
  requests.length = 0;
  await sleep(1500);
  assert.equal(requests.join(', '), '', 'below the mark and off its ticks: nothing is asked (the long-poll is held)');
  assert.deepEqual(wakes.at(-1), { sort: 'cpuPct', above: MARK }, 'the held long-poll carries the mark');

  const climber = running[0];
  assert.ok(climber);
  set(climber.name, 1);
  const t0 = Date.now();
  while (Date.now() - t0 < 10_000 && !((store.vms.get(climber.key)?.cpuPct ?? 0) > MARK)) await sleep(50);
  assert.ok((store.vms.get(climber.key)?.cpuPct ?? 0) > MARK, `the climber's figure reached the store (${store.vms.get(climber.key)?.cpuPct})`);
  assert.ok(requests.some((r) => r.includes('vm.watch')), `its top rows were asked (${requests.join(', ')})`);
  await sleep(500);
  // The next wait is above what the store now holds of the node: no answer at every collection.
  const last = wakes.at(-1) as { above: number };
  assert.ok(last.above > MARK, `the next wake is above the climber (${JSON.stringify(last)})`);
  const n = requests.length;
  await sleep(1000);
  assert.ok(requests.length - n <= 2, `no storm of wakes (${requests.slice(n).join(', ')})`);
});
