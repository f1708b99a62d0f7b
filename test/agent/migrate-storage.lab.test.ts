// A VM on a local disk migrated between two real lab nodes (QEMU/TCG): n2 cannot see
// n1's qcow2 file; vm.migrate is refused while n2 has no pool at the disk's folder; a
// copy throttled to 1 MiB/s and cancelled leaves the VM running on n1 and no volume on
// n2; a full copy moves the disk (qemu-img on n2 sees a qcow2) and a marker written on
// n1 is read back on n2's console. On code without the storage copy, libvirt refuses
// the move: "Migration without shared storage is unsafe". The balancer's planner, asking
// both nodes' agents (node.migrationStorage), rules n2 out while it has no pool and then
// counts the disk bytes the copy moves (the allocated data, bounded by the capacity:
// here the disk is full, so its 64 MiB, which is also libvirt's diskTotal of the copy).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildGuestImage, guestDomainXml, GUEST_PROMPT, openGuestConsole, requireLab, startLab, waitForPrompt } from '../lab/index.js';
import { cacheRoot } from '../lab/guest-image.js';
import { run } from '../lab/procs.js';
import { connectLibvirt } from '../../src/libvirt/client/index.js';
import { startAgent, type RunningAgent } from '../../src/agent/index.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';
import { waitFor } from './e2e-helpers.js';
import { agentSource } from '../../src/balancer/agent-source.js';
import { planLive, type ClusterSource } from '../../src/balancer/live.js';
import { openDirectLink } from '../../src/link/index.js';

interface Job {
  id: string;
  status: string;
  reason?: string;
  vmStateOnSource?: string;
  progress?: { type?: string; diskTotal?: number; diskProcessed?: number; diskRemaining?: number; memProcessed?: number };
  storage?: { mode: string; created: Array<{ pool: string; volume: string; path?: string }>; removed: Array<{ volume: string }>; leftover: Array<{ volume: string; error: string }>; disks: Array<{ target: string; action: string }> };
}

const MiB = 1024 * 1024;
const IMAGES = '/var/lib/libvirt/images';

/** virtio_blk.ko of the kernel the guest image boots (the lab's image loads only the console and balloon drivers). */
async function virtioBlk(kernel: string, into: string): Promise<string> {
  const size = statSync(kernel).size;
  const root = join(cacheRoot(), 'packages');
  for (const pkg of readdirSync(root).filter((p) => p.startsWith('linux-image-'))) {
    const boot = join(root, pkg, 'boot');
    if (!existsSync(boot) || !readdirSync(boot).some((f) => f.startsWith('vmlinuz-') && statSync(join(boot, f)).size === size)) continue;
    for (const v of readdirSync(join(root, pkg, 'lib', 'modules'))) {
      const dir = join(root, pkg, 'lib', 'modules', v, 'kernel', 'drivers', 'block');
      const f = readdirSync(dir).find((x) => x.startsWith('virtio_blk.ko'));
      if (f === undefined) continue;
      if (f === 'virtio_blk.ko') return join(dir, f);
      const out = join(into, 'virtio_blk.ko');
      await run('sh', ['-c', `${f.endsWith('.xz') ? 'xz' : 'zstd -q'} -dc "$1" > "$2"`, 'sh', join(dir, f), out]);
      return out;
    }
  }
  throw new Error(`no virtio_blk module for ${kernel} under ${root}`);
}

