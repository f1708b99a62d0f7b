/**
 * End-to-end: the real `vem demo --mixed` (simulated QEMU nodes plus a simulated LXC node and a
 * simulated Xen node, real agents on loopback, real direct links) in a real terminal (tmux): the
 * LXC and Xen nodes are listed and say their driver, every node is labelled SIMULATED, and a
 * migration of a container is refused on screen naming LXC, from what the LXC node's answers
 * taught the capability layer (no table of driver names in the dashboard).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { haveTmux, tableRows, Tmux } from './tmux.js';
import { skipUnless } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');

test('vem demo --mixed: LXC and Xen nodes with their driver, SIMULATED everywhere; a container migration is refused naming LXC', { skip: skipUnless(haveTmux(), 'tmux'), timeout: 90_000 }, async (t) => {
  const tm = new Tmux([process.execPath, VEM, 'demo', '--mixed', '--nodes', '4', '--vms', '16', '--seed', '7'], { width: 140, height: 45, cwd: ROOT });
  t.after(() => tm.kill());

  const filterTo = async (name: string): Promise<{ name: string; node: string; state: string }> => {
    tm.keys('/', 'C-u');
    tm.type(name);
    tm.keys('Enter');
    const s = await tm.waitFor((x) => tableRows(x).length === 1 && tableRows(x)[0]?.name === name, 5000, `only ${name}`);
    return tableRows(s)[0] as { name: string; node: string; state: string };
  };

  let container = '';
  let qemuVm = '';
  await t.test('the node list has QEMU, LXC and Xen nodes, each SIMULATED; Xen lists Domain-0', async () => {
    // 16 guests and Xen's control domain.
    const s = await tm.waitFor((x) => /VMs 17 of 17/.test(x) && /xen-01\s+up/.test(x) && /lxc-01\s+up/.test(x), 20_000, 'the overview');
    // The plain simulator says SIMULATED; the LXC and Xen nodes say which driver they simulate too.
    for (const [n, hv] of [['node-01', ''], ['node-02', ''], ['lxc-01', 'LXC '], ['xen-01', 'Xen ']]) assert.match(s, new RegExp(`^ ${n}\\s+up\\s+${hv}SIMULATED`, 'm'));
    assert.match(s.split('\n')[0] ?? '', /SIMULATED/);
    const rows = tableRows(s);
    assert.ok(rows.some((r) => r.name === 'Domain-0' && r.node === 'xen-01' && r.state === 'running'), 'Domain-0 on xen-01');
    container = rows.find((r) => r.node === 'lxc-01' && r.state === 'running')?.name ?? '';
    qemuVm = rows.find((r) => r.node === 'node-01' && r.state === 'running')?.name ?? '';
    assert.ok(qemuVm, 'a running guest on node-01');
    assert.ok(container, 'a running container on lxc-01');
  });

  await t.test('a container: ? names the LXC driver and what it lacks; m is refused on screen naming LXC, no dialog', async () => {
    const row = await filterTo(container);
    assert.equal(row.node, 'lxc-01');
    // The per-domain route asks LXC's memory, block and interface stats beside GetInfo: MEM%, DISK and NET are
    // figures (they were '-' while it asked GetInfo only, and 100 %, 0 B/s before that).
    const live = await tm.waitFor((x) => /\d(?:\.\d)?%\s+\d+(?:\.\d)?%/.test(tableRows(x)[0]?.line ?? ''), 10_000, 'the container with its CPU % and MEM %');
    assert.doesNotMatch(tableRows(live)[0]?.line ?? '', /%\s+-(\s|$)|\s-\s+-(\s|$)/, 'no figure left out');
    await tm.waitFor(new RegExp(`VM ${container} on lxc-01 \\(SIMULATED\\)`), 5000, 'the VM panel, SIMULATED');
    tm.keys('?');
    const help = await tm.waitFor(/Not available for/, 5000, 'the driver section of the help screen');
    assert.match(help, new RegExp(`Not available for ${container} on lxc-01 \\(LXC driver\\)`));
    assert.match(help, /migrate: not supported by the LXC driver on lxc-01/);
    assert.match(help, /snapshots: not supported by the LXC driver on lxc-01 \(.*virDomainListAllSnapshots/);
    tm.keys('Escape');
    await tm.waitFor(/NAME\s+NODE\s+STATE/, 3000, 'back to the overview');
    tm.keys('m');
    const s = await tm.waitFor(/migrate: not supported by the LXC driver on lxc-01/, 5000, 'the refusal');
    assert.doesNotMatch(s, new RegExp(`Migrate ${container} from`), 'no migration dialog for a container');
    assert.equal(tableRows(s)[0]?.node, 'lxc-01', 'the container stayed');
  });

  await t.test('a Xen guest: ? names the Xen driver (no snapshots), and its live migration is not greyed', async () => {
    const xenVm = await filterTo('Domain-0');
    assert.equal(xenVm.node, 'xen-01');
    tm.keys('?');
    const help = await tm.waitFor(/Not available for/, 5000, 'the driver section of the help screen');
    assert.match(help, /Not available for Domain-0 on xen-01 \(Xen driver\)/);
    assert.match(help, /snapshots: not supported by the Xen driver on xen-01/);
    // libxl migrates live (peer to peer): only offline migration is missing, so a running guest's migrate stays.
    assert.doesNotMatch(help, /^\s+migrate: not supported by the Xen driver/m);
    tm.keys('Escape');
    await tm.waitFor(/NAME\s+NODE\s+STATE/, 3000, 'back to the overview');
  });

  await t.test("a QEMU guest's migrate dialog: the other QEMU node fits, the LXC and Xen nodes are not targets and say why", async () => {
    await filterTo(qemuVm);
    tm.keys('m');
    const s = await tm.waitFor(new RegExp(`Migrate ${qemuVm} from node-01`), 5000, 'the migrate dialog');
    assert.match(s, /node-02\s+fits /);
    assert.match(s, /lxc-01\s+not a target: different driver \(Simulated here, LXC there\)/);
    assert.match(s, /xen-01\s+not a target: different driver \(Simulated here, Xen there\)/);
    tm.keys('Escape');
    await tm.waitFor(/NAME\s+NODE\s+STATE/, 3000, 'back to the overview');
  });

  await t.test('q quits with exit code 0', async () => {
    tm.keys('/', 'C-u', 'Enter');
    await tm.waitFor(/VMs 17 of 17/, 5000, 'the filter cleared');
    tm.keys('q');
    assert.equal(await tm.waitExit(15_000), 0);
    assert.equal(tm.stderr().trim(), '');
  });
});
