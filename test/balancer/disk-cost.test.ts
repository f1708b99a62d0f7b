// The balancer's move cost counts the disk bytes a migration copies, by vm.migrate's own
// per-disk rule (src/common/migrate-storage.ts): a target pool holding the file = shared,
// a target pool at the disk's folder without it = copied, no pool or no room = the VM is
// not planned there. Unknown disks are costed by memory alone and read as unknown.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_LEVEL2, planLevel2 } from '../../src/balancer/level2.js';
import { migrationSeconds } from '../../src/balancer/cluster.js';
import { planEvacuation, type EvacNode, type EvacVm } from '../../src/balancer/evacuate.js';
import { copyText, planLive, storageNotes, type ClusterSource, type LiveSnapshot } from '../../src/balancer/live.js';
import { agentSource } from '../../src/balancer/agent-source.js';
import { planStorage, type SizedDisk, type TargetPool, type VmDisks } from '../../src/common/migrate-storage.js';
import type { HostState, PlanInput, VmState } from '../../src/balancer/types.js';
import { startAgent, type RunningAgent } from '../../src/agent/index.js';
import { createSimCluster, type SimCluster } from '../../src/libvirt/sim/index.js';
import { openDirectLink, type NodeLink } from '../../src/link/index.js';

const GiB = 1024 ** 3;
const DIR = '/var/lib/libvirt/images';
const N = 20;

const disksOf = (name: string, allocation = 2 * GiB): VmDisks => ({
  domainType: 'kvm',
  disks: [{ target: 'vda', device: 'disk', type: 'file', path: `${DIR}/${name}.qcow2`, format: 'qcow2', shared: false, hasBacking: false, size: { capacity: 20 * GiB, allocation, format: 'qcow2' } }],
});
const pool = (files: string[], available = 100 * GiB, path = DIR): TargetPool => ({ name: 'default', type: 'dir', path, running: true, available, volumes: new Set(files) });

/** h1 runs hot (four 1-core VMs on 4 cores), h2 idles; each VM has one 2 GiB (allocated) qcow2 disk unless told. */
function hot(o: { h2?: TargetPool[]; h3?: TargetPool[]; disks?: boolean; six?: boolean } = {}): PlanInput {
  const names = o.six ? ['a', 'b', 'c', 'd', 'e', 'f'] : ['a', 'b', 'c', 'd'];
  const cores = o.six ? 0.65 : 1;
  const hosts: HostState[] = [
    { name: 'h1', cores: 4, memMiB: 65_536, cpuHistory: Array<number>(N).fill(1), pools: [pool(names.map((n) => `${n}.qcow2`))] },
    { name: 'h2', cores: 4, memMiB: 65_536, cpuHistory: Array<number>(N).fill(0), ...(o.h2 ? { pools: o.h2 } : {}) },
  ];
  if (o.h3) hosts.push({ name: 'h3', cores: 4, memMiB: 65_536, cpuHistory: Array<number>(N).fill(0), pools: o.h3 });
  const vms: VmState[] = names.map((n) => ({
    name: n, host: 'h1', cpuHistory: Array<number>(N).fill(cores), memMiB: 1024, vcpus: 2, ...(o.disks === false ? {} : { disks: disksOf(n) }),
  }));
  return { now: 10_000, period: 60, hosts, vms, inflight: [] };
}

const memSecs = migrationSeconds(1024, 16, DEFAULT_LEVEL2.bandwidthMiBs);