test('a VM on a local qcow2 disk: refused without a pool on the target, a throttled copy cancelled, a full copy with the data read back', { timeout: 420_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'qemu', 'guest']) !== null) return;
  const lab = await startLab({ nodes: 2, name: 'mig-storage' });
  t.after(() => lab.stop());
  const [n1, n2] = lab.nodes;
  assert.ok(n1 && n2);
  const plain = await buildGuestImage();
  const mod = await virtioBlk(plain.kernel, lab.dir);
  const image = await buildGuestImage({ files: [{ guestPath: '/lib/modules/extra/virtio_blk.ko', hostPath: mod }], startup: ['insmod /lib/modules/extra/virtio_blk.ko; mdev -s'] });

  // n1: a dir pool at /var/lib/libvirt/images (its own folder, in its namespace) holding a
  // 64 MiB qcow2 full of random data, so the copy has every byte to move.
  const pool = async (n: typeof n1): Promise<void> => {
    await n.virsh(n.qemuUri, 'pool-define-as', 'images', 'dir', '--target', IMAGES);
    await n.virsh(n.qemuUri, 'pool-build', 'images');
    await n.virsh(n.qemuUri, 'pool-start', 'images');
  };
  await pool(n1);
  const raw = join(lab.dir, 'disk.raw');
  await run('sh', ['-c', `head -c ${64 * MiB} /dev/urandom > "$1"`, 'sh', raw]);
  const n1File = join(n1.dir, 'lib', 'images', 'disk1.qcow2');
  await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, n1File]);
  await n1.virsh(n1.qemuUri, 'pool-refresh', 'images');
  const disk = `    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n      <source file='${IMAGES}/disk1.qcow2'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n`;
  const xml = guestDomainXml({ name: 'store1', kernel: image.kernel, initrd: image.initrd, memoryMiB: 384 }).replace('<devices>\n', `<devices>\n${disk}`);
  const xmlFile = join(lab.dir, 'store1.xml');
  writeFileSync(xmlFile, xml);
  await n1.virsh(n1.qemuUri, 'create', xmlFile);

  const marker = `vem-marker-${process.pid}-${Date.now()}`;
  const con1 = await openGuestConsole(n1.qemuUri, 'store1');
  try {
    await waitForPrompt(con1, new RegExp(GUEST_PROMPT), 90_000);
    assert.match(await con1.command('ls /dev/vda && echo found'), /found/);
    await con1.command(`echo ${marker} > /dev/vda; sync`);
    assert.equal((await con1.command('head -n 1 /dev/vda')).trim(), marker);
  } finally {
    await con1.close();
  }

  const agent: RunningAgent = await startAgent({
    hypervisor: () => connectLibvirt(n1.qemuUnixUri, { timeoutMs: 20_000 }),
    listen: '127.0.0.1:0',
    pollMs: 500,
    auditLog: join(lab.dir, 'audit-n1.jsonl'),
    plugins: false,
  });
  const c = new XmlRpcClient({ url: agent.url, timeoutMs: 60_000 });
  t.after(async () => {
    c.close();
    await agent.close();
  });
  // n2's agent, for the planner only: its pools are what a move there would copy into.
  const agent2: RunningAgent = await startAgent({
    hypervisor: () => connectLibvirt(n2.qemuUnixUri, { timeoutMs: 20_000 }),
    listen: '127.0.0.1:0',
    pollMs: 500,
    auditLog: join(lab.dir, 'audit-n2.jsonl'),
    plugins: false,
  });
  const links = [openDirectLink('n1', agent.url), openDirectLink('n2', agent2.url)];
  t.after(async () => {
    await Promise.all(links.map((l) => l.close()));
    await agent2.close();
  });
  const planner: ClusterSource = agentSource(links, { periodSec: 1, samples: 5, destUri: new Map([['n1', n1.qemuUri], ['n2', n2.qemuUri]]) });
  /** The planner's evacuation of n1, once n1's agent has read store1's definition (its disks) and `ready` holds (agents read pools at most every 10 s). */
  const evacuateN1 = (ready: (r: Awaited<ReturnType<typeof planLive>>) => boolean = () => true) => waitFor('store1\'s disks in the snapshot', async () => {
    const r = await planLive(planner, { evacuate: ['n1'] });
    return r.snapshot.vms.find((v) => v.name === 'store1')?.disks && ready(r) ? r : undefined;
  }, 30_000, 500);
  const job = async (id: string): Promise<Job> => (await c.call('job.get', id)) as unknown as Job;
  const ended = (id: string, ms: number): Promise<Job> => waitFor('the job to end', async () => ((await job(id)).status === 'running' ? undefined : job(id)), ms, 500);
  const n2Volumes = async (): Promise<string> => n2.virsh(n2.qemuUri, 'vol-list', 'images');

  await t.test('n2 cannot see n1\'s disk file', async () => {
    assert.ok(existsSync(n1File));
    await assert.rejects(run('nsenter', ['-t', String(n2.libvirtdPid()), '-m', 'test', '-e', `${IMAGES}/disk1.qcow2`]));
    await run('nsenter', ['-t', String(n1.libvirtdPid()), '-m', 'test', '-e', `${IMAGES}/disk1.qcow2`]);
    assert.doesNotMatch(await n2.virsh(n2.qemuUri, 'pool-list', '--all'), /images/);
  });

  await t.test('refused before anything starts while n2 has no pool at the disk\'s folder', async () => {
    const jobsBefore = ((await c.call('jobs.list')) as unknown as Job[]).length;
    await assert.rejects(c.call('vm.migrate', 'store1', n2.qemuUri), (e: Error) => {
      assert.match(e.message, new RegExp(`${n2.ip.replace(/\./g, '\\.')} has no storage pool at ${IMAGES} for disk vda`));
      assert.match(e.message, /pool-define-as/);
      return true;
    });
    assert.equal(((await c.call('jobs.list')) as unknown as Job[]).length, jobsBefore, 'no job was started');
    assert.match(await n1.virsh(n1.qemuUri, 'domstate', 'store1'), /running/);
  });

  let plannedDisk: number | undefined;
  await t.test('the planner does not plan store1 onto n2 while n2 has no pool at the disk\'s folder, and says why', async () => {
    const r = await evacuateN1();
    assert.deepEqual(r.moves.filter((m) => m.vm === 'store1'), []);
    const left = r.evacuation.remaining.find((x) => x.vm === 'store1');
    assert.equal(left?.code, 'storage', JSON.stringify(r.evacuation));
    assert.match(left?.reason ?? '', new RegExp(`n2 has no storage pool at ${IMAGES} for disk vda`));
  });

  await pool(n2);

  await t.test('with the pool on n2, the planner moves store1 there and counts its 64 MiB of disk, which the copy will move', async (st) => {
    const r = await evacuateN1((x) => x.moves.some((m) => m.vm === 'store1'));
    const m = r.moves.find((x) => x.vm === 'store1');
    assert.ok(m, JSON.stringify(r.evacuation));
    st.diagnostic(`planned: ${JSON.stringify(m)}`);
    assert.equal(m.to, 'n2');
    // The volume as n1's libvirt sizes it: the planner counts min(capacity, allocation) of a single qcow2.
    const info = await n1.virsh(n1.qemuUri, 'vol-info', '--bytes', '--pool', 'images', 'disk1.qcow2');
    const capacity = Number(/Capacity:\s+(\d+)/.exec(info)?.[1]);
    const allocation = Number(/Allocation:\s+(\d+)/.exec(info)?.[1]);
    st.diagnostic(`disk1.qcow2 on n1: capacity ${capacity}, allocation ${allocation}`);
    assert.equal(capacity, 64 * MiB);
    assert.ok(allocation >= capacity, 'random data: every cluster allocated, plus qcow2 metadata');
    assert.equal(m.diskBytes, Math.min(capacity, allocation));
    plannedDisk = m.diskBytes;
    assert.ok(m.estSeconds > 64 / 119, 'the time counts the disk copy');
  });

  await t.test('a copy throttled to 1 MiB/s and cancelled: the VM runs on n1, no volume is left on n2', async (st) => {
    const id = (await c.call('vm.migrate', 'store1', n2.qemuUri, { bandwidthMiBs: 1 })) as string;
    const during = await waitFor('disk bytes copied', async () => {
      const j = await job(id);
      return (j.progress?.diskProcessed ?? 0) > 0 ? j : undefined;
    }, 60_000, 250);
    assert.equal(during.progress?.diskTotal, 64 * MiB, JSON.stringify(during.progress));
    assert.ok((during.progress?.diskProcessed ?? 0) < 64 * MiB);
    assert.equal(during.storage?.mode, 'copy');
    assert.deepEqual(during.storage?.disks.map((d) => [d.target, d.action]), [['vda', 'copy']]);
    assert.match(await n2Volumes(), /disk1\.qcow2/, 'the target volume exists while it copies');
    await c.call('job.cancel', id);
    const end = await ended(id, 60_000);
    st.diagnostic(`cancelled after ${during.progress?.diskProcessed} of ${during.progress?.diskTotal} disk bytes: ${end.reason}`);
    assert.equal(end.status, 'cancelled', JSON.stringify(end));
    assert.equal(end.vmStateOnSource, 'running');
    assert.deepEqual(end.storage?.removed.map((v) => v.volume), ['disk1.qcow2']);
    assert.deepEqual(end.storage?.leftover, []);
    await n2.virsh(n2.qemuUri, 'pool-refresh', 'images');
    assert.doesNotMatch(await n2Volumes(), /disk1\.qcow2/);
    assert.equal(existsSync(join(n2.dir, 'lib', 'images', 'disk1.qcow2')), false);
    assert.match(await n1.virsh(n1.qemuUri, 'domstate', 'store1'), /running/);
    assert.doesNotMatch(await n2.virsh(n2.qemuUri, 'list', '--all', '--name'), /store1/);
  });

  await t.test('a full copy: every disk byte moved, a qcow2 on n2, the marker read back on n2\'s console', async (st) => {
    const id = (await c.call('vm.migrate', 'store1', n2.qemuUri)) as string;
    const end = await ended(id, 180_000);
    assert.equal(end.status, 'completed', JSON.stringify(end));
    st.diagnostic(`progress at the end: ${JSON.stringify(end.progress)}`);
    // libvirt's own final figures (its job-completed event), not the last poll's.
    assert.equal(end.progress?.type, 'completed');
    assert.equal(end.progress?.diskTotal, 64 * MiB);
    assert.equal(end.progress?.diskTotal, plannedDisk, 'the planner counted the bytes libvirt copied');
    assert.equal(end.progress?.diskProcessed, end.progress?.diskTotal);
    assert.deepEqual(end.storage?.created.map((v) => v.volume), ['disk1.qcow2']);
    const n2File = join(n2.dir, 'lib', 'images', 'disk1.qcow2');
    assert.match(await run('qemu-img', ['info', '-U', n2File]), /file format: qcow2/);
    assert.match(await n2.virsh(n2.qemuUri, 'domstate', 'store1'), /running/);
    const con2 = await openGuestConsole(n2.qemuUri, 'store1');
    try {
      await waitForPrompt(con2, new RegExp(GUEST_PROMPT), 30_000);
      assert.equal((await con2.command('head -n 1 /dev/vda')).trim(), marker);
    } finally {
      await con2.close();
    }
  });
});
