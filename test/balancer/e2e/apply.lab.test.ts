// `vem balance` level 2 on real libvirt: two lab nodes (libvirtd each, live
// migration between them), a node agent on each over the libvirt client, the
// front end's transport to the agents. Evacuating node 1 plans its guest onto
// node 2; apply runs the live migration through vm.migrate + job.get, and
// virsh on node 2 then lists the guest running.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type RunningAgent } from '../../../src/agent/index.js';
import { agentSource } from '../../../src/balancer/agent-source.js';
import { applyMoves, planLive, type ClusterSource } from '../../../src/balancer/live.js';
import { connectLibvirt, type LibvirtClient } from '../../../src/libvirt/client/index.js';
import { openDirectLink, type NodeLink } from '../../../src/link/index.js';
import { buildGuestImage, guestDomainXml, requireLab, startLab, type Lab, type LabNode } from '../../lab/index.js';

const skip = requireLab(undefined, ['libvirt', 'qemu', 'guest']);

describe('level 2 evacuation and apply on real libvirt (two lab nodes)', { skip: skip ?? false, timeout: 300_000 }, () => {
  let lab: Lab;
  let n1: LabNode;
  let n2: LabNode;
  const clients: LibvirtClient[] = [];
  const agents: RunningAgent[] = [];
  const links: NodeLink[] = [];
  let src: ClusterSource;

  before(async () => {
    const [l, image] = await Promise.all([startLab({ nodes: 2, name: 'balancer-l2' }), buildGuestImage({ node: false })]);
    lab = l;
    n1 = lab.nodes[0] as LabNode;
    n2 = lab.nodes[1] as LabNode;
    for (const n of [n1, n2]) {
      const c = await connectLibvirt(n.qemuUnixUri);
      clients.push(c);
      const a = await startAgent({ hypervisor: c, listen: '127.0.0.1:0', pollMs: 500, plugins: false });
      agents.push(a);
      links.push(openDirectLink(n.name, a.url));
    }
    await clients[0]?.defineDomain(guestDomainXml({ name: 'mover', kernel: image.kernel, initrd: image.initrd, memoryMiB: 192 }));
    await clients[0]?.start('mover');
    src = agentSource(links, {
      periodSec: 1, samples: 3, pollMs: 250,
      destUri: new Map([[n1.name, n1.qemuUri], [n2.name, n2.qemuUri]]),
    });
    await new Promise((r) => setTimeout(r, 3000)); // a few samples of history in the agents
  });

  after(async () => {
    await Promise.all(links.map((l) => l.close().catch(() => undefined)));
    await Promise.all(agents.map((a) => a.close().catch(() => undefined)));
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await lab?.stop();
  });

  it('evacuating node 1 plans its guest onto node 2; apply migrates it live', async () => {
    const { snapshot, moves } = await planLive(src, { evacuate: [n1.name] });
    assert.deepEqual(snapshot.vms.filter((v) => v.running).map((v) => [v.name, v.node]), [['mover', n1.name]]);
    assert.deepEqual(moves.map((m) => [m.vm, m.from, m.to, m.reason]), [['mover', n1.name, n2.name, 'evacuation']]);
    const results = await applyMoves(src, moves);
    assert.ok(results.length === 1 && results[0]?.ok, JSON.stringify(results));
    assert.match(await n2.virsh(n2.qemuUnixUri, 'domstate', 'mover'), /running/);
    // Gone from node 1 altogether (not left behind as a stopped definition, which evacuation would move offline).
    assert.doesNotMatch(await n1.virsh(n1.qemuUnixUri, 'list', '--all', '--name'), /mover/);
    // The moved guest is in its cooldown and node 1 is empty: nothing more to do.
    await Promise.all(agents.map((a) => a.collectNow()));
    const again = await planLive(src, { evacuate: [n1.name] });
    assert.deepEqual(again.moves, []);
  });

  it('evacuating node 2 while node 1 is in maintenance: nowhere to go, so no move', async () => {
    const { moves } = await planLive(src, { evacuate: [n2.name], maintenance: [n1.name] });
    assert.deepEqual(moves, []);
  });
});
