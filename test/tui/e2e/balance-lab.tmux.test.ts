/**
 * End-to-end: level 2 from the dashboard on real lab nodes, in tmux. Two
 * libvirtds (QEMU/TCG) in namespaces of one machine, a real agent on each;
 * three booted guests on n1 burn CPU, n2 has none. The lab nodes share this
 * machine, so the host-wide CPU reads the same on both; the balance view must
 * find that they share it (their host CPU counters agree), judge each by its
 * own VMs' CPU, and recommend moving a guest from n1 to n2. Applied from the
 * view (Enter, confirm), the guest then runs on n2 and is gone from n1, as
 * virsh on each node says. `vem balance plan` over the same agents agrees.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { buildGuestImage, guestDomainXml, requireLab, startLab, type LabNode } from '../../lab/index.js';
import { haveTmux, tableRows, Tmux } from './tmux.js';
import { labCluster } from './lab-cluster.js';
import { need } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');
/** The guest burns CPU when its kernel command line says so (the same image as the level-1 lab test: one cache entry). */
const BURN = 'grep -q vem.burn /proc/cmdline && ( while :; do :; done ) &';
const GUESTS = ['hot1', 'hot2', 'hot3'];

async function until(what: string, timeoutMs: number, fn: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      if (await fn()) return;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

test('vem tui on two lab nodes sharing one machine: the balance view recommends a guest from the busy n1 to the empty n2; applied from the view, virsh sees it run on n2', { timeout: 240_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'qemu', 'guest']) !== null) return;
  if (!need(t, haveTmux(), 'tmux')) return;
  const [image, lab] = await Promise.all([buildGuestImage({ node: false, startup: [BURN] }), startLab({ nodes: 2, name: 'tuibal' })]);
  const [n1, n2] = lab.nodes as [LabNode, LabNode];
  assert.ok(n1 && n2);
  t.after(async () => {
    // The guests this test started, wherever they ended up; then the lab (which would end them anyway).
    for (const n of [n1, n2]) for (const g of GUESTS) await n.virsh(n.qemuUnixUri, 'destroy', g).catch(() => undefined);
    await lab.stop();
  });
  for (const g of GUESTS) {
    const xml = join(lab.dir, `${g}.xml`);
    writeFileSync(xml, guestDomainXml({ name: g, kernel: image.kernel, initrd: image.initrd, memoryMiB: 160, cmdline: 'vem.burn' }));
    await n1.virsh(n1.qemuUnixUri, 'define', xml);
    await n1.virsh(n1.qemuUnixUri, 'start', g);
  }

  const cluster = await labCluster(t, lab.dir, [n1, n2].map((n) => ({ node: n, uri: n.qemuUnixUri })));

  const tm = new Tmux([process.execPath, VEM, 'tui', '--cluster', cluster], { width: 150, height: 44, cwd: ROOT });
  t.after(() => tm.kill());
  await tm.waitFor((x) => GUESTS.every((g) => tableRows(x).some((r) => r.name === g && r.node === n1.name && r.state === 'running')) && /nodes 2\/2 up/.test(x), 60_000, 'the guests running on n1');

  tm.keys(':');
  tm.type('balance');
  tm.keys('Enter');
  const move = new RegExp(`^>\\s*(${GUESTS.join('|')})\\s+${n1.name} -> ${n2.name}\\s+(hotspot|imbalance)\\s+gain`, 'm');
  // The guests' CPU climbs as they boot and start burning: the move comes once the planner's window sees it.
  const view = await tm.waitFor((x) => move.test(x), 90_000, `a recommended move ${n1.name} -> ${n2.name}`);
  assert.match(view, new RegExp(`nodes ${n1.name}, ${n2.name} share one machine`), 'the view says why the nodes are judged by their VMs');
  assert.match(view, /imbalance \d\.\d{3} \(std of node CPU/);
  // n2 runs no VM: its load is 0 %, not the machine's host-wide figure.
  assert.match(view, new RegExp(`^\\s*${n2.name}\\s+CPU\\s+0(\\.0)?%`, 'm'));
  for (const l of view.split('\n')) if (l.trim() !== '') t.diagnostic(l);
  const guest = move.exec(view)?.[1] as string;

  // `vem balance plan` reads the same agents the same way (agentSource, node-load.ts): it agrees.
  const cli = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(process.execPath, [VEM, 'balance', 'plan', '--cluster', cluster, '--period', '1', '--json'], { timeout: 60_000 }, (err, stdout, stderr) =>
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
  assert.equal(cli.code, 0, cli.stderr);
  const plan = JSON.parse(cli.stdout.trim().split('\n').at(-1) as string) as { moves: Array<{ vm: string; from: string; to: string }> };
  assert.ok(plan.moves.some((m) => GUESTS.includes(m.vm) && m.from === n1.name && m.to === n2.name), `vem balance plan: ${cli.stdout}`);

  tm.keys('Enter');
  await tm.waitFor(new RegExp(`Migrate ${guest}\\s+${n1.name} -> ${n2.name}\\?`), 10_000, 'the confirmation naming the move');
  tm.keys('y');
  await tm.waitFor(new RegExp(`took\\s+selected move: ${guest}\\s+${n1.name} -> ${n2.name}`), 10_000, 'the decision on record');

  await until(`${guest} running on ${n2.name}`, 90_000, async () => /running/.test(await n2.virsh(n2.qemuUnixUri, 'domstate', guest)));
  await until(`${guest} gone from ${n1.name}`, 20_000, async () => !(await n1.virsh(n1.qemuUnixUri, 'list', '--all', '--name')).split('\n').includes(guest));
  assert.match(await n2.virsh(n2.qemuUri, 'list'), new RegExp(`${guest}\\s+running`));
  // The other guests stayed on n1, still running.
  const left = await n1.virsh(n1.qemuUnixUri, 'list', '--name');
  for (const g of GUESTS.filter((x) => x !== guest)) assert.ok(left.split('\n').includes(g), `${g} still on ${n1.name}: ${left}`);

  tm.keys('Escape');
  await tm.waitFor((x) => tableRows(x).some((r) => r.name === guest && r.node === n2.name && r.state === 'running'), 20_000, `${guest} on ${n2.name} in the table`);
  tm.keys('q');
  assert.equal(await tm.waitExit(15_000), 0);
});
