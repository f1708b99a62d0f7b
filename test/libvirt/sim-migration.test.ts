/** Simulated hypervisor: live migration between nodes of one cluster, job stats, abort, refusals, job lock. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSimCluster, ManualClock, type SimCluster, type SimHypervisor } from '../../src/libvirt/sim/index.js';
import { ErrorCode, LibvirtError } from '../../src/libvirt/errors.js';
import type { DomainEvent, JobStats } from '../../src/libvirt/hypervisor.js';

const GiB = 1024 ** 3;
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

async function setup(memGiB = 4): Promise<{ c: SimCluster; clock: ManualClock; a: SimHypervisor; b: SimHypervisor }> {
  const clock = new ManualClock();
  const c = createSimCluster({ nodes: 2, vmsPerNode: 4, seed: 21, clock });
  const [a, b] = c.hypervisors;
  if (!a || !b) throw new Error('two nodes');
  await a.defineDomain(
    `<domain type='kvm'><name>mover</name><metadata><vemsim:sim xmlns:vemsim='https://ve-manager.dev/xmlns/sim/1' workload='idle' util='0.5'/></metadata>` +
      `<memory unit='GiB'>${memGiB}</memory><vcpu>4</vcpu><devices><interface type='network'><source network='default'/></interface></devices></domain>`,
  );
  await a.start('mover');
  return { c, clock, a, b };
}

/** Advances time in steps and collects job stats until the migration settles. */
async function drive(clock: ManualClock, hv: SimHypervisor, name: string, stepMs: number, max = 2000): Promise<JobStats[]> {
  const seen: JobStats[] = [];
  for (let i = 0; i < max; i++) {
    clock.advance(stepMs);
    const j = await hv.jobStats(name).catch(() => null);
    if (!j || j.type === 'none') break;
    seen.push(j);
  }
  return seen;
}

test('a live migration takes time from memory size and bandwidth, reports progress, and moves the VM', async () => {
  const { c, clock, a, b } = await setup(4);
  const events: DomainEvent[] = [];
  const sourceEvents: DomainEvent[] = [];
  await b.onDomainEvent((e) => events.push(e));
  await a.onDomainEvent((e) => sourceEvents.push(e));
  const done = a.migrate('mover', 'sim://node-02', { live: true, persistOnTarget: true, undefineSource: true, bandwidthMiBs: 100 });
  const seen = await drive(clock, a, 'mover', 1_000);
  await done;
  // 4 GiB at 100 MiB/s: about 41 s of pre-copy, more with re-sent pages.
  assert.ok(seen.length >= 40 && seen.length <= 60, `${seen.length} s`);
  for (const j of seen) {
    assert.equal(j.type, 'unbounded');
    assert.ok((j.dataProcessed ?? 0) >= 0 && (j.dataRemaining ?? -1) >= 0);
    assert.equal(j.raw['simulated'], true);
  }
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.dataProcessed! >= seen[i - 1]!.dataProcessed!, 'data sent only grows');
  const first = seen[0]!;
  assert.ok(Math.abs(first.dataProcessed! - 100 * 1024 * 1024 * 0.85) < 100 * 1024 * 1024, 'about one second of bandwidth sent');
  assert.ok(first.memIteration === 1 && (first.memDirtyRate ?? 0) > 0 && (first.downtimeMs ?? 0) > 0);
  const last = seen[seen.length - 1]!;
  assert.ok(last.memIteration! >= 2, 'dirty pages were re-sent');
  const completed = await b.jobStats('mover', true);
  assert.equal(completed.type, 'completed');
  assert.ok(completed.dataProcessed! > 4 * GiB, 'more than the memory size was sent');
  assert.ok(completed.downtimeMs! <= 300 + 20);
  assert.equal((await b.domainInfo('mover')).state, 'running');
  await assert.rejects(a.domainInfo('mover'), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.NO_DOMAIN);
  await tick();
  assert.deepEqual(events.filter((e) => e.domain.name === 'mover').map((e) => e.event), ['defined', 'started', 'resumed']);
  const jc = sourceEvents.find((e) => e.kind === 'job-completed');
  assert.ok(jc && jc.domain.name === 'mover' && (jc.stats?.['data_processed'] as number) > 4 * GiB);
  assert.deepEqual(sourceEvents.filter((e) => e.kind === 'lifecycle').map((e) => [e.event, e.detail]), [['stopped', 3], ['undefined', 0]]);
  // Guest state survives: the same simulated guest answers on the new node.
  assert.equal(b.guest('mover').info().hostname, 'mover');
  await c.close();
});

test('a high dirty rate makes remaining data go up between iterations until auto-converge throttles the guest', async () => {
  const { c, clock, a } = await setup(2);
  a.setWorkload('mover', { base: 1, peak: 1, dirtyBpsPerCore: 60 * 1024 * 1024 });
  const done = a.migrate('mover', 'sim://node-02', { bandwidthMiBs: 200 });
  const seen = await drive(clock, a, 'mover', 250);
  await done;
  const remaining = seen.map((j) => j.dataRemaining ?? 0);
  assert.ok(remaining.some((r, i) => i > 0 && r > remaining[i - 1]!), 'remaining went up at least once');
  assert.ok(Math.max(...seen.map((j) => j.memIteration ?? 0)) >= 4);
  assert.ok(seen.some((j) => (j.raw['auto_converge_throttle'] as number) > 0), 'auto-converge throttled the guest');
  await c.close();
});

