// Level 1 end to end on real libvirt: a lab node (libvirtd with cgroups) runs two
// TCG guests with a virtio balloon; the real agent (startAgent over the libvirt
// client) collects and calls level 1 after each collection. A guest burning CPU
// gets its shares raised; under a configured memory budget (host memory
// pressure) the idle guest's balloon is lowered. Read back with virsh
// schedinfo and virsh dommemstat.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startAgent, type RunningAgent } from '../../../src/agent/index.js';
import { XmlRpcClient } from '../../../src/common/xmlrpc/client.js';
import { isStruct } from '../../../src/common/xmlrpc/value.js';
import { connectLibvirt, type LibvirtClient } from '../../../src/libvirt/client/index.js';
import { buildGuestImage, guestDomainXml, requireLab, startLab, type Lab, type LabNode } from '../../lab/index.js';

const skip = requireLab(undefined, ['libvirt', 'qemu', 'guest']);
const MiB = 1024;

function field(text: string, name: string): number {
  const m = new RegExp(`^\\s*${name}\\s*[:]?\\s+(\\d+)`, 'm').exec(text);
  if (!m) throw new Error(`no ${name} in:\n${text}`);
  return Number(m[1]);
}

async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('level 1 on real libvirt (TCG guests, balloon, cgroups)', { skip: skip ?? false, timeout: 300_000 }, () => {
  let lab: Lab;
  let n1: LabNode;
  let hv: LibvirtClient;
  let agent: RunningAgent;
  let rpc: XmlRpcClient;
  const virsh = (...a: string[]): Promise<string> => n1.virsh(n1.qemuUnixUri, ...a);

  before(async () => {
    // The guest burns CPU when its kernel command line says so; otherwise it idles.
    const burn = 'grep -q vem.burn /proc/cmdline && ( while :; do :; done ) &';
    const [l, image] = await Promise.all([startLab({ nodes: 1, name: 'balancer-l1', cgroups: true }), buildGuestImage({ node: false, startup: [burn] })]);
    lab = l;
    n1 = lab.nodes[0] as LabNode;
    hv = await connectLibvirt(n1.qemuUnixUri);
    await hv.createDomain(guestDomainXml({ name: 'burner', kernel: image.kernel, initrd: image.initrd, memoryMiB: 256, cmdline: 'vem.burn' }));
    await hv.createDomain(guestDomainXml({ name: 'idler', kernel: image.kernel, initrd: image.initrd, memoryMiB: 256 }));
    // Wait until both guests report balloon statistics (the driver is loaded at boot).
    await until('balloon stats', 90_000, async () => {
      const s = await hv.allDomainStats();
      return s.length === 2 && s.every((d) => d.balloon?.unusedKiB !== undefined) ? true : undefined;
    });
    agent = await startAgent({ hypervisor: hv, listen: '127.0.0.1:0', pollMs: 1000 });
    rpc = new XmlRpcClient({ url: agent.url, timeoutMs: 30_000 });
  });

  after(async () => {
    await agent?.close().catch(() => undefined);
    await hv?.close().catch(() => undefined);
    await lab?.stop();
  });

  it('balancer.level1.* is served by the agent, off until enabled', async () => {
    const names = await rpc.call('system.listMethods');
    assert.ok(Array.isArray(names));
    for (const m of ['status', 'enable', 'disable', 'dryRun']) assert.ok(names.includes(`balancer.level1.${m}`), m);
    const st = await rpc.call('balancer.level1.status');
    assert.ok(isStruct(st) && st.enabled === false);
  });

  it('the guest burning CPU gets its shares raised above the idle one (virsh schedinfo)', async () => {
    const before1 = field(await virsh('schedinfo', 'burner'), 'cpu_shares');
    // A small idle claim (floorShare) so the contrast shows even when other work on this machine slows the burner.
    await rpc.call('balancer.level1.enable', { pressureFree: 0, floorShare: 0.1 });
    let seen = '';
    const shares = await until('shares to move', 60_000, async () => {
      const b = field(await virsh('schedinfo', 'burner'), 'cpu_shares');
      const i = field(await virsh('schedinfo', 'idler'), 'cpu_shares');
      seen = `burner ${b}, idler ${i}, status ${JSON.stringify(await rpc.call('balancer.level1.status'))}`;
      return b > before1 && b > 1.5 * i ? { b, i } : undefined;
    }).catch((e: unknown) => {
      throw new Error(`${String(e)}; last seen: ${seen}`);
    });
    assert.ok(shares.b > before1, `burner shares ${shares.b}, were ${before1}`);
    const st = await rpc.call('balancer.level1.status');
    assert.ok(isStruct(st) && st.enabled === true && typeof st.ticks === 'number' && st.ticks > 0);
    await rpc.call('balancer.level1.disable');
  });

  it("under host memory pressure the idle guest's balloon is lowered (virsh dommemstat)", async () => {
    const actual0 = field(await virsh('dommemstat', 'idler'), 'actual');
    assert.equal(actual0, 256 * MiB);
    // A memory budget a little above the two balloons: free memory under 20 % of it is pressure.
    const budget = 2 * 256 * MiB + 40 * MiB;
    const dry = await rpc.call('balancer.level1.dryRun');
    assert.ok(isStruct(dry) && Array.isArray(dry.decisions));
    await rpc.call('balancer.level1.enable', { memBudgetKiB: budget });
    const actual = await until('the idle balloon to shrink', 60_000, async () => {
      const a = field(await virsh('dommemstat', 'idler'), 'actual');
      return a < actual0 ? a : undefined;
    });
    assert.ok(actual < actual0, `idler balloon ${actual} KiB`);
    const st = await rpc.call('balancer.level1.status');
    assert.ok(isStruct(st) && isStruct(st.last) && st.last.pressure === true, JSON.stringify(st));
    await rpc.call('balancer.level1.disable');
  });
});
