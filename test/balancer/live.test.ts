// Level 2 on a live cluster: real node agents (XML-RPC over loopback HTTP)
// reached through the front end's transport (openDirectLink), over simulated
// hypervisors (the product's sim, marked simulated). One node is made hot; the
// plan moves VMs off it, apply migrates them through vm.migrate + job.get, and
// the target agent then lists them. Also: evacuation, and unreachable nodes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startAgent, type RunningAgent } from '../../src/agent/index.js';
import { agentSource, bucketize } from '../../src/balancer/agent-source.js';
import { applyMoves, planLive, type ClusterSource } from '../../src/balancer/live.js';
import { createSimCluster, type SimCluster } from '../../src/libvirt/sim/index.js';
import { openDirectLink, type NodeLink } from '../../src/link/index.js';

test_bucketize();

function test_bucketize(): void {
  describe('bucketize', () => {
    it('averages samples into periods ending now; empty periods repeat the last value', () => {
      assert.deepEqual(bucketize([1, 2, 3, 4, 7, 8], [1, 1, 3, 3, 5, 7], 8, 2, 4), [1, 3, 3, 6]);
      assert.deepEqual(bucketize([], [], 8, 2, 4), []);
    });
  });
}

describe('vem balance plan/apply through real agents (simulated hypervisors)', { timeout: 120_000 }, () => {
  let sim: SimCluster;
  const agents: RunningAgent[] = [];
  const links: NodeLink[] = [];
  let src: ClusterSource;
  let hotIdx = 0;
  const names = (a: RunningAgent): string[] => [...a.core.collector.vms.values()].filter((e) => e.last.state?.state === 'running').map((e) => e.name);

  before(async () => {
    sim = createSimCluster({ nodes: 3, vmsPerNode: 16, seed: 5, timeScale: 1 });
    // The node with the most vCPUs per core runs its VMs flat out; the others idle.
    const ratio: number[] = [];
    for (const hv of sim.hypervisors) {
      const infos = await Promise.all((await hv.listDomains({ active: true })).map((d) => hv.domainInfo(d.name)));
      ratio.push(infos.reduce((s, i) => s + i.vcpus, 0) / (await hv.hostInfo()).node.cpus);
    }
    hotIdx = ratio.indexOf(Math.max(...ratio));
    assert.ok((ratio[hotIdx] as number) > 1, `no node can be made hot (${ratio.join(', ')})`);
    for (const [i, hv] of sim.hypervisors.entries()) {
      const u = i === hotIdx ? 1 : 0.02;
      for (const d of await hv.listDomains({ active: true })) hv.setWorkload(d.name, { kind: 'idle', base: u, peak: u, noise: 0, dirtyBpsPerCore: 1024 * 1024 });
      const a = await startAgent({ hypervisor: hv, listen: '127.0.0.1:0', pollMs: 100, plugins: false });
      agents.push(a);
      links.push(openDirectLink(hv.node, a.url));
    }
    src = agentSource(links, {
      periodSec: 0.2, samples: 5, pollMs: 50,
      destUri: new Map(sim.hypervisors.map((h) => [h.node, `sim://${h.node}`])),
    });
    await new Promise((r) => setTimeout(r, 1500)); // a few planning periods of history
  });

  after(async () => {
    await Promise.all(links.map((l) => l.close()));
    await Promise.all(agents.map((a) => a.close()));
    await sim?.close();
  });

  it('the snapshot reads nodes, VMs and CPU histories from the agents', async () => {
    const s = await src.snapshot();
    assert.equal(s.nodes.length, 3);
    assert.ok(s.nodes.every((n) => n.reachable && n.cores >= 1 && n.memMiB > 0 && n.cpuHistory.length >= 3));
    const hotNode = s.nodes.find((n) => n.name === sim.hypervisors[hotIdx]?.node);
    assert.ok(hotNode && hotNode.cpuHistory.at(-1)! > 0.8, `hot node at ${hotNode?.cpuHistory.join(',')}`);
  });

  it('`vem balance plan --cluster F --json` recommends moves off the hot node (cluster file with url: nodes)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vem-balance-plan-'));
    try {
      const file = join(dir, 'cluster.yaml');
      writeFileSync(file, 'nodes:\n' + sim.hypervisors.map((h, i) => `  - name: ${h.node}\n    url: ${agents[i]?.url}\n`).join(''));
      const cli = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli.js');
      const dest = sim.hypervisors.flatMap((h) => ['--dest-uri', `${h.node}=sim://${h.node}`]);
      const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [cli, 'balance', 'plan', '--cluster', file, '--period', '0.2', '--json', ...dest], { timeout: 60_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
      });
      assert.equal(out.code, 0, out.stderr);
      const j = JSON.parse(out.stdout.trim().split('\n').at(-1) as string) as { nodes: number; moves: Array<{ vm: string; from: string; to: string }> };
      assert.equal(j.nodes, 3);
      assert.ok(j.moves.length > 0 && j.moves.every((m) => m.from === sim.hypervisors[hotIdx]?.node), out.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('plan moves VMs off the hot node; apply migrates them and the target agent lists them', async () => {
    const hotName = sim.hypervisors[hotIdx]?.node as string;
    const { moves } = await planLive(src);
    assert.ok(moves.length >= 1, 'a migration should be recommended');
    assert.ok(moves.every((m) => m.from === hotName && m.reason === 'hotspot'));
    // Carry out the recommendation for the smallest VM (the others are dismissed): a migration takes real seconds.
    const vmMem = new Map((await src.snapshot()).vms.map((v) => [v.name, v.memMiB]));
    const chosen = [...moves].sort((x, y) => (vmMem.get(x.vm) ?? 0) - (vmMem.get(y.vm) ?? 0)).slice(0, 1);
    const results = await applyMoves(src, chosen, 2);
    assert.ok(results.length === 1 && results.every((r) => r.ok), JSON.stringify(results));
    for (const m of chosen) {
      const to = agents[sim.hypervisors.findIndex((h) => h.node === m.to)] as RunningAgent;
      await to.collectNow();
      assert.ok(names(to).includes(m.vm), `${m.vm} should now run on ${m.to}`);
    }
    // Right after, the moved VMs are in their cooldown: a new plan does not move them again.
    const again = await planLive(src);
    assert.ok(again.moves.every((m) => !chosen.some((x) => x.vm === m.vm)));
  });

  it('evacuation plans every VM off the node; an unreachable node takes none', async () => {
    // Evacuate a cool node b; node c is cut off (a dead URL), so only a may take VMs.
    const order = [0, 1, 2].filter((i) => i !== hotIdx);
    const a = sim.hypervisors[hotIdx === 0 ? 1 : 0]?.node as string;
    const b = sim.hypervisors[order.find((i) => sim.hypervisors[i]?.node !== a) as number]?.node as string;
    const c = sim.hypervisors[hotIdx]?.node as string;
    const live = links.filter((l) => l.name !== c);
    const s2 = agentSource(live.concat([openDirectLink(c, 'http://127.0.0.1:1/')]), {
      periodSec: 0.2, samples: 5, destUri: new Map([[a, `sim://${a}`], [b, `sim://${b}`], [c, `sim://${c}`]]),
    });
    const { snapshot, moves, evacuation } = await planLive(s2, { evacuate: [b] });
    assert.equal(snapshot.nodes.find((n) => n.name === c)?.reachable, false);
    // Every VM of b, stopped and paused ones too (those move offline / live).
    const onB = snapshot.vms.filter((v) => v.node === b).map((v) => v.name).sort();
    assert.deepEqual(evacuation.remaining, []);
    for (const m of moves.filter((x) => x.reason === 'evacuation')) {
      assert.equal(m.live, snapshot.vms.find((v) => v.name === m.vm)?.state !== 'shutoff', `${m.vm} moves ${m.live === false ? 'offline' : 'live'}`);
    }
    const planned = moves.filter((m) => m.reason === 'evacuation');
    assert.ok(planned.every((m) => m.to === a));
    // Node a has room for all of b's VMs (memory is the binding limit here), so b is emptied.
    const memOn = (node: string): number => snapshot.vms.filter((v) => v.node === node).reduce((t, v) => t + v.memMiB, 0);
    const nodeA = snapshot.nodes.find((n) => n.name === a);
    assert.ok(nodeA && memOn(a) + memOn(b) <= nodeA.memMiB, 'precondition: a can hold b\'s VMs');
    assert.deepEqual(planned.map((m) => m.vm).sort(), onB);
  });
});
