// vm.clone through the agent over a real libvirtd with the QEMU driver (a lab node): a running
// VM is refused, a stopped one is copied (its data really copied, checked on disk), the clone
// has new MACs and its own volumes as virsh sees them, starts, and the source is unchanged.
// A cancelled clone removes what it made.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildGuestImage, guestDomainXml, requireLab, startLab } from '../lab/index.js';
import { connectLibvirt } from '../../src/libvirt/client/index.js';
import { startAgent } from '../../src/agent/index.js';
import { XmlRpcClient, XmlRpcFault } from '../../src/common/xmlrpc/index.js';
import { waitFor } from './e2e-helpers.js';

interface CloneJob {
  status: string;
  reason?: string;
  clone: { name: string; volumes: Array<{ target: string; to: string; done: boolean }>; shared: string[]; macs: Array<{ from: string; to: string }> };
  progress: { percent: number };
}

test('vm.clone on a lab node: refused while running, then a real copy with new MACs that starts; a cancelled clone leaves nothing', { timeout: 180_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'qemu', 'guest']) !== null) return;
  const image = await buildGuestImage();
  const lab = await startLab({ nodes: 1, name: 'agent-clone' });
  t.after(() => lab.stop());
  const [n1] = lab.nodes;
  assert.ok(n1);
  const uri = n1.qemuUri;
  const poolDir = join(n1.dir, 'pool-clone');
  mkdirSync(poolDir, { recursive: true });
  await n1.virsh(uri, 'pool-define-as', 'clonelab', 'dir', '--target', poolDir);
  await n1.virsh(uri, 'pool-start', 'clonelab');
  await n1.virsh(uri, 'vol-create-as', 'clonelab', 'cl-src.img', '768M', '--format', 'raw');
  await n1.virsh(uri, 'vol-create-as', 'clonelab', 'data.img', '2M', '--format', 'raw');
  // A mark in the data disk, to see that the copy holds the source's bytes.
  const mark = `vem-clone-${randomBytes(6).toString('hex')}`;
  const fd = openSync(join(poolDir, 'data.img'), 'r+');
  writeSync(fd, mark, 4096);
  closeSync(fd);

  const disks =
    `    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${poolDir}/cl-src.img'/><target dev='vda' bus='virtio'/></disk>\n` +
    `    <disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='clonelab' volume='data.img'/><target dev='vdb' bus='virtio'/></disk>\n` +
    `    <interface type='user'><mac address='52:54:00:0c:10:01'/><model type='virtio'/></interface>\n`;
  const xml = guestDomainXml({ name: 'cl-src', kernel: image.kernel, initrd: image.initrd, memoryMiB: 256 }).replace('  </devices>', `${disks}  </devices>`);
  const token = randomBytes(24).toString('hex');
  const agent = await startAgent({ hypervisor: () => connectLibvirt(n1.qemuUnixUri, { timeoutMs: 20_000 }), listen: '127.0.0.1:0', token, pollMs: 500, plugins: false, auditLog: join(lab.dir, 'audit.jsonl') });
  t.after(() => agent.close());
  const c = new XmlRpcClient({ url: agent.url, token, timeoutMs: 60_000 });
  t.after(() => c.close());
  await c.call('vm.define', xml);
  const sourceXml = await n1.virsh(uri, 'dumpxml', '--inactive', 'cl-src');

  await c.call('vm.start', 'cl-src');
  await assert.rejects(c.call('vm.clone', 'cl-src', 'cl-copy'), (e: unknown) => e instanceof XmlRpcFault && /cl-src is running; a clone is made from a stopped VM/.test(e.message));
  await c.call('vm.destroy', 'cl-src');
  await assert.rejects(c.call('vm.clone', 'cl-src', 'cl-src'), /exists on this node already/);
  await assert.rejects(c.call('vm.clone', 'cl-src', 'a/b'), /contains '\/'/);
  await assert.rejects(c.call('vm.clone', 'cl-src', 'ok', { strat: true }), /unknown clone option 'strat'/);

  const id = (await c.call('vm.clone', 'cl-src', 'cl-copy', { start: true })) as string;
  const job = await waitFor('the clone job to end', async () => {
    const j = (await c.call('job.get', id)) as unknown as CloneJob;
    return j.status === 'running' ? undefined : j;
  }, 60_000);
  assert.equal(job.status, 'completed', job.reason);
  assert.equal(job.progress.percent, 100);
  assert.deepEqual(job.clone.volumes.map((v) => [v.target, v.to, v.done]), [['vda', 'cl-copy.img', true], ['vdb', 'cl-copy-vdb.img', true]]);

  // What virsh sees: the clone runs, on its own volumes, with a new MAC.
  assert.match(await n1.virsh(uri, 'list', '--all'), /cl-copy\s+running/);
  const blk = await n1.virsh(uri, 'domblklist', 'cl-copy');
  assert.match(blk, new RegExp(`vda\\s+${poolDir}/cl-copy\\.img`));
  assert.match(blk, /vdb\s+\S*cl-copy-vdb\.img/);
  assert.match(await n1.virsh(uri, 'vol-list', 'clonelab'), /cl-copy-vdb\.img/);
  const ifl = await n1.virsh(uri, 'domiflist', 'cl-copy');
  const newMac = job.clone.macs[0]?.to ?? '';
  assert.match(newMac, /^52:54:00:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/);
  assert.notEqual(newMac, '52:54:00:0c:10:01');
  assert.ok(ifl.includes(newMac), ifl);
  assert.notEqual(await n1.virsh(uri, 'domuuid', 'cl-copy'), await n1.virsh(uri, 'domuuid', 'cl-src'));
  // The data was copied, not just a name made.
  assert.ok(readFileSync(join(poolDir, 'cl-copy-vdb.img')).subarray(4096, 4096 + mark.length).toString() === mark, 'the copy holds the mark');
  // The source did not change.
  assert.equal(await n1.virsh(uri, 'dumpxml', '--inactive', 'cl-src'), sourceXml);
  assert.match(readFileSync(join(lab.dir, 'audit.jsonl'), 'utf8'), /"method":"vm\.clone"/);
  await c.call('vm.destroy', 'cl-copy');

  // A cancelled clone: the copy under way finishes (libvirt cannot interrupt it), then the
  // job stops and removes every copy it made; no VM is defined.
  const before = await n1.virsh(uri, 'vol-list', 'clonelab');
  const id2 = (await c.call('vm.clone', 'cl-src', 'cl-gone')) as string;
  await c.call('job.cancel', id2);
  const j2 = await waitFor('the cancelled clone to end', async () => {
    const j = (await c.call('job.get', id2)) as unknown as CloneJob;
    return j.status === 'running' ? undefined : j;
  }, 60_000);
  assert.equal(j2.status, 'cancelled', JSON.stringify(j2));
  assert.match(j2.reason ?? '', /cancelled/);
  assert.equal(await n1.virsh(uri, 'vol-list', 'clonelab'), before);
  assert.doesNotMatch(await n1.virsh(uri, 'list', '--all'), /cl-gone/);
});