test('abortJob cancels: the VM keeps running on the source and the target has nothing', async () => {
  const { c, clock, a, b } = await setup(4);
  const done = a.migrate('mover', 'sim://node-02', { bandwidthMiBs: 100, persistOnTarget: true, undefineSource: true });
  clock.advance(5_000);
  const mid = await a.jobStats('mover');
  assert.ok(mid.dataProcessed! > 0);
  // The job lock: lifecycle changes wait for it; bulk stats with nowait skip the VM.
  await assert.rejects(a.suspend('mover'), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.OPERATION_TIMEOUT);
  assert.ok(!(await a.allDomainStats({ nowait: true })).some((s) => s.name === 'mover'));
  await a.abortJob('mover');
  await assert.rejects(done, (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.OPERATION_ABORTED && /canceled by client/.test(e.message));
  assert.equal((await a.domainInfo('mover')).state, 'running');
  await assert.rejects(b.domainInfo('mover'), /Domain not found/);
  assert.equal((await a.jobStats('mover', true)).type, 'cancelled');
  assert.equal((await a.jobStats('mover')).type, 'none');
  await assert.rejects(a.abortJob('mover'), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.OPERATION_INVALID);
  assert.ok((await a.allDomainStats({ nowait: true })).some((s) => s.name === 'mover'));
  await c.close();
});

test('without nowait, bulk stats wait for the migration to finish (like libvirt)', async () => {
  const { c, clock, a } = await setup(1);
  const done = a.migrate('mover', 'sim://node-02', { bandwidthMiBs: 500 });
  let resolved = false;
  const stats = a.allDomainStats().then((s) => {
    resolved = true;
    return s;
  });
  await tick();
  assert.equal(resolved, false, 'waiting for the job lock');
  for (let i = 0; i < 20 && !resolved; i++) {
    clock.advance(500);
    await tick();
  }
  await done;
  const s = await stats;
  assert.equal(resolved, true);
  assert.ok(!s.some((x) => x.name === 'mover' && x.state?.state === 'running'), 'the VM has left the source');
  await c.close();
});

test('the target refuses a VM it cannot hold, an unknown node, the same node, and a VM that is not running', async () => {
  const { c, a, b } = await setup(4);
  const total = (await a.hostInfo()).node.memoryKiB;
  await a.defineDomain(`<domain type='kvm'><name>huge</name><memory unit='KiB'>${total}</memory><vcpu>2</vcpu></domain>`);
  // More than the node has: starting it fails, as QEMU would.
  await assert.rejects(a.start('huge'), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.INTERNAL_ERROR && /Cannot allocate memory/.test(e.message));
  // Fill the target so that less than the VM's 4 GiB is left.
  const left = b.host.spec.memKiB - b.host.committedKiB();
  await b.createDomain(`<domain type='kvm'><name>hog</name><memory unit='KiB'>${left - 2 * 1024 * 1024}</memory><vcpu>1</vcpu></domain>`);
  const refused = await a.migrate('mover', 'sim://node-02', {}).then(() => null, (e: unknown) => e);
  assert.ok(refused instanceof LibvirtError && refused.code === ErrorCode.INTERNAL_ERROR && /sim:\/\/node-02/.test(refused.message), String(refused));
  assert.equal((await a.domainInfo('mover')).state, 'running');
  assert.equal((await a.jobStats('mover')).type, 'none');
  await b.destroy('hog');
  await assert.rejects(a.migrate('mover', 'sim://node-99'), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.OPERATION_FAILED);
  await assert.rejects(a.migrate('mover', 'qemu+ssh://x/system'), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.INVALID_ARG);
  await assert.rejects(a.migrate('mover', 'sim://node-01'), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.OPERATION_INVALID);
  await a.destroy('mover');
  await assert.rejects(a.migrate('mover', 'sim://node-02'), (e: unknown) => e instanceof LibvirtError && e.code === ErrorCode.OPERATION_INVALID);
  // Offline migration moves the definition only.
  await a.migrate('mover', 'sim://node-02', { persistOnTarget: true, undefineSource: true });
  assert.equal((await b.domainInfo('mover')).state, 'shutoff');
  await c.close();
});

test('with a real clock a migration finishes on its own', async () => {
  const c = createSimCluster({ nodes: 2, vmsPerNode: 2, seed: 2, timeScale: 50, pumpMs: 20 });
  const [a, b] = c.hypervisors;
  const vm = (await a!.listDomains({ active: true }))[0]!.name;
  await a!.migrate(vm, 'sim://node-02', { persistOnTarget: true, undefineSource: true });
  assert.equal((await b!.domainInfo(vm)).state, 'running');
  await c.close();
});
