// Faults during a real migration (two lab nodes, a booted TCG guest, migration slowed to
// 1 MiB/s): the node agent SIGKILLed and restarted mid-migration adopts libvirt's job
// under its id and can still cancel it; libvirtd stopped on the target mid-migration
// fails the job with libvirt's reason. Either way the VM keeps running on its source.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildGuestImage, guestDomainXml, requireLab, startLab } from '../lab/index.js';
import { startFaultAgent, type FaultAgent } from '../lab/fault-agent-proc.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';
import { waitFor } from './e2e-helpers.js';

interface Job {
  id: string;
  status: string;
  adopted?: boolean;
  reason?: string;
  vmStateOnSource?: string;
  progress?: { dataTotal?: number; dataProcessed?: number };
}

test('fault: agent SIGKILLed mid-migration (adopted, cancelled), libvirtd stopped on the target mid-migration (failed with the reason): the VM stays running on its source', { timeout: 360_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'qemu', 'guest']) !== null) return;
  const image = await buildGuestImage();
  const lab = await startLab({ nodes: 2, name: 'fault-mig' });
  t.after(() => lab.stop());
  const [n1, n2] = lab.nodes;
  assert.ok(n1 && n2);
  const xml = join(lab.dir, 'mig1.xml');
  writeFileSync(xml, guestDomainXml({ name: 'mig1', kernel: image.kernel, initrd: image.initrd, memoryMiB: 384 }));
  await n1.virsh(n1.qemuUri, 'create', xml);
  const opts = { pollMs: 1000, auditLog: join(lab.dir, 'audit-n1.jsonl'), plugins: false };
  let agent: FaultAgent = await startFaultAgent(n1, n1.qemuUnixUri, opts);
  let c = new XmlRpcClient({ url: agent.url, timeoutMs: 30_000 });
  t.after(async () => {
    c.close();
    await agent.stop();
  });
  const job = async (id: string): Promise<Job> => (await c.call('job.get', id)) as unknown as Job;

  await t.test('the agent is SIGKILLed and restarted mid-migration: same job id, libvirt progress, cancel works', async (st) => {
    const id = (await c.call('vm.migrate', 'mig1', n2.qemuUri, { bandwidthMiBs: 1 })) as string;
    const before = await waitFor('bytes moved', async () => {
      const p = (await job(id)).progress?.dataProcessed ?? 0;
      return p > 0 ? p : undefined;
    }, 30_000);
    await agent.stop('SIGKILL');
    c.close();
    agent = await startFaultAgent(n1, n1.qemuUnixUri, opts);
    c = new XmlRpcClient({ url: agent.url, timeoutMs: 30_000 });
    const j = await job(id);
    assert.equal(j.status, 'running', JSON.stringify(j));
    assert.equal(j.adopted, true);
    assert.ok(j.progress, 'libvirt\'s progress after the restart');
    const moving = await waitFor('bytes moved after the restart', async () => ((await job(id)).progress?.dataProcessed ?? 0) > before ? true : undefined, 30_000);
    assert.equal(moving, true);
    await c.call('job.cancel', id);
    const end = await waitFor('the adopted job to end', async () => ((await job(id)).status === 'running' ? undefined : job(id)), 60_000);
    assert.equal(end.status, 'cancelled', JSON.stringify(end));
    assert.equal(end.vmStateOnSource, 'running');
    assert.match(await n1.virsh(n1.qemuUri, 'domstate', 'mig1'), /running/);
    st.diagnostic(`adopted job ended: ${end.status}: ${end.reason}`);
  });

  await t.test('libvirtd stopped on the target mid-migration: the job fails with libvirt\'s reason, the VM runs on its source', async (st) => {
    const id = (await c.call('vm.migrate', 'mig1', n2.qemuUri, { bandwidthMiBs: 1 })) as string;
    await waitFor('bytes moved', async () => (((await job(id)).progress?.dataProcessed ?? 0) > 0 ? true : undefined), 30_000);
    await n2.stopLibvirtd();
    try {
      const end = await waitFor('the job to end', async () => ((await job(id)).status === 'running' ? undefined : job(id)), 90_000);
      assert.equal(end.status, 'failed', JSON.stringify(end));
      assert.ok((end.reason ?? '').length > 10, `libvirt's reason: ${end.reason}`);
      st.diagnostic(`reason: ${end.reason}`);
      assert.equal(end.vmStateOnSource, 'running');
      assert.match(await n1.virsh(n1.qemuUri, 'domstate', 'mig1'), /running/);
    } finally {
      await n2.startLibvirtd();
    }
  });
});