describe('level 2 costs a move with its disks', () => {
  it('a disk the target has no file of is copied: its bytes are vm.migrate\'s, its seconds are added, the score pays for them', () => {
    const copy = planLevel2(hot({ h2: [pool([])] }));
    const shared = planLevel2(hot({ h2: [pool(['a.qcow2', 'b.qcow2', 'c.qcow2', 'd.qcow2'])] }));
    assert.ok(copy.length > 0 && shared.length > 0, 'h1 is relieved either way');
    const m = copy[0]!;
    const s = shared.find((x) => x.vm === m.vm && x.to === m.to)!;
    assert.ok(s, `the same move with shared storage: ${JSON.stringify(shared)}`);
    // The bytes are exactly what vm.migrate's planner copies for this VM and target.
    const vm = hot().vms.find((v) => v.name === m.vm)!;
    const plan = planStorage(vm.disks!.disks, (d) => (d as SizedDisk).size, { node: 'h2', pools: [pool([])] });
    assert.equal(m.diskBytes, plan.disks.reduce((t, d) => t + (d.bytes ?? 0), 0));
    assert.equal(m.diskBytes, 2 * GiB, 'a single qcow2 copies its allocation, not its 20 GiB capacity');
    assert.equal(s.diskBytes, 0, 'shared storage copies nothing (known, not unknown)');
    const diskSecs = 2048 / DEFAULT_LEVEL2.bandwidthMiBs;
    assert.ok(Math.abs(m.estSeconds - (memSecs + diskSecs)) < 1e-9, `${m.estSeconds} = ${memSecs} + ${diskSecs}`);
    assert.ok(Math.abs(s.estSeconds - memSecs) < 1e-9);
    assert.ok(Math.abs(s.score - m.score - diskSecs / DEFAULT_LEVEL2.horizonSec) < 1e-9, `score ${s.score} vs ${m.score}`);
  });

  it('a target without a pool at the disk\'s folder is not planned; one with it is', () => {
    assert.deepEqual(planLevel2(hot({ h2: [pool([], 100 * GiB, '/srv/other')] })), [], 'no target can take the disks: nothing moves');
    const moves = planLevel2(hot({ h2: [pool([], 100 * GiB, '/srv/other')], h3: [pool([])] }));
    assert.ok(moves.length > 0);
    for (const m of moves) assert.equal(m.to, 'h3', JSON.stringify(m));
  });

  it('the copies planned into one pool share its free space', () => {
    // Room for one 2 GiB copy in h2; the relief wants two moves (six 0.65-core VMs: 97.5 %, then 81 %, hot above 80 %).
    const roomy = planLevel2(hot({ six: true, h2: [pool([], 100 * GiB)] }), { ...DEFAULT_LEVEL2, maxPerNode: 4 });
    const tight = planLevel2(hot({ six: true, h2: [pool([], 3 * GiB)] }), { ...DEFAULT_LEVEL2, maxPerNode: 4 });
    assert.ok(roomy.length >= 2, JSON.stringify(roomy));
    assert.equal(tight.length, 1, JSON.stringify(tight));
  });

  it('unknown disks or pools: costed by memory alone, never ruled out, and the move says unknown', () => {
    for (const input of [hot({ disks: false, h2: [pool([], 0, '/srv/other')] }), hot({})]) {
      const moves = planLevel2(input);
      assert.ok(moves.length > 0);
      for (const m of moves) {
        assert.equal(m.diskBytes, undefined);
        assert.ok(Math.abs(m.estSeconds - memSecs) < 1e-9);
        assert.equal(copyText(1024, m), 'copy 1G + disk ?');
      }
    }
    assert.equal(copyText(160, { diskBytes: 2 * GiB }), 'copy 160M + disk 2G');
    assert.equal(copyText(160, { diskBytes: 0 }), 'copy 160M + disk 0');
    assert.equal(copyText(160, { live: false }), 'definition only (offline)');
  });
});

describe('what storage rules out, for "Ruled out" and vem balance', () => {
  it('names the VM, the nodes its disks cannot go to and why, and what is assumed where nothing is known', () => {
    const node = (name: string, pools?: TargetPool[]): LiveSnapshot['nodes'][number] => ({ name, cores: 4, memMiB: 8192, cpuHistory: [0], reachable: true, driver: 'QEMU', ...(pools ? { pools } : {}) });
    const vm = (name: string, on: string, disks?: VmDisks): LiveSnapshot['vms'][number] => ({ name, node: on, vcpus: 1, memMiB: 512, cpuHistory: [0], running: true, ...(disks ? { disks } : {}) });
    const s: LiveSnapshot = {
      now: 0, period: 1, inflight: [],
      nodes: [node('n1', [pool(['a.qcow2'])]), node('n2', [pool([], 100 * GiB, '/srv')]), node('n3', [pool([])]), node('old')],
      vms: [vm('n1/a', 'n1', disksOf('a')), vm('n1/b', 'n1')],
    };
    assert.deepEqual(storageNotes(s), [
      `a: its disks cannot go to n2: n2 has no storage pool at ${DIR} for disk vda (${DIR}/a.qcow2): define and start one there (virsh pool-define-as NAME dir --target ${DIR}; virsh pool-start NAME), or pass copyStorage: false if the disk is on storage both nodes share`,
      'disk bytes unknown for b (definition not read, or an agent without node.migrationStorage): their moves are costed by memory alone (disk ?)',
      'storage pools unknown on old (an agent without node.migrationStorage): moves there are costed by memory alone (disk ?) and vm.migrate decides',
    ]);
  });
});

