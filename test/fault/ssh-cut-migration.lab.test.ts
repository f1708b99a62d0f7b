// Fault: the dashboard's SSH link cut during a real migration (lab sshd, agent on real
// libvirt, a booted TCG guest). Killing sshd's per-connection processes drops the link;
// the migration goes on in libvirt, the link says it is down and comes back by itself,
// and the job's outcome is read through it afterwards.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildGuestImage, guestDomainXml, requireLab, startLab, type LabNode, type LabSshd } from '../lab/index.js';
import { startAgent } from '../../src/agent/index.js';
import { connectLibvirt } from '../../src/libvirt/client/index.js';
import { openLink, type LinkState } from '../../src/link/index.js';
import { descendantsOf, makeHome, waitState, writeKnownHosts } from '../link/e2e/helpers.js';

const FAST = { backoff: { minMs: 100, maxMs: 800 }, readyTimeoutMs: 8000, keepaliveMs: 1000, keepaliveCountMax: 3 };

interface Job {
  status: string;
  reason?: string;
  progress?: { dataProcessed?: number };
}

test('fault: the SSH link cut mid-migration: the migration goes on, the link returns by itself, the outcome is read after', { timeout: 300_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'qemu', 'guest', 'sshd']) !== null) return;
  const image = await buildGuestImage();
  const h = makeHome('fault-ssh');
  const oldHome = process.env['HOME'];
  process.env['HOME'] = h.home;
  const lab = await startLab({ nodes: 2, sshd: true, name: 'fault-ssh' });
  t.after(async () => {
    await lab.stop();
    h.cleanup();
    process.env['HOME'] = oldHome;
  });
  const n1 = lab.nodes[0] as LabNode & { sshd: LabSshd };
  const n2 = lab.nodes[1];
  assert.ok(n1 && n2);
  const xml = join(lab.dir, 'cut1.xml');
  writeFileSync(xml, guestDomainXml({ name: 'cut1', kernel: image.kernel, initrd: image.initrd, memoryMiB: 384 }));
  await n1.virsh(n1.qemuUri, 'create', xml);
  const sock = join(lab.dir, 'agent-n1.sock');
  const agent = await startAgent({ hypervisor: () => connectLibvirt(n1.qemuUnixUri, { timeoutMs: 20_000 }), socket: sock, pollMs: 1000, plugins: false });
  t.after(() => agent.close());
  writeKnownHosts(join(h.ssh, 'known_hosts'), [n1.sshd.knownHostsLine]);
  const link = openLink({ name: 'n1', ssh: `root@${n1.sshd.host}:${n1.sshd.port}`, identity: n1.sshd.userKeyPath, agent: { kind: 'unix', path: sock }, labels: [] }, { ...FAST, agentSocket: null });
  t.after(() => link.close());
  const states: Array<[LinkState, string | undefined]> = [];
  link.on('state', (s: LinkState) => states.push([s, link.detail]));

  const id = (await link.call('vm.migrate', 'cut1', n2.qemuUri, { bandwidthMiBs: 2 })) as string;
  for (let i = 0; ; i++) {
    const j = (await link.call('job.get', id)) as unknown as Job;
    assert.equal(j.status, 'running', `still running before the cut: ${JSON.stringify(j)}`);
    if ((j.progress?.dataProcessed ?? 0) > 0) break;
    if (i > 100) throw new Error('no progress');
    await new Promise((r) => setTimeout(r, 200));
  }
  // Cut: SIGKILL every per-connection sshd process (the listener stays, so the link can return).
  const sessions = descendantsOf(n1.sshd.pid);
  assert.ok(sessions.length > 0, 'the link has an sshd session');
  for (const p of sessions) process.kill(p, 'SIGKILL');
  assert.notEqual(await waitState(link, ['down', 'connecting'], 15_000), 'up');
  assert.equal(await waitState(link, ['up'], 30_000), 'up');
  assert.ok(states.some(([s]) => s !== 'up'), `the link said it was down: ${JSON.stringify(states)}`);
  t.diagnostic(`link states: ${JSON.stringify(states)}`);
  // The migration ran on in libvirt during the cut (or ended there); cancel it and read its outcome through the returned link.
  const mid = (await link.call('job.get', id)) as unknown as Job;
  t.diagnostic(`after the link returned: ${mid.status}`);
  assert.ok(['running', 'completed'].includes(mid.status), `the cut did not fail the migration: ${JSON.stringify(mid)}`);
  if (mid.status === 'running') await link.call('job.cancel', id);
  let end = mid;
  for (let i = 0; i < 120 && end.status === 'running'; i++) {
    await new Promise((r) => setTimeout(r, 500));
    end = (await link.call('job.get', id)) as unknown as Job;
  }
  assert.ok(['cancelled', 'completed'].includes(end.status), JSON.stringify(end));
  t.diagnostic(`outcome read through the link: ${end.status}${end.reason ? `: ${end.reason}` : ''}`);
  if (end.status === 'cancelled') assert.match(await n1.virsh(n1.qemuUri, 'domstate', 'cut1'), /running/);
});
