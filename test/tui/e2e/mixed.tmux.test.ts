/**
 * End-to-end: one `vem tui` over a mixed cluster of real lab nodes, in tmux: n1's agent on the
 * node's QEMU driver with a TCG guest, n2's on its LXC driver with a container burning CPU. Both
 * nodes listed with their driver, both VMs with live CPU; the container suspended, resumed,
 * destroyed and started again from the dashboard, each checked with virsh; a migration and a
 * snapshot of the container refused on the status line naming LXC and n2 (nothing sent: the
 * container keeps running), while the QEMU guest's migration dialog still opens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { BURN_SCRIPT, buildGuestImage, containerDomainXml, guestDomainXml, requireLab, startLab } from '../../lab/index.js';
import { haveTmux, tableRows, Tmux } from './tmux.js';
import { labCluster } from './lab-cluster.js';
import { need } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');

/** The CPU% cell of a VM table row (the figure after NAME NODE STATE VCPU MEM). */
function cpuOf(line: string): number | undefined {
  const m = /^[ *>] \S+\s+\S+\s+\S+\s+\d+\s+\S+\s+(\d+(?:\.\d+)?)%/.exec(line);
  return m ? Number(m[1]) : undefined;
}

test('vem tui over a QEMU node and an LXC node: both live, the container driven and its unsupported actions refused naming LXC', { timeout: 240_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'qemu', 'lxc', 'guest']) !== null) return;
  if (!need(t, haveTmux(), 'tmux')) return;
  const [lab, image] = await Promise.all([startLab({ nodes: 2, name: 'tuimixed', lxc: true }), buildGuestImage({ node: false })]);
  t.after(() => lab.stop());
  const [n1, n2] = lab.nodes;
  assert.ok(n1 && n2);
  const gxml = join(lab.dir, 'qg1.xml');
  writeFileSync(gxml, guestDomainXml({ name: 'qg1', kernel: image.kernel, initrd: image.initrd, memoryMiB: 256 }));
  await n1.virsh(n1.qemuUnixUri, 'define', gxml);
  await n1.virsh(n1.qemuUnixUri, 'start', 'qg1');
  const cxml = join(lab.dir, 'ct1.xml');
  writeFileSync(cxml, containerDomainXml({ name: 'ct1', script: BURN_SCRIPT }));
  const lxc = (...a: string[]): Promise<string> => n2.virsh(n2.lxcUnixUri, ...a);
  await lxc('define', cxml);
  await lxc('start', 'ct1');

  const cluster = await labCluster(t, lab.dir, [
    { node: n1, uri: n1.qemuUnixUri, auditLog: join(lab.dir, `${n1.name}-audit.jsonl`) },
    { node: n2, uri: n2.lxcUnixUri, auditLog: join(lab.dir, `${n2.name}-audit.jsonl`) },
  ]);

  const tm = new Tmux([process.execPath, VEM, 'tui', '--cluster', cluster], { width: 140, height: 36, cwd: ROOT });
  t.after(() => tm.kill());
  const live = await tm.waitFor((x) => {
    const rows = tableRows(x);
    const q = rows.find((r) => r.name === 'qg1' && r.node === n1.name && r.state === 'running');
    const c = rows.find((r) => r.name === 'ct1' && r.node === n2.name && r.state === 'running');
    return q !== undefined && c !== undefined && cpuOf(q.line) !== undefined && (cpuOf(c.line) ?? 0) > 20 && /nodes 2\/2 up/.test(x);
  }, 60_000, 'qg1 on n1 and ct1 on n2 running, both with a CPU figure, the container burning');
  // The node list names each node's driver.
  assert.match(live, new RegExp(`^[ >]${n1.name}\\s+up\\s+qemu\\b`, 'm'));
  assert.match(live, new RegExp(`^[ >]${n2.name}\\s+up\\s+lxc\\b`, 'm'));

  // Refused in the dashboard, naming the driver and node; nothing sent, the container runs on.
  const say = async (cmd: string, re: RegExp, what: string): Promise<string> => {
    tm.keys(':');
    tm.type(cmd);
    tm.keys('Enter');
    return tm.waitFor(re, 10_000, what);
  };
  const refusedMig = await say('migrate ct1', /migrate: not supported by the LXC driver on n2 \(/, 'the migration refused naming LXC and n2');
  assert.doesNotMatch(refusedMig, /Migrate ct1/, 'no migration dialog opened');
  await say('snapshots ct1', /snapshots: not supported by the LXC driver on n2 \(/, 'the snapshot refused naming LXC and n2');
  assert.match(await lxc('domstate', 'ct1'), /running/);

  // The QEMU guest on the other node still has its migration dialog.
  await say('migrate qg1', /Migrate qg1 .*from n1/, "qg1's migration dialog");
  tm.keys('Escape');
  await tm.waitFor((x) => !/Migrate qg1/.test(x), 5000, 'the dialog closed');

  // Lifecycle of the container from its keys, each checked with virsh.
  await say('filter ct1', /filter/, 'the filter');
  await tm.waitFor((x) => tableRows(x).length === 1 && tableRows(x)[0]?.name === 'ct1', 5000, 'only ct1 in the table');
  // ? names what ct1's driver lacks, above the key list.
  tm.keys('?');
  const help = await tm.waitFor(/Not available for ct1 on n2 \(LXC driver\)/, 5000, 'the help naming what ct1 cannot do');
  assert.match(help, /migrate: not supported by the LXC driver on n2/);
  tm.keys('?');
  await tm.waitFor((x) => !/Not available for ct1/.test(x), 5000, 'help closed');

  const virshState = async (re: RegExp, what: string): Promise<void> => {
    const deadline = Date.now() + 20_000;
    let s = '';
    while (Date.now() < deadline) {
      s = await lxc('domstate', 'ct1');
      if (re.test(s)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.fail(`virsh domstate ct1: ${s.trim()}, wanted ${what}`);
  };
  tm.keys('p');
  await virshState(/paused/, 'paused');
  await tm.waitFor((x) => tableRows(x)[0]?.state === 'paused', 10_000, 'ct1 paused in the table');
  tm.keys('P');
  await virshState(/running/, 'running');
  tm.keys('D');
  await tm.waitFor(/Force off \(destroy\) .*ct1/, 5000, 'the destroy confirmation');
  tm.keys('y');
  await virshState(/shut off/, 'shut off');
  await tm.waitFor((x) => tableRows(x)[0]?.state === 'shutoff', 10_000, 'ct1 shut off in the table');
  tm.keys('u');
  await virshState(/running/, 'running again');
  await tm.waitFor((x) => tableRows(x)[0]?.state === 'running', 10_000, 'ct1 running again in the table');

  tm.keys('q');
  assert.equal(await tm.waitExit(15_000), 0);
});