describe('evacuation places disks too', () => {
  const node = (name: string, pools?: TargetPool[]): EvacNode => ({ name, cores: 8, memMiB: 65_536, ...(pools ? { pools } : {}) });
  const vm = (name: string): EvacVm => ({ name, node: 'e', state: 'running', memMiB: 1024, cpu: 0.5, disks: disksOf(name) });

  it('a VM goes where its disks fit; one that fits nowhere stays, with the storage reason', () => {
    const plan = planEvacuation(['e'], [node('e', [pool(['x.qcow2', 'y.qcow2'])]), node('t1', [pool([], 3 * GiB)]), node('t2', [pool([], 100 * GiB, '/srv')])], [vm('x'), vm('y')]);
    assert.equal(plan.moves.length, 1, JSON.stringify(plan));
    assert.equal(plan.moves[0]?.to, 't1');
    assert.equal(plan.moves[0]?.diskBytes, 2 * GiB);
    assert.ok(Math.abs((plan.moves[0]?.estSeconds ?? 0) - migrationSeconds(1024, 8, 119, 2048)) < 1e-9);
    const left = plan.remaining[0];
    assert.equal(left?.code, 'storage');
    assert.match(left?.reason ?? '', /its disks cannot be placed on any node: t1: t1's pool default has 1\.0 GiB free, the copy of vda needs 2\.0 GiB.*t2: t2 has no storage pool at \/var\/lib\/libvirt\/images/);
  });

  it('unknown pools on the target: the VM moves, costed by memory alone', () => {
    const plan = planEvacuation(['e'], [node('e'), node('t1')], [vm('x')]);
    assert.equal(plan.moves.length, 1);
    assert.equal(plan.moves[0]?.diskBytes, undefined);
  });
});

describe('the live plan over simulated agents shows the disk bytes', { timeout: 120_000 }, () => {
  let sim: SimCluster;
  const agents: RunningAgent[] = [];
  const links: NodeLink[] = [];
  let src: ClusterSource;

  before(async () => {
    sim = createSimCluster({ nodes: 2, vmsPerNode: 3, seed: 5, timeScale: 1 });
    for (const hv of sim.hypervisors) {
      const a = await startAgent({ hypervisor: hv, listen: '127.0.0.1:0', pollMs: 100, plugins: false });
      agents.push(a);
      links.push(openDirectLink(hv.node, a.url));
    }
    src = agentSource(links, { periodSec: 0.2, samples: 5, pollMs: 50, destUri: new Map(sim.hypervisors.map((h) => [h.node, `sim://${h.node}`])) });
    await new Promise((r) => setTimeout(r, 1500));
  });

  after(async () => {
    await Promise.all(links.map((l) => l.close()));
    await Promise.all(agents.map((a) => a.close()));
    await sim?.close();
  });

  it('an evacuation copies each running VM\'s disk allocation (the other node has the pool, not the file)', async () => {
    const from = sim.hypervisors[0]!.node;
    let snap: LiveSnapshot | undefined;
    const r = await planLive({ snapshot: async () => (snap = await src.snapshot()), migrate: () => Promise.resolve() }, { evacuate: [from] });
    const seen = snap as LiveSnapshot | undefined;
    assert.ok(seen && seen.nodes.every((n) => n.pools && n.pools.length > 0), 'every node reports its pools');
    const live = r.moves.filter((m) => m.live !== false);
    assert.ok(live.length > 0, JSON.stringify(r.evacuation));
    for (const m of live) {
      const v: LiveSnapshot['vms'][number] = seen.vms.find((x) => x.name === m.vm)!;
      const want: number = v.disks!.disks.filter((d) => d.device === 'disk' && !d.shared).reduce((t, d) => t + Math.min(d.size!.capacity, d.size!.allocation), 0);
      assert.ok(want > GiB, `${m.vm} has a real disk (${want})`);
      assert.equal(m.diskBytes, want, `${m.vm}: ${copyText(v.memMiB, m)}`);
      assert.ok(m.estSeconds > want / 1024 ** 2 / DEFAULT_LEVEL2.bandwidthMiBs, 'the time counts the copy');
    }
    assert.deepEqual(storageNotes(seen).filter((l) => /unknown/.test(l)), [], 'nothing unknown on agents that report it');
  });
});
