// The agent on a real LXC lab node gives a running container's memory in use and its network and
// disk rates (issue 12): the per-domain route asks libvirt's LXC driver for virDomainMemoryStats,
// virDomainInterfaceStats (its veth, named in the live XML) and virDomainBlockStats (the blkio
// cgroup's total), and vm.list's figures are checked against virsh dommemstat and domifstat.
// The container's interface is an 'ethernet' veth (no bridge or network needed); its init puts an
// address on it and sends UDP to an absent neighbour, so ARP requests leave it all the time.
// Under CI=true a missing piece fails instead of skipping.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireLab, startLab } from '../lab/index.js';
import { connectLibvirt } from '../../src/libvirt/client/index.js';
import { startAgent } from '../../src/agent/index.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/index.js';
import { waitFor } from './e2e-helpers.js';

const VETH = 'vemst0';
const SCRIPT = 'ip addr add 169.254.77.2/24 dev eth0; ip link set eth0 up; ' +
  "while :; do bash -c 'echo x > /dev/udp/169.254.77.3/9' 2>/dev/null; sleep 0.2; done";

function containerXml(name: string): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');
  return `<domain type='lxc'>
  <name>${name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>${esc(SCRIPT)}</initarg></os>
  <devices>
    <console type='pty'/>
    <interface type='ethernet'><mac address='52:54:00:77:00:01'/><target dev='${VETH}'/></interface>
  </devices>
</domain>
`;
}

/** "rss 43940" lines of virsh dommemstat / domifstat, as numbers by key. */
function fields(out: string): Record<string, number> {
  const o: Record<string, number> = {};
  for (const line of out.split('\n')) {
    const m = /(\S+)\s+(-?\d+)\s*$/.exec(line.trim());
    if (m) o[m[1] as string] = Number(m[2]);
  }
  return o;
}

test('agent over an LXC lab node: a container\'s memory in use and its veth\'s rates in vm.list, checked with virsh', { timeout: 120_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'lxc']) !== null) return;
  const lab = await startLab({ nodes: 1, name: 'agent-lxc-stats', lxc: true });
  t.after(() => lab.stop());
  const n = lab.nodes[0];
  assert.ok(n);
  const virsh = (...a: string[]): Promise<string> => n.virsh(n.lxcUnixUri, ...a);
  const xml = join(lab.dir, 'talk.xml');
  writeFileSync(xml, containerXml('talk'));
  await virsh('define', xml);
  await virsh('start', 'talk');
  t.after(() => virsh('destroy', 'talk').catch(() => undefined));
  const token = randomBytes(24).toString('hex');
  const agent = await startAgent({
    hypervisor: () => connectLibvirt(n.lxcUnixUri, { timeoutMs: 20_000 }),
    listen: '127.0.0.1:0',
    token,
    pollMs: 500,
    auditLog: join(lab.dir, 'audit.jsonl'),
    plugins: false,
  });
  t.after(() => agent.close());
  const c = new XmlRpcClient({ url: agent.url, token, timeoutMs: 30_000 });
  t.after(() => c.close());

  type Row = { name: string; state: string; memKiB?: number; memUsedKiB?: number; diskRdBps?: number; diskWrBps?: number; netRxBps?: number; netTxBps?: number };
  const row = async (): Promise<Row | undefined> => ((await c.call('vm.list')) as Row[]).find((x) => x.name === 'talk');
  // ARP requests leave the container every 0.2 s: the veth's counters move, and vm.list says so.
  const talking = await waitFor('talk with network traffic in vm.list', async () => {
    const r = await row();
    return r && r.state === 'running' && (r.netRxBps ?? 0) + (r.netTxBps ?? 0) > 0 ? r : undefined;
  }, 30_000, 500);
  const ifs = fields(await virsh('domifstat', 'talk', VETH));
  assert.ok((ifs['rx_bytes'] ?? 0) + (ifs['tx_bytes'] ?? 0) > 0, `virsh domifstat: ${JSON.stringify(ifs)}`);
  // The veth moves tens to hundreds of bytes a second here, nowhere near a gigabit.
  assert.ok((talking.netRxBps ?? 0) + (talking.netTxBps ?? 0) < 1e6, JSON.stringify(talking));

  // Memory in use is the cgroup's usage that virsh dommemstat calls rss, below the 128 MiB allocation.
  const r = await waitFor('a fresh vm.list row', row, 5_000, 200);
  const mem = fields(await virsh('dommemstat', 'talk'));
  const rss = mem['rss'];
  assert.ok(rss !== undefined && rss > 0, `virsh dommemstat: ${JSON.stringify(mem)}`);
  assert.equal(typeof r.memUsedKiB, 'number', JSON.stringify(r));
  const used = r.memUsedKiB ?? 0;
  assert.ok(used > 0 && used <= 128 * 1024, JSON.stringify(r));
  // Read half a second apart at most: an idle shell loop's usage moves by far less than this.
  assert.ok(Math.abs(used - rss) <= Math.max(4096, rss * 0.2), `agent ${used} KiB, virsh rss ${rss} KiB`);
  assert.equal(mem['actual'], 128 * 1024);
  // The blkio cgroup's total gives disk rates: a figure (0 B/s for a container writing nothing), not '-'.
  assert.equal(typeof r.diskRdBps, 'number', JSON.stringify(r));
  assert.equal(typeof r.diskWrBps, 'number', JSON.stringify(r));

  // The driver answered every per-domain call: nothing of it is listed as unsupported.
  const caps = ((await c.call('node.info')) as { capabilities?: { statsRoute?: string; unsupported: Record<string, string> } }).capabilities;
  assert.equal(caps?.statsRoute, 'per-domain');
  for (const k of ['memory-stats', 'interface-stats', 'block-stats']) assert.equal(caps?.unsupported[k], undefined, `${k}: ${caps?.unsupported[k] ?? ''}`);

  // Stopped, the container uses nothing and moves nothing: true zeros.
  await virsh('destroy', 'talk');
  const off = await waitFor('vm.list showing it stopped', async () => {
    const x = await row();
    return x?.state === 'shutoff' ? x : undefined;
  }, 10_000, 300);
  assert.equal(off.memUsedKiB, 0);
  assert.equal(off.netRxBps, 0);
});
