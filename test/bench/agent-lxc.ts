/**
 * Collection on an LXC lab node with 50 running containers, where the driver has no bulk stats:
 * the agent's per-domain route (one list call, then every container's GetInfo, memory stats,
 * block stats and interface stats issued at once on one connection) against virsh doing the same
 * calls (list, then dominfo, dommemstat, domblkstat and domifstat for each, in one virsh session).
 * Each container has one veth ('ethernet' interface), so interface stats are asked for real.
 * Alternated rounds, medians -> lxc_collect_ratio (agent / virsh).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerDomainXml, startLab } from '../lab/index.js';

/** The lab's container with one 'ethernet' veth (host side `dev`): no bridge or network needed. */
function withVeth(xml: string, dev: string): string {
  return xml.replace('</devices>', `  <interface type='ethernet'><target dev='${dev}'/></interface>\n  </devices>`);
}
import { capabilitiesOf, domainStats } from '../../src/libvirt/capabilities.js';
import { connectLibvirt } from '../../src/libvirt/client/index.js';

const CONTAINERS = 50;
const ROUNDS = 15;

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;

export async function lxcCollect(log: (m: string) => void): Promise<{ ratio: number; agentMs: number; virshMs: number; virshStartMs: number; containers: number }> {
  const lab = await startLab({ nodes: 1, name: 'bench-lxc', lxc: true });
  try {
    const n = lab.nodes[0];
    if (!n) throw new Error('no lab node');
    const uri = n.lxcUnixUri;
    const names = Array.from({ length: CONTAINERS }, (_, i) => `c${String(i).padStart(2, '0')}`);
    for (const name of names) {
      const xml = join(lab.dir, `${name}.xml`);
      writeFileSync(xml, withVeth(containerDomainXml({ name }), `vb${name}`));
      await n.virsh(uri, 'define', xml);
      await n.virsh(uri, 'start', name);
    }
    const hv = await connectLibvirt(uri, { timeoutMs: 30_000 });
    try {
      const first = await domainStats(hv);
      if (capabilitiesOf(hv).statsRoute !== 'per-domain') throw new Error(`expected the per-domain route on LXC, got ${capabilitiesOf(hv).statsRoute}`);
      if (first.filter((s) => s.cpu).length !== CONTAINERS) throw new Error(`expected ${CONTAINERS} running containers with CPU, got ${first.length}`);
      // The figures the route is there for: a bench that silently measured fewer calls would flatter it.
      const full = first.filter((s) => s.balloon?.rssKiB !== undefined && s.block && s.net?.length === 1).length;
      if (full !== CONTAINERS) throw new Error(`expected memory, block and interface stats for ${CONTAINERS} containers, got ${full}: ${JSON.stringify(capabilitiesOf(hv).unsupported)}`);
      // One virsh session doing the same calls: list, then per container its info and the three stats calls.
      const script = ['list --all', ...names.flatMap((x) => [`dominfo ${x}`, `dommemstat ${x}`, `domblkstat ${x}`, `domifstat ${x} vb${x}`])].join(' ; ');
      const a: number[] = [];
      const v: number[] = [];
      const conn: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        let t = performance.now();
        await domainStats(hv);
        a.push(performance.now() - t);
        t = performance.now();
        await n.virsh(uri, script);
        v.push(performance.now() - t);
        // virsh's own start and connect, so the reader can see what the calls alone cost.
        t = performance.now();
        await n.virsh(uri, 'uri');
        conn.push(performance.now() - t);
      }
      const agentMs = median(a);
      const virshMs = median(v);
      const virshStartMs = median(conn);
      log(`lxc: ${CONTAINERS} running containers, per-domain route ${agentMs.toFixed(2)} ms, virsh list + ${CONTAINERS} x (dominfo, dommemstat, domblkstat, domifstat) ${virshMs.toFixed(2)} ms in one session [of which virsh start + connect ${virshStartMs.toFixed(2)} ms] (medians of ${ROUNDS}) -> lxc_collect_ratio ${(agentMs / virshMs).toFixed(2)}`);
      return { ratio: agentMs / virshMs, agentMs, virshMs, virshStartMs, containers: CONTAINERS };
    } finally {
      await hv.close();
    }
  } finally {
    await lab.stop();
  }
}
