// Level 1 made visible: a real agent (startAgent over the product's simulated
// hypervisor, XML-RPC on loopback) with one busy VM among idle ones. Once
// balancer.level1.enable is called, every change level 1 applies comes out of
// events.poll as a balancer/level1 event with before -> after and the reason,
// the switch itself is an event, and enable/disable are in the audit log.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSimCluster, type SimHypervisor } from '../../src/libvirt/sim/index.js';
import { startAgent } from '../../src/agent/index.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';

interface Ev { source: string; kind: string; vm?: string; detail: Record<string, unknown> }
type Poll = { cursor: number; events: Ev[] };

test('level-1 adjustments are agent events (before -> after, reason); the switch is audited', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-l1ev-'));
  const sim = createSimCluster({ nodes: 1, vmsPerNode: 5, seed: 3 });
  const hv = sim.hypervisors[0] as SimHypervisor;
  const vms = (await hv.listDomains({ active: true })).map((d) => d.name);
  assert.ok(vms.length >= 3);
  hv.setWorkload(vms[0] as string, { kind: 'idle', base: 1, peak: 1, noise: 0 });
  for (const v of vms.slice(1)) hv.setWorkload(v, { kind: 'idle', base: 0.01, peak: 0.01, noise: 0 });
  const audit = join(dir, 'audit.jsonl');
  const a = await startAgent({ hypervisor: hv, listen: '127.0.0.1:0', pollMs: 200, auditLog: audit});
  const c = new XmlRpcClient({ url: a.url });
  t.after(async () => {
    c.close();
    await a.close();
    sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let cursor = 0;
  const seen: Ev[] = [];
  const pollUntil = async (pred: () => boolean): Promise<void> => {
    for (let i = 0; i < 50 && !pred(); i++) {
      const r = (await c.call('events.poll', cursor, 500)) as unknown as Poll;
      cursor = r.cursor;
      seen.push(...r.events);
    }
  };
  // Before enable: collections run, level 1 changes nothing and says nothing.
  await a.collectNow();
  await a.collectNow();
  const r0 = (await c.call('events.poll', cursor, 0)) as unknown as Poll;
  cursor = r0.cursor;
  assert.equal(r0.events.filter((e) => e.source === 'balancer').length, 0, 'level 1 is off until enabled');

  await c.call('balancer.level1.enable', { memBudgetKiB: 1 });
  await pollUntil(() => seen.some((e) => e.source === 'balancer' && e.kind === 'level1' && e.detail['what'] === 'balloon') && seen.some((e) => e.kind === 'level1' && e.detail['what'] === 'shares'));
  const on = seen.find((e) => e.source === 'balancer' && e.kind === 'level1-on');
  assert.ok(on, `a level1-on event: ${JSON.stringify(seen.map((e) => `${e.source}/${e.kind}`))}`);
  const adj = seen.filter((e) => e.source === 'balancer' && e.kind === 'level1');
  const shares = adj.filter((e) => e.detail['what'] === 'shares');
  assert.ok(shares.length > 0, 'shares adjustments are events');
  const busy = shares.find((e) => e.vm === vms[0]);
  const idle = shares.find((e) => e.vm === vms[1]);
  assert.ok(busy && idle, 'the busy and an idle VM both got new shares');
  assert.ok(Number(busy.detail['after']) > Number(idle.detail['after']), `busy ${String(busy.detail['after'])} > idle ${String(idle.detail['after'])}`);
  assert.equal(typeof busy.detail['before'], 'number', 'the first change still says what libvirt had before');
  assert.notEqual(busy.detail['before'], busy.detail['after']);
  assert.equal(typeof busy.detail['reason'], 'string');
  assert.ok(String(busy.detail['reason']).length > 0);
  // The event's after is what libvirt (here the simulator) now holds.
  assert.equal((await hv.getSchedulerParams(vms[0] as string)).cpuShares, busy.detail['after']);
  const balloon = adj.find((e) => e.detail['what'] === 'balloon');
  assert.ok(balloon && typeof balloon.detail['before'] === 'number' && Number(balloon.detail['after']) < Number(balloon.detail['before']), `a balloon shrink under a 1 KiB budget: ${JSON.stringify(balloon)}`);

  // A tick that decides the same again is not a new adjustment.
  const n = adj.filter((e) => e.detail['what'] === 'shares').length;
  await a.collectNow();
  const again = (await c.call('events.poll', cursor, 300)) as unknown as Poll;
  cursor = again.cursor;
  const repeated = again.events.filter((e) => e.kind === 'level1' && e.detail['what'] === 'shares' && e.vm === vms[0]);
  assert.ok(repeated.length === 0 || repeated.every((e) => e.detail['before'] !== e.detail['after']), `no before == after event (had ${n})`);

  await c.call('balancer.level1.disable');
  const off = (await c.call('events.poll', cursor, 500)) as unknown as Poll;
  assert.ok(off.events.some((e) => e.source === 'balancer' && e.kind === 'level1-off'));
  const lines = readFileSync(audit, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { method?: string });
  assert.ok(lines.some((l) => l.method === 'balancer.level1.enable'), 'enable is in the audit log');
  assert.ok(lines.some((l) => l.method === 'balancer.level1.disable'), 'disable is in the audit log');
});
