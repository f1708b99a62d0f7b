// An agent restarted during a migration adopts it: the same job id in job.get with
// libvirt's progress, job.cancel still works and the VM stays where it was, and a
// migration that ended while no agent ran is reported with its outcome. In-process
// restarts over the SIMULATED hypervisor (its clock held, so the migration waits);
// the real-libvirt version is the lab's to add (see the README's fault section).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSimCluster, ManualClock } from '../../src/libvirt/sim/index.js';
import { startAgent, type RunningAgent } from '../../src/agent/index.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';

interface JobWire {
  id: string;
  status: string;
  adopted?: boolean;
  dest: string;
  caller: string;
  vmStateOnSource?: string;
  reason?: string;
  progress?: { type: string; memTotal?: number };
}

test('agent restarted mid-migration: adopts it under its id, cancel works, the VM stays; one that ended while down is reported completed; a corrupt jobs file is a message', async (t) => {
  const clock = new ManualClock();
  const sim = createSimCluster({ nodes: 2, vmsPerNode: 3, seed: 23, clock });
  const [hvA, hvB] = sim.hypervisors;
  assert.ok(hvA && hvB);
  const dir = mkdtempSync(join(tmpdir(), 'vem-adopt-'));
  const auditLog = join(dir, 'audit.log');
  const open: Array<{ a: RunningAgent; c: XmlRpcClient }> = [];
  const start = async (): Promise<XmlRpcClient> => {
    const a = await startAgent({ hypervisor: hvA, listen: '127.0.0.1:0', pollMs: 60_000, auditLog });
    const c = new XmlRpcClient({ url: a.url });
    open.push({ a, c });
    return c;
  };
  const stop = async (): Promise<void> => {
    const x = open.pop();
    x?.c.close();
    await x?.a.close();
  };
  t.after(async () => {
    while (open.length) await stop();
    sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let c = await start();
  const running = ((await c.call('vm.list')) as Array<{ name: string; state: string }>).filter((v) => v.state === 'running').map((v) => v.name);
  assert.ok(running.length >= 2, 'two running VMs');
  const [vm1, vm2] = running as [string, string];
  const id1 = (await c.call('vm.migrate', vm1, 'sim://node-02', { bandwidthMiBs: 1 })) as string;
  clock.advance(1000);
  await stop(); // the agent goes away; libvirt's job goes on

  c = await start();
  const j = (await c.call('job.get', id1)) as unknown as JobWire;
  assert.equal(j.status, 'running');
  assert.equal(j.adopted, true);
  assert.equal(j.dest, 'sim://node-02');
  assert.match(j.caller, /^tcp:127\.0\.0\.1:\d+$/, 'who started it survives the restart');
  assert.ok(j.progress && j.progress.type !== 'none' && (j.progress.memTotal ?? 0) > 0, `libvirt's progress: ${JSON.stringify(j.progress)}`);
  assert.ok(((await c.call('jobs.list')) as unknown as JobWire[]).some((x) => x.id === id1));
  await c.call('job.cancel', id1);
  let end = j;
  for (let i = 0; i < 100 && end.status === 'running'; i++) {
    clock.advance(200);
    await new Promise((r) => setTimeout(r, 1100 / 10));
    end = (await c.call('job.get', id1)) as unknown as JobWire;
  }
  assert.equal(end.status, 'cancelled', JSON.stringify(end));
  assert.equal(end.vmStateOnSource, 'running');
  assert.equal(((await c.call('vm.info', vm1)) as { state: string }).state, 'running', 'a failed migration leaves the VM where it was');
  assert.equal(await hvB.domainInfo(vm1).then(() => 'there', () => 'absent'), 'absent');

  // A migration that completes while no agent runs.
  const id2 = (await c.call('vm.migrate', vm2, 'sim://node-02', { bandwidthMiBs: 1000 })) as string;
  await stop();
  for (let i = 0; i < 2000 && (await hvA.jobStats(vm2).then((s) => s.type !== 'none', () => false)); i++) clock.advance(500);
  assert.equal((await hvB.domainInfo(vm2)).state, 'running', 'it moved');
  c = await start();
  const done = (await c.call('job.get', id2)) as unknown as JobWire;
  assert.equal(done.status, 'completed', JSON.stringify(done));
  assert.equal(done.adopted, true);

  // Every job end has its audit record, the adopted ones marked.
  const lines = readFileSync(auditLog, 'utf8').trim().split('\n').map((x) => JSON.parse(x) as { method?: string; args?: unknown[]; result?: { status?: string; fault?: { message: string } } });
  const ends = lines.filter((x) => x.method === 'job:migrate').map((x) => [x.args?.[0], x.args?.[3], x.result?.status ?? x.result?.fault?.message.split(':')[0]]);
  assert.deepEqual(ends, [[id1, 'adopted after a restart', 'cancelled'], [id2, 'adopted after a restart', 'completed']]);

  // A corrupt jobs file: the agent starts, says so, and runs.
  await stop();
  writeFileSync(`${auditLog}.jobs`, '{"version": 1, "jobs": [tor');
  c = await start();
  const ev = (await c.call('events.poll', 0, 0)) as { events: Array<{ source: string; kind: string; detail: { message?: string } }> };
  assert.ok(ev.events.some((e) => e.source === 'job' && e.kind === 'file-unreadable' && /unreadable/.test(e.detail.message ?? '')), JSON.stringify(ev.events.slice(0, 5)));
});
