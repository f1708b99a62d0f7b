/**
 * events.poll's rank wake, against a real agent over XML-RPC (simulated libvirt in
 * this process, so a VM's load can be turned up while a poll waits): it returns at
 * once when a running VM is already past the mark, as soon as a collection finds
 * one past it, and not at all before its timeout when none passes. The two-argument
 * call of stock clients is unchanged.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { client, type Client } from '../../src/api/client.js';
import { startAgent } from '../../src/agent/index.js';
import { passes } from '../../src/agent/methods/events.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';
import { createSimCluster } from '../../src/libvirt/sim/index.js';

async function quietAgent(t: TestContext): Promise<{ c: Client; busy: (name: string, util: number) => void; names: string[] }> {
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 6, seed: 5 });
  const hv = sim.hypervisors[0];
  assert.ok(hv);
  // Every VM at a steady 2 %: a known top figure.
  const set = (name: string, util: number): void => {
    const d = hv.host.byName.get(name);
    assert.ok(d, name);
    Object.assign(d.workload, { kind: 'idle', base: util, peak: util, noise: 0 });
  };
  const names = [...hv.host.byName.keys()];
  for (const n of names) set(n, 0.02);
  const agent = await startAgent({ hypervisor: hv, listen: '127.0.0.1:0', pollMs: 100 });
  const raw = new XmlRpcClient({ url: agent.url });
  t.after(async () => {
    raw.close();
    await agent.close();
    sim.close();
  });
  await new Promise((r) => setTimeout(r, 400));
  return { c: client(raw), busy: set, names };
}

test('rank wake: at once past the mark, woken by the collection that finds one past it, else only the timeout', async (t) => {
  const { c, busy } = await quietAgent(t);
  const rows = await c.vm.list();
  const running = rows.filter((r) => r.state === 'running');
  assert.ok(running.length >= 2, 'the seed has running VMs');
  const top = Math.max(...running.map((r) => r.cpuPct));
  const { cursor } = await c.events.poll(0, 0);

  // Already past: no wait, even with a long timeout.
  let t0 = Date.now();
  let page = await c.events.poll(cursor, 10_000, { sort: 'cpuPct', above: top / 2 });
  assert.equal(page.ranked, true);
  assert.ok(Date.now() - t0 < 2000, `answered at once (${Date.now() - t0} ms)`);

  // None passes: the timeout, without ranked.
  t0 = Date.now();
  page = await c.events.poll(cursor, 600, { sort: 'cpuPct', above: top * 3 + 1 });
  assert.equal(page.ranked, undefined);
  assert.ok(Date.now() - t0 >= 550, 'waited its timeout');

  // One climbs while the poll waits (no event: only its figures change): the next collections find it.
  const climber = running[0]?.name ?? '';
  t0 = Date.now();
  const waiting = c.events.poll(cursor, 20_000, { sort: 'cpuPct', above: top * 3 + 1 });
  setTimeout(() => busy(climber, 0.9), 300);
  page = await waiting;
  const took = Date.now() - t0;
  assert.equal(page.ranked, true, 'woken by the climb');
  assert.equal(page.events.length, 0, 'by the figure, not by an event');
  assert.ok(took < 10_000, `long before the timeout (${took} ms)`);
  const after = (await c.vm.list()).find((r) => r.name === climber);
  assert.ok(after && after.cpuPct > top * 3 + 1, `the climber passed the mark (${after?.cpuPct} > ${top * 3 + 1})`);

  // Memory as a fraction, byte rates: the other columns take a wake too.
  page = await c.events.poll(cursor, 0, { sort: 'memPct', above: 2 });
  assert.equal(page.ranked, undefined, 'no VM uses twice its memory');

  // A stock two-argument call is as before.
  page = await c.events.poll(cursor, 0);
  assert.equal(page.ranked, undefined);
});

test('rank wake: a figure that travelled as float32 does not pass its own mark', () => {
  const v = 37.37;
  const f32 = Math.fround(v);
  assert.equal(passes(v, f32), false);
  assert.equal(passes(v, Math.fround(v - 0.01)), true);
  assert.equal(passes(1_500_000_000, Math.fround(1_500_000_000)), false);
  assert.equal(passes(0, -1), true, 'a real zero passes an unknown figure');
});
