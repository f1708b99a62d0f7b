// The agent over real QEMU/TCG guests on two lab nodes: a guest defined, started and
// measured through the agent, a disk hot-plugged, its serial console reached through
// the agent's upgrade endpoint, a migration cancelled (the VM stays) and one run to
// completion as a job whose progress is polled.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildGuestImage, guestDomainXml, GUEST_PROMPT, requireLab, startLab } from '../lab/index.js';
import { connectLibvirt } from '../../src/libvirt/client/index.js';
import { startAgent, type RunningAgent } from '../../src/agent/index.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';
import { pythonCalls } from '../common/xmlrpc-peer.js';
import { waitFor } from './e2e-helpers.js';

interface Job {
  status: string;
  reason?: string;
  vmStateOnSource?: string;
  progress?: { dataTotal?: number; dataProcessed?: number; dataRemaining?: number; memIteration?: number; timeElapsedMs?: number; percent?: number };
}

/** Opens /console/VM through the agent and returns the socket once upgraded. */
function openConsole(url: string, token: string, vm: string, query = ''): Promise<{ sock: net.Socket; output: () => string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname);
    let buf = '';
    let upgraded = false;
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buf.startsWith('HTTP/1.1 101')) {
          reject(new Error(`console refused: ${buf.slice(0, 200)}`));
          sock.destroy();
          return;
        }
        upgraded = true;
        buf = buf.slice(end + 4);
        resolve({ sock, output: () => buf });
      }
    });
    sock.on('error', reject);
    sock.write(`GET /console/${vm}${query} HTTP/1.1\r\nHost: agent\r\nConnection: Upgrade\r\nUpgrade: vem-console\r\nAuthorization: Bearer ${token}\r\n\r\n`);
  });
}

