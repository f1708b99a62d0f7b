/**
 * The poller's schedule against a real agent (simulated libvirt): what each tick
 * asks, in how many requests, for a node on screen and one off screen, and that
 * events are read once whoever reads them (the long-poll or a tick's request).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { client, type Client } from '../../src/api/client.js';
import type { AgentEvent } from '../../src/api/index.js';
import { startAgent } from '../../src/agent/index.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';
import type { XmlRpcValue } from '../../src/common/xmlrpc/value.js';
import { createSimCluster } from '../../src/libvirt/sim/index.js';
import { ClusterStore } from '../../src/tui/store/store.js';
import { NodePoller } from '../../src/tui/store/poller.js';
import type { Link } from '../../src/tui/store/link.js';

async function simAgent(t: TestContext): Promise<{ c: Client; raw: XmlRpcClient }> {
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 3, seed: 21 });
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

/** Each request as the method names it carries (a multicall's inner ones joined with +). */
function linkOver(name: string, raw: XmlRpcClient, requests: string[]): Link {
  return {
    name,
    state: 'up',
    on: () => undefined,
    call: (m, ...p) => {
      const inner = m === 'system.multicall' ? (p[0] as Array<{ methodName: string }>).map((c) => c.methodName).join('+') : m;
      requests.push(inner);
      return raw.call(m, ...(p as XmlRpcValue[]));
    },
    openConsole: () => Promise.reject(new Error('no console in this test')),
    close: async () => undefined,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('off screen, a node is asked once every infoEvery ticks, node.info, vm.watch, node.stats and its events in one request; on screen again, each tick', async (t) => {
  const { c, raw } = await simAgent(t);
  const store = new ClusterStore();
  const requests: string[] = [];
  let shown = true;
  const events: AgentEvent[] = [];
  const p = new NodePoller(linkOver('n1', raw, requests), store, {
    refreshMs: 60_000,
    infoEvery: 3,
    longPollMs: 150,
    phase: 0,
    watched: () => (shown ? 1 : 10),
    nodeWatched: () => shown,
    onEvents: (ev) => events.push(...ev),
  });
  t.after(() => p.stop());
  await p.refresh(); // tick 1: node.info, the whole inventory and the node's figures
  assert.deepEqual(requests, ['node.info+vm.watch+node.stats']);
  p.start(); // tick 2 at once, tick 3 at its place in the period (phase 0: at once too), and the long-poll
  await sleep(300);
  assert.ok(requests.includes('events.poll'), 'the long-poll runs while the node is on screen');
  shown = false;
  await sleep(400); // the long-poll under way ends; no new one starts
  requests.length = 0;
  await sleep(400);
  assert.equal(requests.length, 0, 'no long-poll while off screen');
  // Every 3 ticks (infoEvery here; 30 by default) one request with everything; the ticks between ask nothing.
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 3; i++) await p.refresh();
    assert.deepEqual(requests.splice(0), ['events.poll+node.info+vm.watch+node.stats'], `round ${round}`);
  }

  // A change while off screen: its event comes with the next of those requests, once; the tick after looks at the inventory again.
  const vm = store.vmsOf('n1').find((v) => v.state === 'running');
  assert.ok(vm, 'the seed has a running VM');
  const seen = events.length;
  await c.vm.suspend(vm.name);
  for (let i = 0; i < 3 && requests.length === 0; i++) await p.refresh();
  assert.deepEqual(requests.splice(0), ['events.poll+node.info+vm.watch+node.stats']);
  const got = events.slice(seen);
  assert.ok(got.some((e) => e.vm === vm.name), `the suspend's event came (${JSON.stringify(got)})`);
  await sleep(250); // the agent's next collection (every 100 ms here) has it
  await p.refresh(); // the inventory asked again after the events (and any event since: every request of an off-screen node has them)
  assert.deepEqual(requests.splice(0), ['events.poll+vm.watch']);
  assert.equal(store.vms.get(vm.key)?.state, 'paused');

  // On screen again: the next tick asks, and the long-poll comes back (without reading the same events twice).
  shown = true;
  await p.refresh();
  assert.deepEqual(requests.filter((r) => r !== 'events.poll'), ['vm.watch+node.stats']);
  await sleep(400);
  assert.ok(requests.includes('events.poll'), 'the long-poll runs again');
  const keys = events.map((e) => e.seq);
  assert.equal(new Set(keys).size, keys.length, 'no event read twice');
});

test('a refresh that comes due while the previous one runs is dropped, not queued', async (t) => {
  const { raw } = await simAgent(t);
  const store = new ClusterStore();
  const requests: string[] = [];
  const p = new NodePoller(linkOver('n1', raw, requests), store, { refreshMs: 60_000, longPollMs: 150, phase: 0 });
  t.after(() => p.stop());
  await Promise.all([p.refresh(), p.refresh(), p.refresh()]);
  assert.equal(p.dropped, 2);
  assert.deepEqual(requests, ['node.info+vm.watch+node.stats'], 'one request went');
});

test("nodes' ticks are spread: each name its own place in the period and among the ticks", () => {
  const store = new ClusterStore();
  const link = (name: string): Link => ({ name, state: 'up', on: () => undefined, call: () => Promise.reject(new Error('not called')), openConsole: () => Promise.reject(new Error('no')), close: async () => undefined });
  const phases = Array.from({ length: 200 }, (_, i) => new NodePoller(link(`node-${String(i + 1).padStart(2, '0')}`), store).o.phase);
  // Where in a 1 s period each node's ticks start (tenths of it), and which of every 30 ticks is its off-screen one.
  const tenths = new Set(phases.map((ph) => Math.floor((ph % 1000) / 100)));
  const slots = new Set(phases.map((ph) => ph % 30));
  assert.equal(tenths.size, 10, 'every tenth of the period has nodes');
  assert.ok(slots.size >= 25, `most of the 30 ticks have an off-screen node (${slots.size})`);
  const perSlot = new Map<number, number>();
  for (const ph of phases) perSlot.set(ph % 30, (perSlot.get(ph % 30) ?? 0) + 1);
  assert.ok(Math.max(...perSlot.values()) <= 20, 'no tick takes a crowd');
});

test('sorted by a figure, a node none of whose VMs is on screen sends its top rankRows rows, one on screen its top topRows', async (t) => {
  const { raw } = await simAgent(t);
  const store = new ClusterStore();
  let period = 1;
  const p = new NodePoller(linkOver('n1', raw, []), store, { refreshMs: 60_000, longPollMs: 150, phase: 0, watched: () => period, sort: () => 'cpu', topRows: 3, rankRows: 1 });
  t.after(() => p.stop());
  await p.refresh(); // the whole inventory, every figure
  const running = store.vmsOf('n1').filter((v) => v.state === 'running');
  assert.ok(running.length >= 2, 'the seed has running VMs');
  const counts = (): number[] => running.map((v) => v.cpuHist.length);
  const grew = (before: number[]): number => counts().filter((n, i) => n > (before[i] ?? 0)).length;
  period = 2; // its VMs feed the ranking only
  await sleep(250); // a new collection
  let before = counts();
  await p.refresh(); // tick 2: due
  assert.equal(grew(before), 1, 'one row (rankRows) while none is on screen');
  period = 1;
  await sleep(250);
  before = counts();
  await p.refresh();
  assert.equal(grew(before), Math.min(3, running.length), 'its top topRows once on screen');
});
