/**
 * End-to-end: `vem tui` reaching a lab node through a real OpenSSH sshd, in
 * tmux, with a private HOME whose known_hosts is empty and an identity whose
 * key is encrypted. The unknown host key is shown with its fingerprint and
 * trusted from the node list (T); the key's passphrase is asked in the input
 * line without being shown, a wrong one asked again; then the node comes up.
 * The agent behind sshd runs on the lab node's real libvirtd (QEMU driver): this is
 * the dashboard-over-SSH test on real libvirt (the others use simulated hypervisors).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { requireLab, startLab, type LabNode, type LabSshd } from '../../lab/index.js';
import { connectLibvirt } from '../../../src/libvirt/client/index.js';
import { startAgent } from '../../../src/agent/index.js';
import { makeHome, writeKnownHosts } from '../../link/e2e/helpers.js';
import { haveTmux, tableRows, Tmux } from './tmux.js';
import { need } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');
const PASS = 'correct horse 42';

test('vem tui over SSH: an unknown host key is trusted after its fingerprint is shown; an encrypted key asks its passphrase, hidden', { timeout: 180_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'sshd']) !== null) return;
  if (!need(t, haveTmux(), 'tmux')) return;
  const lab = await startLab({ nodes: 1, sshd: true, name: 'tui-trust' });
  t.after(() => lab.stop());
  const n1 = lab.nodes[0] as LabNode & { sshd: LabSshd };
  assert.ok(n1?.sshd);
  const dom = join(lab.dir, 'td.xml');
  writeFileSync(dom, "<domain type='qemu'><name>trust-vm</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>");
  await n1.virsh(n1.qemuUri, 'define', dom);
  const sock = join(lab.dir, 'agent.sock');
  const agent = await startAgent({ hypervisor: () => connectLibvirt(n1.qemuUnixUri), socket: sock, pollMs: 500, plugins: false });
  t.after(() => agent.close());

  const h = makeHome('tui-trust');
  t.after(() => h.cleanup());
  const key = join(h.ssh, 'id_vem');
  copyFileSync(n1.sshd.userKeyPath, key);
  execFileSync('chmod', ['600', key]);
  execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', PASS, '-f', key]);
  const knownHosts = join(h.ssh, 'known_hosts');
  writeKnownHosts(knownHosts, []);
  const cluster = join(h.home, 'cluster.yaml');
  writeFileSync(cluster, ['nodes:', '  - name: n1', `    ssh: root@${n1.sshd.host}:${n1.sshd.port}`, `    identity: ${key}`, `    agent: unix:${sock}`, ''].join('\n'));
  const fingerprint = /SHA256:[A-Za-z0-9+/]{43}/.exec(execFileSync('ssh-keygen', ['-lf', '-'], { input: n1.sshd.hostKeyPub, encoding: 'utf8' }))?.[0];
  assert.ok(fingerprint);

  // No ssh-agent: the encrypted identity file is the only way in.
  const env: Record<string, string> = { HOME: h.home, SSH_AUTH_SOCK: '' };
  const tm = new Tmux([process.execPath, VEM, 'tui', '--cluster', cluster], { width: 150, height: 32, cwd: ROOT, env });
  t.after(() => tm.kill());

  const unknown = await tm.waitFor(/node n1 hostkey-unknown/, 20_000, 'the unknown host key on the status line');
  assert.ok(unknown.includes(fingerprint), `the status line shows the fingerprint:\n${unknown}`);
  assert.match(unknown, /\(check it; :trust or T on the node list\)/);
  assert.equal(readFileSync(knownHosts, 'utf8').trim(), '', 'nothing trusted yet');

  tm.keys('Tab');
  tm.keys('T');
  const dialog = await tm.waitFor(/Trust the SSH host key of node n1\?/, 5000, 'the trust dialog');
  assert.ok(dialog.includes(fingerprint), 'the dialog shows the fingerprint to check');
  assert.match(dialog, new RegExp(`It is added to ${knownHosts.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  tm.keys('y');

  // Host key trusted: now the encrypted key's passphrase is asked, hidden.
  await tm.waitFor(/passphrase for \S*id_vem \(hidden, Esc skips\)/, 20_000, 'the passphrase question');
  tm.type('not the passphrase');
  // Read the screen over several redraw ticks after typing (not only right after the keys,
  // which could pass before the redraw); the wrong answer below proves the keys arrived.
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 300));
    assert.doesNotMatch(tm.capture(), /not the passphrase/, 'typed text is not shown');
  }
  tm.keys('Enter');
  await tm.waitFor(/passphrase for \S*id_vem \(wrong; try 2 of 3\)/, 10_000, 'asked again after a wrong one');
  tm.type(PASS);
  tm.keys('Enter');

  const up = await tm.waitFor((x) => tableRows(x).some((r) => r.name === 'trust-vm' && r.node === 'n1'), 30_000, 'the node up with its VM');
  assert.doesNotMatch(up, new RegExp(PASS), 'the passphrase never shows');
  assert.ok(readFileSync(knownHosts, 'utf8').includes(n1.sshd.hostKeyPub.split(/\s+/)[1] ?? 'missing'), 'known_hosts holds the trusted key');

  tm.keys('q');
  assert.equal(await tm.waitExit(15_000), 0);
  assert.equal(tm.stderr().trim(), '');
});
