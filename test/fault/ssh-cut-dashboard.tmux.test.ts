// Fault: the dashboard's SSH link cut during a migration it started, as the admin sees it.
// `vem tui` in tmux over two lab nodes (n1 through its lab sshd, n2 direct), a booted TCG
// guest evacuated from n1 at 1 MiB/s; sshd's per-connection processes are SIGKILLed mid-copy.
// The screens say the link went down and came back by itself, the migration goes on in
// libvirt, and after the link returns the tasks view shows its outcome (and virsh agrees).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { buildGuestImage, guestDomainXml, requireLab, startLab, type LabNode, type LabSshd } from '../lab/index.js';
import { startAgent } from '../../src/agent/index.js';
import { connectLibvirt } from '../../src/libvirt/client/index.js';
import { descendantsOf, makeHome, writeKnownHosts } from '../link/e2e/helpers.js';
import { haveTmux, tableRows, Tmux } from '../tui/e2e/tmux.js';
import { need } from '../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');

test('fault: the dashboard\'s SSH link cut mid-migration: its screens show the link down and back by itself, and the migration\'s outcome in the tasks view after', { timeout: 300_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'qemu', 'guest', 'sshd']) !== null) return;
  if (!need(t, haveTmux(), 'tmux')) return;
  const image = await buildGuestImage();
  const h = makeHome('fault-ssh-tui');
  const lab = await startLab({ nodes: 2, sshd: true, name: 'fault-ssh-tui' });
  t.after(async () => {
    await lab.stop();
    h.cleanup();
  });
  const n1 = lab.nodes[0] as LabNode & { sshd: LabSshd };
  const n2 = lab.nodes[1];
  assert.ok(n1 && n2);
  const xml = join(lab.dir, 'cut2.xml');
  writeFileSync(xml, guestDomainXml({ name: 'cut2', kernel: image.kernel, initrd: image.initrd, memoryMiB: 384 }));
  await n1.virsh(n1.qemuUri, 'create', xml);
  // Slow enough to be cut mid-copy: libvirt uses the domain's speed when the call names none (as the dashboard's does not).
  await n1.virsh(n1.qemuUri, 'migrate-setspeed', 'cut2', '1');

  const sock = join(lab.dir, 'agent-n1.sock');
  const a1 = await startAgent({ hypervisor: () => connectLibvirt(n1.qemuUnixUri, { timeoutMs: 20_000 }), socket: sock, pollMs: 500, plugins: false });
  t.after(() => a1.close());
  const a2 = await startAgent({ hypervisor: () => connectLibvirt(n2.qemuUnixUri, { timeoutMs: 20_000 }), listen: '127.0.0.1:0', pollMs: 500, plugins: false });
  t.after(() => a2.close());
  writeKnownHosts(join(h.ssh, 'known_hosts'), [n1.sshd.knownHostsLine]);
  const cluster = join(lab.dir, 'cluster.yaml');
  writeFileSync(cluster, [
    'nodes:',
    `  - name: ${n1.name}`, `    ssh: root@${n1.sshd.host}:${n1.sshd.port}`, `    identity: ${n1.sshd.userKeyPath}`, `    agent: unix:${sock}`, `    migrate-uri: ${n1.qemuUri}`,
    `  - name: ${n2.name}`, `    url: ${a2.url}`, `    migrate-uri: ${n2.qemuUri}`,
  ].join('\n') + '\n');

  const tm = new Tmux([process.execPath, VEM, 'tui', '--cluster', cluster], { width: 140, height: 40, cwd: ROOT, env: { HOME: h.home, SSH_AUTH_SOCK: '' } });
  t.after(() => tm.kill());
  const upRe = (n: string): RegExp => new RegExp(`${n}\\s+up`);
  await tm.waitFor((x) => tableRows(x).some((r) => r.name === 'cut2' && r.node === n1.name && r.state === 'running') && /nodes 2\/2 up/.test(x), 60_000, 'cut2 running on n1, both nodes up');

  // Evacuate n1 from the dashboard: one task, one migration of cut2 to n2.
  tm.keys(':');
  tm.type(`evacuate ${n1.name}`);
  tm.keys('Enter');
  await tm.waitFor(new RegExp(`cut2.*-> ${n2.name}`), 10_000, 'the evacuation preview');
  tm.keys('y'); // starting it opens the tasks view
  await tm.waitFor(new RegExp(`evacuate ${n1.name}: 0 ok, 0 failed, 1 pending[^]*${n1.name}/cut2\\s+running`), 15_000, 'the evacuation task running');
  // Copying: libvirt's own job says so.
  for (let i = 0; !/Data processed:\s+[1-9]/.test(await n1.virsh(n1.qemuUri, 'domjobinfo', 'cut2').catch(() => '')); i++) {
    if (i > 100) throw new Error(`no migration progress: ${await n1.virsh(n1.qemuUri, 'domjobinfo', 'cut2').catch((e: unknown) => String(e))}`);
    await new Promise((r) => setTimeout(r, 200));
  }

  // Cut, seen from the overview: SIGKILL every per-connection sshd process (the listener stays, so the link can return).
  tm.keys('t'); // the tasks view toggles back to the overview
  await tm.waitFor((x) => /nodes 2\/2 up/.test(x) && tableRows(x).some((r) => r.name === 'cut2' && r.state.startsWith('migr')), 10_000, 'the overview, cut2 migrating');
  const sessions = descendantsOf(n1.sshd.pid);
  assert.ok(sessions.length > 0, 'the dashboard has an sshd session');
  for (const p of sessions) process.kill(p, 'SIGKILL');
  const down = await tm.waitFor((x) => new RegExp(`${n1.name}\\s+(down|connecting)`).test(x) && new RegExp(`node ${n1.name} down: SSH connection lost`).test(x), 20_000, 'the node list and the status line saying n1 is down');
  t.diagnostic(`during the cut:\n${down}`);
  assert.match(await n1.virsh(n1.qemuUri, 'domjobinfo', 'cut2'), /Job type:\s+Unbounded/, 'the migration goes on in libvirt during the cut');
  // Back by itself: the node list says up, and the status line says so.
  const back = await tm.waitFor((x) => upRe(n1.name).test(x) && /nodes 2\/2 up/.test(x) && new RegExp(`node ${n1.name} up`).test(x), 60_000, 'n1 up again in the node list and the status line');
  t.diagnostic(`after the link returned:\n${back}`);
  // The event log has the link going down and coming back.
  tm.keys(':');
  tm.type(`events ${n1.name} link`);
  tm.keys('Enter');
  const log = await tm.waitFor((x) => /link[ /]+down.*SSH connection lost/.test(x) && /link[ /]+up/.test(x), 15_000, 'the event log with the link down and up');
  t.diagnostic(`event log:\n${log}`);
  tm.keys('L');

  // The migration still runs after the link returned; let it finish at full speed, and the tasks view shows the outcome.
  const running = await n1.virsh(n1.qemuUri, 'domjobinfo', 'cut2').catch(() => '');
  t.diagnostic(`libvirt's job once the link was back: ${/Job type:\s+(\S+)/.exec(running)?.[1] ?? '(none)'}`);
  await n1.virsh(n1.qemuUri, 'migrate-setspeed', 'cut2', '8192').catch(() => '');
  tm.keys('t');
  const done = await tm.waitFor(new RegExp(`evacuate ${n1.name}: 1 ok, 0 failed, 0 pending`), 120_000, 'the evacuation task done in the tasks view');
  t.diagnostic(`tasks view:\n${done}`);
  assert.match(done, new RegExp(`${n1.name}/cut2\\s+ok\\s+-> ${n2.name}`));
  assert.match(await n2.virsh(n2.qemuUri, 'domstate', 'cut2'), /running/);
  tm.keys('t');
  await tm.waitFor((x) => tableRows(x).some((r) => r.name === 'cut2' && r.node === n2.name && r.state === 'running'), 30_000, 'cut2 running on n2 in the table');
  tm.keys('q');
  assert.equal(await tm.waitExit(15_000), 0);
});
