/**
 * End-to-end: `vem tui` on a real lab node (libvirtd in its own namespace, a
 * TCG guest, the node agent over our libvirt client), in tmux. The console pane
 * attaches to the guest's serial console through the agent, a typed command is
 * echoed by the guest's shell, Ctrl-] returns, full screen works, q exits 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { buildGuestImage, guestDomainXml, openGuestConsole, requireLab, startLab, waitForPrompt } from '../../lab/index.js';
import { connectLibvirt } from '../../../src/libvirt/client/index.js';
import { startAgent } from '../../../src/agent/index.js';
import { haveTmux, tableRows, Tmux } from './tmux.js';
import { need } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');

test('vem tui: the console pane reaches a real TCG guest through the agent; Ctrl-] returns; q exits 0', { timeout: 240_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'qemu', 'guest']) !== null) return;
  if (!need(t, haveTmux(), 'tmux')) return;
  const image = await buildGuestImage();
  const lab = await startLab({ nodes: 1, name: 'tuicon' });
  t.after(() => lab.stop());
  const n1 = lab.nodes[0];
  assert.ok(n1);
  const xml = join(lab.dir, 'tg1.xml');
  writeFileSync(xml, guestDomainXml({ name: 'tg1', kernel: image.kernel, initrd: image.initrd, memoryMiB: 384 }));
  await n1.virsh(n1.qemuUri, 'create', xml);
  // Wait for the guest's shell with the lab's own console (virsh), then let go of it.
  const boot = await openGuestConsole(n1.qemuUri, 'tg1');
  await waitForPrompt(boot, /vem-guest# /, 120_000);
  await boot.close();

  const agent = await startAgent({ hypervisor: () => connectLibvirt(n1.qemuUnixUri), listen: '127.0.0.1:0', pollMs: 1000 });
  t.after(() => agent.close());
  const cluster = join(lab.dir, 'cluster.yaml');
  writeFileSync(cluster, `nodes:\n  - name: n1\n    url: ${agent.url}\n`);

  const tm = new Tmux([process.execPath, VEM, 'tui', '--cluster', cluster], { width: 100, height: 30, cwd: ROOT });
  t.after(() => tm.kill());
  const s = await tm.waitFor((x) => tableRows(x).some((r) => r.name === 'tg1' && r.state === 'running'), 30_000, 'tg1 running in the table');
  assert.match(s, /n1\s+up\s+qemu/);

  tm.keys('c');
  await tm.waitFor(/console tg1/, 10_000, 'the console pane');
  await tm.waitFor(/vem-guest# /, 15_000, 'the guest prompt in the pane');
  const word = `vem-${randomBytes(6).toString('hex')}`;
  tm.type(`echo ${word} | tr a-z A-Z`);
  tm.keys('Enter');
  // The guest's shell prints the upper-cased word: proof it ran there, not a local echo.
  const echoed = await tm.waitFor(new RegExp(word.toUpperCase()), 15_000, 'the command output');
  assert.match(echoed, new RegExp(`echo ${word}`));

  tm.keys('C-]');
  await tm.waitFor((x) => !/console tg1/.test(x) && /console closed/.test(x), 5000, 'back to the dashboard');
  assert.ok(tableRows(tm.capture()).some((r) => r.name === 'tg1'));

  // Full screen: the pane takes the whole terminal; Ctrl-] returns again.
  tm.keys('C');
  await tm.waitFor(/console tg1 {2}\(Ctrl-\] returns\)/, 10_000, 'the full-screen console');
  const full = await tm.waitFor(/vem-guest# /, 15_000, 'the prompt in full screen');
  assert.doesNotMatch(full, /NAME\s+NODE\s+STATE/, 'the table is covered');
  tm.keys('C-]');
  await tm.waitFor(/NAME\s+NODE\s+STATE/, 5000, 'the table again');

  // Someone else holds the console (another client of the agent): the dashboard names them and
  // offers to take it over; yes ends their session, which is told why.
  const other = await rawConsole(agent.url, 'tg1');
  tm.keys('c');
  const ask = await tm.waitFor(/Take it over\?/, 10_000, 'the takeover question');
  assert.match(ask, /The console of tg1 is in use/);
  assert.match(ask, /in use by tcp:127\.0\.0\.1:\d+/);
  tm.keys('y');
  await tm.waitFor(/console tg1/, 10_000, 'the console pane after the takeover');
  const heard = await other.ended;
  assert.match(heard, /\[ve-manager: console taken over by /);
  tm.type('echo taken-$((40+2))');
  tm.keys('Enter');
  await tm.waitFor(/taken-42/, 15_000, 'the taken-over console works');
  tm.keys('C-]');
  await tm.waitFor(/NAME\s+NODE\s+STATE/, 5000, 'the table again');

  tm.keys('q');
  assert.equal(await tm.waitExit(15_000), 0);
  assert.equal(tm.paneFlags().alternate, false);
});

/** A second console client straight to the agent's upgrade endpoint; `ended` resolves with what it got when closed. */
function rawConsole(url: string, vm: string): Promise<{ ended: Promise<string> }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname);
    let buf = '';
    const ended = new Promise<string>((r) => sock.on('close', () => r(buf)));
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (buf.startsWith('HTTP/1.1 101') && buf.includes('\r\n\r\n')) resolve({ ended });
      else if (buf.includes('\r\n\r\n') && !buf.startsWith('HTTP/1.1 101')) reject(new Error(buf.slice(0, 200)));
    });
    sock.on('error', reject);
    sock.write(`GET /console/${vm} HTTP/1.1\r\nHost: agent\r\nConnection: Upgrade\r\nUpgrade: vem-console\r\n\r\n`);
  });
}
