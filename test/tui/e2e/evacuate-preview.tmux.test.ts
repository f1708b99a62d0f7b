/**
 * The evacuation preview (`E`) in a real terminal at 120x40 and 80x24, on a one-node demo where every
 * VM stays: each reason is wrapped (not cut at the box edge), the VMs that do not fit are counted, and
 * the "still holds N VMs ... do not power it off" warning and the keys are always on screen.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { haveTmux, Tmux } from './tmux.js';
import { skipUnless } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');

for (const [width, height] of [[120, 40], [80, 24]] as const) {
  test(`evacuation preview at ${width}x${height}: reasons wrapped, hidden VMs counted, the warning and keys shown`, { skip: skipUnless(haveTmux(), 'tmux'), timeout: 60_000 }, async (t) => {
    const tm = new Tmux([process.execPath, VEM, 'demo', '--nodes', '1', '--vms', '40', '--seed', '3'], { width, height, cwd: ROOT });
    t.after(() => tm.kill());
    await tm.waitFor((x) => /VMs 40 of 40/.test(x) && /node-01\s+up/.test(x), 20_000, 'the overview');
    tm.keys('Tab');
    await new Promise((r) => setTimeout(r, 300));
    tm.keys('E');
    const s = await tm.waitStable(/Evacuate node-01: 0 of 40 VMs can move/, 5000);
    // The whole reason is there, in words, though it is longer than the space beside the VM.
    // The dialog box's inside, line by line (the page behind shows around it).
    const inside = s.split('\n').filter((l) => l.indexOf('│') !== l.lastIndexOf('│')).map((l) => l.slice(l.indexOf('│') + 1, l.lastIndexOf('│')));
    assert.ok(inside.length > 5, `the dialog box:\n${s}`);
    for (const l of inside) assert.ok(!l.includes('~'), `a line cut at the box edge: ${l}`);
    const flat = inside.join(' ').replace(/\s+/g, ' ');
    assert.match(flat, /stays: node-01 is the only node in the cluster: there is nowhere to move it/, 'a reason whole, wrapped between words');
    const m = /\+(\d+) more VMs not shown \((\d+) of them stay\)/.exec(flat);
    assert.ok(m, `the VMs past the box are counted:\n${s}`);
    const listed = (s.match(/stays: node-01/g) ?? []).length;
    assert.equal(listed + Number(m[1]), 40, 'shown and counted add up to every VM');
    assert.equal(m[1], m[2]);
    assert.match(flat, /node node-01 still holds 40 VMs after this plan: do not power it off/);
    assert.match(s, /y\/enter start {2}n\/Esc cancel/);
    tm.keys('n');
    await tm.waitFor((x) => !/Evacuate node/.test(x), 3000, 'the preview closed');
  });
}
