/**
 * The management screens on a real lab node (libvirtd with the QEMU driver in
 * its own namespace) through a real agent and link: what the screens do is
 * checked with virsh. No guest is booted: the VM is defined, not started.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { requireLab, startLab } from '../../lab/index.js';
import { connectLibvirt } from '../../../src/libvirt/client/index.js';
import { startAgent } from '../../../src/agent/index.js';
import { openDirectLink } from '../../../src/link/index.js';
import { ClusterStore } from '../../../src/tui/store/store.js';
import { NodePoller } from '../../../src/tui/store/poller.js';
import { ManageScreens } from '../../../src/tui/screens/index.js';
import { makeTheme } from '../../../src/tui/views/theme.js';
import type { CreateScreen } from '../../../src/tui/screens/create.js';
import type { StorageScreen } from '../../../src/tui/screens/storage.js';
import type { EditScreen } from '../../../src/tui/screens/edit.js';
import type { CloneScreen } from '../../../src/tui/screens/clone.js';

async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('lab node: a VM created in the form, a volume created in the storage view, a disk attached in the editor and a clone are what virsh sees', { timeout: 180_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'qemu']) !== null) return;
  const lab = await startLab({ nodes: 1, name: 'tui-screens' });
  const cleanup: Array<() => Promise<void> | void> = [];
  t.after(async () => {
    for (const c of cleanup.reverse()) await c();
    await lab.stop();
  });
  const [n1] = lab.nodes;
  assert.ok(n1);
  const poolDir = join(n1.dir, 'pool-vemlab');
  mkdirSync(poolDir, { recursive: true });
  await n1.virsh(n1.qemuUri, 'pool-define-as', 'vemlab', 'dir', '--target', poolDir);
  await n1.virsh(n1.qemuUri, 'pool-start', 'vemlab');
  const agent = await startAgent({ hypervisor: () => connectLibvirt(n1.qemuUnixUri, { timeoutMs: 20_000 }), listen: '127.0.0.1:0', pollMs: 500 });
  cleanup.push(() => agent.close());
  const link = openDirectLink('n1', agent.url);
  cleanup.push(() => link.close());
  const store = new ClusterStore();
  const poller = new NodePoller(link, store, { refreshMs: 500 });
  poller.start();
  cleanup.push(() => poller.stop());
  const said: string[] = [];
  let answer: string[] = [];
  const screens = new ManageScreens({
    theme: () => makeTheme(true),
    store,
    link: () => link,
    invalidate: () => poller.invalidate(),
    say: (text) => void said.push(text),
    confirm: (_l, yes) => yes(),
    prompt: (_p, _i, submit) => submit(answer.shift() ?? ''),
    markDirty: () => undefined,
    runEditor: async () => true,
    selectedVm: () => store.vms.get('n1/lab-vm1'),
    selectedNode: () => 'n1',
  });
  cleanup.push(() => screens.close());
  await until(() => store.nodes.get('n1')?.host !== undefined, 'node info');

  // Create through the form: 2 vCPUs, 256 MiB, a new 64 MiB disk in the lab pool, no network, TCG.
  screens.openByName('create', 'lab-vm1');
  const c = screens.current as CreateScreen;
  await until(() => c.facts() !== undefined, 'the node facts');
  Object.assign(c.input, { vcpus: '2', memoryMiB: '256', diskPool: 'vemlab', diskSize: '64M', network: 'none', type: 'qemu' });
  c.submit();
  await until(() => screens.current === undefined, `the VM created (${said.at(-1) ?? ''})`);
  assert.match(await n1.virsh(n1.qemuUri, 'list', '--all'), /lab-vm1\s+shut off/);
  const info = await n1.virsh(n1.qemuUri, 'dominfo', 'lab-vm1');
  assert.match(info, /CPU\(s\):\s+2\b/);
  assert.match(info, /Max memory:\s+262144 KiB/);
  assert.match(await n1.virsh(n1.qemuUri, 'vol-list', 'vemlab'), /lab-vm1\.qcow2/);

  // A volume from the storage view.
  await until(() => store.vms.has('n1/lab-vm1'), 'lab-vm1 in the table');
  screens.openByName('storage', 'n1');
  const s = screens.current as StorageScreen;
  await until(() => screens.manage.storage.get('n1')?.data?.pools.some((p) => p.name === 'vemlab') === true, 'the pools');
  const poolIndex = screens.manage.storage.get('n1')?.data?.pools.findIndex((p) => p.name === 'vemlab') ?? -1;
  for (let i = 0; i < poolIndex; i++) s.key('down');
  answer = ['extra.qcow2 32M qcow2'];
  s.key('c');
  await until(() => screens.manage.storage.get('n1')?.data?.volumes.get('vemlab')?.some((v) => v.name === 'extra.qcow2') === true, `the volume (${said.at(-1) ?? ''})`);
  assert.match(await n1.virsh(n1.qemuUri, 'vol-list', 'vemlab'), /extra\.qcow2/);
  screens.close();

  // A disk attached in the editor.
  screens.openByName('edit', 'n1/lab-vm1');
  const e = screens.current as EditScreen;
  await until(() => e.rows().length > 0 && screens.manage.storage.get('n1')?.data !== undefined, 'its devices');
  answer = ['vemlab/extra.qcow2'];
  e.key('a');
  await until(() => e.rows().some((r) => r.kind === 'disk' && r.d.target === 'vdb'), `the disk attached (${said.at(-1) ?? ''})`);
  assert.match(await n1.virsh(n1.qemuUri, 'domblklist', 'lab-vm1'), /vdb\s+\S*extra\.qcow2/);
  screens.close();

  // A clone from the clone screen: both disks copied under the clone's name, as virsh sees it.
  screens.openByName('clone', 'n1/lab-vm1');
  const k = screens.current as CloneScreen;
  await until(() => k.preview()?.copies.length === 2, 'the clone preview');
  assert.deepEqual(k.preview()?.copies.map((x) => [x.target, x.to]), [['vda', 'lab-vm1-clone.qcow2'], ['vdb', 'lab-vm1-clone-vdb.qcow2']]);
  k.submit();
  await until(() => screens.current === undefined, `the clone made (${said.at(-1) ?? ''})`, 60_000);
  assert.match(said.at(-1) ?? '', /cloned lab-vm1 as lab-vm1-clone on n1: 2 volumes copied/);
  assert.match(await n1.virsh(n1.qemuUri, 'list', '--all'), /lab-vm1-clone\s+shut off/);
  const blk = await n1.virsh(n1.qemuUri, 'domblklist', 'lab-vm1-clone');
  assert.match(blk, /vda\s+\S*\/lab-vm1-clone\.qcow2/);
  assert.match(blk, /vdb\s+\S*\/lab-vm1-clone-vdb\.qcow2/);
  assert.match(await n1.virsh(n1.qemuUri, 'dominfo', 'lab-vm1-clone'), /CPU\(s\):\s+2\b/);
});
