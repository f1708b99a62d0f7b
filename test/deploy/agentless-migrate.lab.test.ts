// An agentless node next to a resident one, on real lab nodes: n1 has nothing of vem on it
// (its libvirt socket is reached through SSH, the agent's code runs in this process); n2 is
// turned into a resident node by `vem deploy`. A booted guest's serial console answers on
// the agentless node, and the guest live-migrates from the agentless node to the resident
// one and back, each side seeing it arrive through its own link.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { buildGuestImage, guestDomainXml, GUEST_PROMPT, requireLab, startLab, type Lab, type LabNode, type LabSshd } from '../lab/index.js';
import { waitFor } from '../lab/procs.js';
import { makeHome, writeKnownHosts } from '../link/e2e/helpers.js';
import { runVem } from '../vem-cli.js';
import { ensureAgentBundle } from './bundle.js';
import { loadClusterFile, openLink, setLocalAgentLoader, type NodeLink } from '../../src/link/index.js';

const skip = requireLab(undefined, ['libvirt', 'qemu', 'sshd', 'guest']);

type SshNode = LabNode & { sshd: LabSshd };
interface Job { status: string; reason?: string }
interface Row { name: string; state: string }

describe('an agentless node and a resident one: console and live migration both ways', { skip: skip ?? false, timeout: 360_000 }, () => {
  let lab: Lab;
  let n1: SshNode;
  let n2: SshNode;
  let h: ReturnType<typeof makeHome>;
  let cluster: string;
  const links: NodeLink[] = [];

  before(async () => {
    setLocalAgentLoader(() => import('../../src/cli/agentless-agent.js').then((m) => m.runLocalAgent));
    const image = await buildGuestImage();
    await ensureAgentBundle(); // vem deploy ships dist/vem-agent.mjs; a clean clone has none yet
    h = makeHome('agentless-mig');
    lab = await startLab({ nodes: 2, sshd: true, name: 'agentless-mig' });
    n1 = lab.nodes[0] as SshNode;
    n2 = lab.nodes[1] as SshNode;
    cluster = join(h.home, 'cluster.yaml');
    const entry = (n: SshNode): string[] => [`  - name: ${n.name}`, `    ssh: root@${n.sshd.host}:${n.sshd.port}`, `    identity: ${n.sshd.userKeyPath}`, '    agent: none'];
    writeFileSync(cluster, ['nodes:', ...entry(n1), ...entry(n2), ''].join('\n'));
    writeKnownHosts(join(h.ssh, 'known_hosts'), [n1.sshd.knownHostsLine, n2.sshd.knownHostsLine]);
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: h.home };
    delete env['SSH_AUTH_SOCK'];
    const d = await runVem(['deploy', '--cluster', cluster, '--node-prefix', n2.deployPrefix, 'n2'], env);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    const xml = join(lab.dir, 'mig1.xml');
    writeFileSync(xml, guestDomainXml({ name: 'mig1', kernel: image.kernel, initrd: image.initrd, memoryMiB: 384 }));
    await n1.virsh(n1.qemuUnixUri, 'create', xml);
    process.env['XDG_STATE_HOME'] = join(h.home, 'state');
    const cfg = loadClusterFile(cluster);
    assert.equal(cfg.nodes[0]?.agentless, true);
    assert.equal(cfg.nodes[1]?.agentless, undefined, 'deploy made n2 a resident node in the cluster file');
    for (const n of cfg.nodes) links.push(openLink(n, { home: h.home, agentSocket: null }));
  });

  after(async () => {
    await Promise.allSettled(links.map((l) => l.close()));
    await lab?.stop();
    h?.cleanup();
  });

  const rows = async (l: NodeLink): Promise<Row[]> => (await l.call('vm.list')) as unknown as Row[];
  const migrate = async (from: NodeLink, to: SshNode): Promise<Job> => {
    const id = (await from.call('vm.migrate', 'mig1', to.qemuUri)) as string;
    return waitFor(`mig1 migrated to ${to.name}`, 120_000, async () => {
      const j = (await from.call('job.get', id)) as unknown as Job;
      return j.status === 'running' ? undefined : j;
    }, 500);
  };

  test('the serial console of a guest on the agentless node reaches its shell', async () => {
    const [a] = links;
    assert.ok(a);
    const con: Duplex = await a.openConsole('mig1');
    let out = '';
    con.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor('the guest prompt', 90_000, () => {
        con.write('\r');
        return out.includes(GUEST_PROMPT);
      }, 1000).catch((e: unknown) => {
        throw new Error(`${String(e)}; the console gave ${JSON.stringify(out.slice(-300))}`);
      });
      const mark = randomBytes(6).toString('hex');
      con.write(`echo ${mark}-$((6*7))\r`);
      await waitFor('the command output', 15_000, () => out.includes(`${mark}-42`));
    } finally {
      con.destroy();
    }
  });

  test('live migration from the agentless node to the resident one, and back', async () => {
    const [a, r] = links;
    assert.ok(a && r);
    const there = await migrate(a, n2);
    assert.equal(there.status, 'completed', JSON.stringify(there));
    assert.deepEqual((await rows(r)).filter((v) => v.name === 'mig1').map((v) => v.state), ['running'], 'the resident agent on n2 has it running');
    await waitFor('mig1 gone from n1', 20_000, async () => !(await rows(a)).some((v) => v.name === 'mig1' && v.state === 'running'));
    const back = await migrate(r, n1);
    assert.equal(back.status, 'completed', JSON.stringify(back));
    await waitFor('mig1 running on the agentless n1 again', 20_000, async () => (await rows(a)).some((v) => v.name === 'mig1' && v.state === 'running'));
  });
});
