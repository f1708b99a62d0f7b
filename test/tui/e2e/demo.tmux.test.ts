/**
 * End-to-end: the real `vem demo` (simulated nodes, real agents on loopback,
 * real direct links) in a real terminal (tmux), driven by keys and read from
 * the screen.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { haveTmux, tableRows, Tmux } from './tmux.js';
import { skipUnless } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');

function skipReason(): string | undefined {
  return skipUnless(haveTmux(), 'tmux');
}

test('vem demo: overview, filter, a VM operation, a migration to completion, and q restores the terminal', { skip: skipReason(), timeout: 120_000 }, async (t) => {
  const tm = new Tmux([process.execPath, VEM, 'demo', '--nodes', '3', '--vms', '24', '--seed', '7'], { width: 120, height: 40, cwd: ROOT });
  t.after(() => tm.kill());

  await t.test('renders nodes (SIMULATED) and VMs', async () => {
    const s = await tm.waitFor((x) => /VMs 24 of 24/.test(x) && tableRows(x).length > 0 && /node-03\s+up/.test(x), 20_000, 'the overview');
    for (const n of ['node-01', 'node-02', 'node-03']) assert.match(s, new RegExp(`${n}\\s+up\\s+SIMULATED`));
    assert.match(s, /^ve-manager {2}nodes 3\/3 up/m);
    const rows = tableRows(s);
    assert.ok(rows.length >= 10, `expected a full VM table, got ${rows.length} rows`);
    assert.ok(rows.every((r) => /^node-0[123]$/.test(r.node)));
  });

  let target = '';
  await t.test('a filter narrows the table', async () => {
    const before = tableRows(tm.capture());
    const first = before[0]?.name ?? '';
    const prefix = first.split('-')[0] ?? first;
    tm.keys('/');
    tm.type(prefix);
    tm.keys('Enter');
    const s = await tm.waitFor(new RegExp(`filter "${prefix}"`), 5000);
    const rows = tableRows(s);
    const m = /VMs (\d+) of 24/.exec(s);
    assert.ok(m && Number(m[1]) < 24 && Number(m[1]) === rows.length, `filtered count ${m?.[1]} vs ${rows.length} rows`);
    assert.ok(rows.length > 0 && rows.every((r) => `${r.name} ${r.node} ${r.state}`.includes(prefix)));
    // Now narrow to one running VM for the next steps.
    tm.keys('/', 'C-u');
    tm.type('running');
    tm.keys('Enter');
    const s2 = await tm.waitFor(/filter "running"/, 5000);
    const running = tableRows(s2);
    assert.ok(running.length > 0 && running.every((r) => r.state === 'running'));
    // The smallest running VM, so its migration is quick: sort by memory, smallest first.
    tm.keys(':');
    tm.type('sort memory');
    tm.keys('Enter');
    await tm.waitFor(/sort memory/, 3000);
    tm.keys('S');
    const s3 = await tm.waitFor(/sort memory \(reversed\)/, 3000);
    target = tableRows(s3)[0]?.name ?? '';
    tm.keys('/', 'C-u');
    tm.type(target);
    tm.keys('Enter');
    await tm.waitFor((x) => tableRows(x).length === 1 && tableRows(x)[0]?.name === target, 5000, `only ${target}`);
  });

  await t.test('a VM operation changes its state on screen (pause, resume, destroy with confirmation)', async () => {
    tm.keys('p');
    await tm.waitFor((x) => tableRows(x)[0]?.state === 'paused', 8000, `${target} paused`);
    tm.keys('P');
    await tm.waitFor((x) => tableRows(x)[0]?.state === 'running', 8000, `${target} running again`);
    tm.keys('D');
    const ask = await tm.waitFor(/Force off \(destroy\)/, 3000);
    assert.match(ask, new RegExp(`Force off \\(destroy\\) ${target}\\?`));
    tm.keys('n');
    await tm.waitFor((x) => !/Force off/.test(x), 3000, 'the confirmation to close');
    assert.equal(tableRows(tm.capture())[0]?.state, 'running', 'declining must not destroy');
    tm.keys('D');
    await tm.waitFor(/Force off/, 3000);
    tm.keys('y');
    await tm.waitFor((x) => tableRows(x)[0]?.state === 'shutoff', 8000, `${target} shut off`);
    assert.match(tm.capture(), new RegExp(`destroy: ${target} ok`));
    tm.keys('u');
    await tm.waitFor((x) => tableRows(x)[0]?.state === 'running', 8000, `${target} started`);
  });

  await t.test('a live migration shows sent/remaining/iteration/dirty rate/downtime and completes', async () => {
    const from = tableRows(tm.capture())[0]?.node ?? '';
    tm.keys('m');
    const dlg = await tm.waitFor(/Migrate .* from node-0\d/, 3000);
    assert.match(dlg, /mode: live/);
    const fitLine = dlg.split('\n').find((l) => /node-0\d\s+fits/.test(l));
    assert.ok(fitLine, 'at least one node fits');
    assert.match(fitLine ?? '', /fits\s+\S+ of memory free there after the move/, 'the figure says what it is');
    const to = /(node-0\d)\s+fits/.exec(fitLine ?? '')?.[1] ?? '';
    assert.notEqual(to, from);
    tm.keys('Enter');
    const progress = await tm.waitFor(/sent \S+ {2}remaining \S+ of \S+ {2}iteration \d/, 10_000, 'progress figures');
    assert.match(progress, /dirty rate \S+/);
    assert.match(progress, /expected downtime/);
    assert.match(progress, new RegExp(`${target}: ${from} -> ${to} {2}live`));
    const done = await tm.waitFor(/live {2}completed/, 60_000, 'completion');
    // Once it has ended the dialog says what it took, not what libvirt expected.
    assert.doesNotMatch(done, /expected downtime|time left/);
    assert.match(done, /downtime \S+ {2}took \S+/);
    tm.keys('Escape');
    await tm.waitFor((x) => tableRows(x)[0]?.node === to && tableRows(x)[0]?.state === 'running', 10_000, `${target} running on ${to}`);
    assert.match(tm.capture(), new RegExp(`migrated ${target} to ${to}`));
  });

  await t.test('marks by pattern act on VMs across nodes with one confirmation and per-VM results', async () => {
    tm.keys('/', 'C-u', 'Enter');
    await tm.waitFor(/VMs 24 of 24/, 5000, 'the filter cleared');
    tm.keys(':');
    tm.type('sort name');
    tm.keys('Enter');
    const sorted = await tm.waitFor(/sort name/, 3000);
    if (/sort name \(reversed\)/.test(sorted)) {
      tm.keys('S');
      await tm.waitFor((x) => /sort name/.test(x) && !/reversed/.test(x), 3000, 'A-Z order');
    }
    // Mark every running VM of the biggest group (web-*, api-*, ...).
    tm.keys('/');
    tm.type('running');
    tm.keys('Enter');
    const all = tableRows(await tm.waitStable(/filter "running"/, 3000));
    const counts = new Map<string, number>();
    for (const r of all) counts.set(r.name.split('-')[0] ?? '', (counts.get(r.name.split('-')[0] ?? '') ?? 0) + 1);
    const prefix = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
    tm.keys('/', 'C-u');
    tm.type(`${prefix} running`);
    tm.keys('Enter');
    const s = await tm.waitFor(new RegExp(`filter "${prefix} running"`), 3000);
    const group = tableRows(s);
    assert.ok(group.length >= 2, `want several ${prefix} VMs, got ${group.length}`);
    assert.ok(new Set(group.map((r) => r.node)).size >= 2, `the ${prefix} VMs should span nodes`);
    tm.keys('*');
    tm.type(`${prefix}-*`);
    tm.keys('Enter');
    await tm.waitFor(new RegExp(`marked ${group.length}`), 3000, 'the marks');
    tm.keys('r');
    const ask = await tm.waitFor(/Reboot \d+ VMs:/, 3000, 'one confirmation for all');
    assert.match(ask, new RegExp(`Reboot ${group.length} VMs:`));
    tm.keys('y');
    await tm.waitFor(new RegExp(`reboot: ${group.length} VMs ok`), 15_000, 'every VM done');
    tm.keys('t');
    const tasks = await tm.waitFor(/Recent actions/, 3000);
    for (const r of group) assert.match(tasks, new RegExp(`${r.node}/${r.name}\\s+ok`), `a result line for ${r.name}`);
    assert.match(tasks, new RegExp(`reboot: ${group.length} ok, 0 failed`));
    tm.keys('t');
    await tm.waitFor(/NAME\s+NODE\s+STATE/, 3000);
    tm.keys('x');
    await tm.waitFor(/marks cleared/, 3000);
    // Evacuation shows its plan first and does nothing until confirmed.
    tm.keys('Tab');
    await new Promise((r) => setTimeout(r, 300));
    tm.keys('E');
    const plan = await tm.waitFor(/Evacuate node-0\d: \d+ of \d+ VMs can move/, 3000, 'the evacuation preview');
    assert.match(plan, /-> node-0\d \((live|offline)[,)]/);
    tm.keys('n');
    await tm.waitFor((x) => !/Evacuate node/.test(x), 3000, 'the preview closed');
    tm.keys('Tab');
  });

  await t.test('help lists the keys; q quits with exit code 0 and the terminal restored', async () => {
    tm.keys('?');
    await tm.waitFor(/Everywhere[\s\S]*VM table/, 3000, 'the help screen');
    tm.keys('Escape');
    await tm.waitFor(/NAME\s+NODE\s+STATE/, 3000, 'back to the overview');
    assert.equal(tm.paneFlags().alternate, true, 'the dashboard runs on the alternate screen');
    tm.keys('Escape');
    await new Promise((r) => setTimeout(r, 300));
    tm.keys('q');
    assert.equal(await tm.waitExit(15_000), 0);
    const flags = tm.paneFlags();
    assert.equal(flags.alternate, false, 'alternate screen left');
    assert.equal(flags.cursorVisible, true, 'cursor shown again');
    assert.doesNotMatch(tm.capture(), /NAME\s+NODE\s+STATE/);
    assert.equal(tm.stderr().trim(), '');
  });
});
