/**
 * End-to-end: a live migration driven from `vem tui` between two real lab
 * nodes (libvirtd with QEMU/TCG in their own namespaces), in tmux. The agents
 * report local libvirt URIs, which mean nothing to the other node; the cluster
 * file's migrate-uri says where each node's libvirtd listens, and the guest
 * ends up running on the target as virsh sees it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { buildGuestImage, guestDomainXml, requireLab, startLab } from '../../lab/index.js';
import { haveTmux, tableRows, Tmux } from './tmux.js';
import { labCluster } from './lab-cluster.js';
import { need } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');

test('vem tui: a live migration between two lab nodes through the cluster file\'s migrate-uri, seen by virsh', { timeout: 240_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'qemu', 'guest']) !== null) return;
  if (!need(t, haveTmux(), 'tmux')) return;
  const image = await buildGuestImage();
  const lab = await startLab({ nodes: 2, name: 'tuimig' });
  t.after(() => lab.stop());
  const [n1, n2] = lab.nodes;
  assert.ok(n1 && n2);
  const xml = join(lab.dir, 'mg1.xml');
  writeFileSync(xml, guestDomainXml({ name: 'mg1', kernel: image.kernel, initrd: image.initrd, memoryMiB: 256 }));
  await n1.virsh(n1.qemuUri, 'define', xml);
  await n1.virsh(n1.qemuUri, 'start', 'mg1');

  const cluster = await labCluster(t, lab.dir, [n1, n2].map((n) => ({ node: n, uri: n.qemuUnixUri })));

  const tm = new Tmux([process.execPath, VEM, 'tui', '--cluster', cluster], { width: 140, height: 36, cwd: ROOT });
  t.after(() => tm.kill());
  await tm.waitFor((x) => tableRows(x).some((r) => r.name === 'mg1' && r.node === n1.name && r.state === 'running') && /nodes 2\/2 up/.test(x), 30_000, 'mg1 running on n1');

  tm.keys('m');
  const dlg = await tm.waitFor(new RegExp(`Migrate mg1 .*from ${n1.name}`), 5000, 'the migration dialog');
  assert.match(dlg, /mode: live/);
  assert.match(dlg, new RegExp(`${n2.name}\\s+fits`));
  tm.keys('Enter');
  await tm.waitFor(/live {2}completed/, 90_000, 'the migration completed');
  tm.keys('Escape');
  await tm.waitFor((x) => tableRows(x).some((r) => r.name === 'mg1' && r.node === n2.name && r.state === 'running'), 20_000, 'mg1 running on n2 in the table');
  assert.match(await n2.virsh(n2.qemuUri, 'list'), /mg1\s+running/);
  assert.doesNotMatch(await n1.virsh(n1.qemuUri, 'list', '--all'), /mg1/);

  tm.keys('q');
  assert.equal(await tm.waitExit(15_000), 0);
});