test('agent over QEMU guests on two lab nodes: lifecycle, stats, hot-plug, console, migration jobs', { timeout: 240_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'qemu', 'guest', 'python3']) !== null) return;
  const image = await buildGuestImage();
  const lab = await startLab({ nodes: 2, name: 'agent-qemu' });
  const agents: RunningAgent[] = [];
  t.after(async () => {
    for (const a of agents) await a.close();
    await lab.stop();
  });
  const [n1, n2] = lab.nodes;
  assert.ok(n1 && n2);
  const token = randomBytes(24).toString('hex');
  for (const n of [n1, n2]) {
    agents.push(
      await startAgent({
        hypervisor: () => connectLibvirt(n.qemuUnixUri, { timeoutMs: 20_000 }),
        listen: '127.0.0.1:0',
        token,
        pollMs: 500,
        auditLog: join(lab.dir, `audit-${n.name}.jsonl`),
        plugins: false,
      }),
    );
  }
  const [a1, a2] = agents as [RunningAgent, RunningAgent];
  const c1 = new XmlRpcClient({ url: a1.url, token, timeoutMs: 60_000 });
  const c2 = new XmlRpcClient({ url: a2.url, token, timeoutMs: 60_000 });
  t.after(() => {
    c1.close();
    c2.close();
  });

  const info = (await c1.call('node.info')) as { driver: string; hypervisorVersion: string; hostname: string };
  assert.equal(info.driver, 'QEMU');
  assert.match(info.hypervisorVersion, /^\d+\.\d+\.\d+$/);
  assert.equal(info.hostname, 'n1');

  // Define and start a real guest with a stock client.
  const xml = guestDomainXml({ name: 'ag1', kernel: image.kernel, initrd: image.initrd, memoryMiB: 384 });
  const py = await pythonCalls(a1.url, token, [
    ['vm.define', [xml]],
    ['vm.start', ['ag1']],
  ]);
  assert.equal((py[0]?.ok as { name: string }).name, 'ag1', JSON.stringify(py[0]));
  assert.equal(py[1]?.ok, true, JSON.stringify(py[1]));

  await t.test('the console through the agent reaches the guest shell', async () => {
    const con = await openConsole(a1.url, token, 'ag1');
    try {
      await waitFor('the guest prompt', async () => {
        con.sock.write('\r');
        return con.output().includes(GUEST_PROMPT);
      }, 90_000, 1000);
      const mark = randomBytes(6).toString('hex');
      con.sock.write(`echo ${mark}-$((6*7))\r`);
      await waitFor('the command output', async () => con.output().includes(`${mark}-42`), 15_000);
      // One session per VM: a second is refused naming the holder; force=1 takes it over and the first is told.
      await assert.rejects(openConsole(a1.url, token, 'ag1'), /409[\s\S]*the console of ag1 is in use by tcp:127\.0\.0\.1:\d+ since/);
      const first = con;
      const taken = await openConsole(a1.url, token, 'ag1', '?force=1');
      await waitFor('the first session told and closed', async () => first.sock.closed && first.output().includes('[ve-manager: console taken over by tcp:'), 10_000, 100).catch((e: unknown) => {
        throw new Error(`${String(e)}; closed ${first.sock.closed}; got ${JSON.stringify(first.output().slice(-300))}`);
      });
      taken.sock.write(`echo ${mark}-$((6*8))\r`);
      await waitFor('the new session works', async () => taken.output().includes(`${mark}-48`), 15_000);
      // Closed and opened again at once: libvirt ends the old stream asynchronously, the agent takes back its own.
      // A client that only half-closes (sends FIN, as a destroyed HTTP socket does) frees it too.
      for (let i = 0; i < 4; i++) {
        const prev = i === 0 ? taken : await openConsole(a1.url, token, 'ag1');
        if (i % 2 === 1) prev.sock.end();
        else prev.sock.destroy();
      }
      const again = await openConsole(a1.url, token, 'ag1');
      again.sock.destroy();
    } finally {
      con.sock.destroy();
    }
  });

  await t.test('stats come from the running guest: CPU time moves, rates in history, events seen', async () => {
    const stats = await waitFor('CPU history for ag1', async () => {
      const s = (await c1.call('vm.stats', 'ag1', 0)) as { t: number[]; cpuPct: number[]; memKiB: number[] };
      return s.t.length >= 2 && s.cpuPct.some((x) => x > 0) ? s : undefined;
    }, 30_000, 500);
    assert.equal(stats.memKiB[stats.memKiB.length - 1], 384 * 1024);
    const row = ((await c1.call('vm.list')) as Array<{ name: string; state: string; cpuTimeNs: number; id: number }>).find((v) => v.name === 'ag1');
    assert.equal(row?.state, 'running');
    assert.ok((row?.cpuTimeNs ?? 0) > 1e8, 'real CPU time from QEMU');
    const ev = (await c1.call('events.poll', 0, 0)) as { events: Array<{ source: string; kind: string; vm?: string; detail: { event?: string } }> };
    assert.ok(ev.events.some((e) => e.source === 'domain' && e.kind === 'lifecycle' && e.vm === 'ag1' && e.detail.event === 'started'), 'libvirt started event relayed');
  });

  await t.test('a disk is hot-plugged and unplugged on the running guest', async () => {
    const img = join(lab.dir, 'extra.img');
    writeFileSync(img, Buffer.alloc(4 * 1024 * 1024));
    const disk = `<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${img}'/><target dev='vdb' bus='virtio'/></disk>`;
    assert.equal(await c1.call('vm.attachDevice', 'ag1', disk, { live: true }), true);
    const withDisk = (await c1.call('vm.info', 'ag1')) as { xml: { disks: Array<{ target: string }> } };
    assert.ok(withDisk.xml.disks.some((d) => d.target === 'vdb'), 'the summary shows vdb after the change event');
    assert.equal(await c1.call('vm.detachDevice', 'ag1', disk, { live: true }), true);
  });

  await t.test('a cancelled migration leaves the VM running here and says so', async () => {
    const id = (await c1.call('vm.migrate', 'ag1', n2.qemuUri, { bandwidthMiBs: 1 })) as string;
    await waitFor('the job to show progress', async () => ((await c1.call('job.get', id)) as unknown as Job).progress?.dataTotal, 20_000);
    const cancelled = (await c1.call('job.cancel', id)) as unknown as Job;
    assert.ok(['running', 'cancelled'].includes(cancelled.status));
    const end = await waitFor('the job to end', async () => {
      const j = (await c1.call('job.get', id)) as unknown as Job;
      return j.status === 'running' ? undefined : j;
    }, 30_000);
    assert.equal(end.status, 'cancelled', JSON.stringify(end));
    assert.ok((end.reason ?? '').length > 0);
    assert.equal(end.vmStateOnSource, 'running');
    assert.equal(((await c1.call('vm.info', 'ag1')) as { state: string }).state, 'running');
  });

  await t.test('a live migration n1 -> n2 runs as a job with progress polled to completion', async () => {
    const id = (await c1.call('vm.migrate', 'ag1', n2.qemuUri)) as string;
    const seen: Job[] = [];
    const end = await waitFor('the migration to finish', async () => {
      const j = (await c1.call('job.get', id)) as unknown as Job;
      seen.push(j);
      return j.status === 'running' ? undefined : j;
    }, 120_000, 150);
    assert.equal(end.status, 'completed', JSON.stringify(end));
    assert.ok(end.progress && (end.progress.dataTotal ?? 0) > 0 && (end.progress.dataProcessed ?? 0) > 0, JSON.stringify(end.progress));
    assert.equal(end.progress.dataRemaining, 0);
    // A TCG migration of this guest takes seconds and job.get is polled every 150 ms: progress must have been seen.
    assert.ok(seen.some((j) => j.status === 'running' && j.progress !== undefined), `progress was reported while running: ${JSON.stringify(seen.slice(0, 3))}`);
    const there = await waitFor('ag1 in n2 vm.list', async () => {
      await a2.collectNow();
      return ((await c2.call('vm.list')) as Array<{ name: string; state: string }>).find((v) => v.name === 'ag1' && v.state === 'running');
    }, 20_000);
    assert.equal(there.state, 'running');
    assert.match(await n2.virsh(n2.qemuUri, 'domstate', 'ag1'), /running/);
    const ev = (await c1.call('events.poll', 0, 0)) as { events: Array<{ source: string; kind: string; detail: { status?: string } }> };
    assert.ok(ev.events.some((e) => e.source === 'job' && e.kind === 'completed'));
    await c2.call('vm.destroy', 'ag1');
  });
});
