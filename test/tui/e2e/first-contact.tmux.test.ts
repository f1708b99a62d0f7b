/**
 * End-to-end, the dashboard fixes from a first walkthrough (issue 20), each seen to fail
 * on the dashboard before them (VEM_CLI=<an older build>/dist/src/cli.js runs this file
 * against another build): the filter narrows as you type, typing replaces a suggested
 * snapshot name, a status message fades and belongs to the screen that made it, `:create`
 * works when a filter hides every VM, `:reset` asks first, and `q` in wall mode quits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { haveTmux, tableRows, Tmux } from './tmux.js';
import { skipUnless } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = process.env['VEM_CLI'] ?? resolve(ROOT, 'dist/src/cli.js');

const demo = (): Tmux => new Tmux([process.execPath, VEM, 'demo', '--nodes', '2', '--vms', '12', '--seed', '5'], { width: 120, height: 40, cwd: ROOT });

test('first contact: the filter narrows as you type, a typed snapshot name replaces the suggestion, the status fades', { skip: skipUnless(haveTmux(), 'tmux'), timeout: 120_000 }, async (t) => {
  const tm = demo();
  t.after(() => tm.kill());
  const first = await tm.waitFor((x) => /VMs 12 of 12/.test(x) && tableRows(x).length > 0, 20_000, 'the overview');
  const name = tableRows(first)[0]?.name ?? '';
  assert.ok(name !== '');

  await t.test('/ narrows the table with every key, before Enter', async () => {
    tm.keys('/');
    tm.type(name);
    try {
      const s = await tm.waitFor((x) => /VMs 1 of 12/.test(x), 5000, `the table narrowed to ${name} without Enter`);
      assert.deepEqual(tableRows(s).map((r) => r.name), [name]);
    } finally {
      // Each step leaves the dashboard as the next expects, also when it failed (run against an older build).
      tm.keys('Enter');
      await tm.waitFor(new RegExp(`filter "${name}"`), 5000);
    }
  });

  await t.test('typing replaces the suggested snapshot name', async () => {
    tm.keys('n');
    await tm.waitFor(new RegExp(`Snapshots of ${name}`), 5000);
    tm.keys('c');
    await tm.waitFor(/snapshot name for .*: snap-\d{14}/, 5000, 'the suggested name');
    tm.type('before-upgrade');
    tm.keys('Enter');
    const s = await tm.waitFor(/snapshot before-upgrade/, 10_000, 'the snapshot taken under the typed name');
    assert.doesNotMatch(s, /snap-\d{14}before-upgrade/);
  });

  await t.test('the snapshot list shows when each was taken and in which state', async () => {
    tm.keys('n');
    try {
      const s = await tm.waitFor(/before-upgrade\s+\d{4}-\d\d-\d\d \d\d:\d\dZ/, 10_000, 'the snapshot row with its time');
      assert.match(s, /before-upgrade\s+\d{4}-\d\d-\d\d \d\d:\d\dZ\s+(running|paused|shutoff)\s+current/);
    } finally {
      tm.keys('Escape');
      await tm.waitFor((x) => !/Snapshots of/.test(x), 5000);
    }
  });

  await t.test('a status message fades', async () => {
    // The overview's status line: something the admin did; it is gone a while later without a key.
    tm.keys(':');
    tm.type('no-such-command');
    tm.keys('Enter');
    await tm.waitFor(/no-such-command/, 5000, 'the error in the status line');
    await tm.waitFor((x) => !/no-such-command/.test(x), 30_000, 'the status message to fade');
  });
});

/** Run a `:` command line. */
function command(tm: Tmux, text: string): void {
  tm.keys(':');
  tm.type(text);
  tm.keys('Enter');
}

test('first contact: a status message stays with its screen, :create with every VM filtered out, :reset', { skip: skipUnless(haveTmux(), 'tmux'), timeout: 120_000 }, async (t) => {
  const tm = demo();
  t.after(() => tm.kill());
  const first = await tm.waitFor((x) => /VMs 12 of 12/.test(x) && tableRows(x).length > 0, 20_000, 'the overview');
  const overview = (x: string): boolean => /NAME\s+NODE\s+STATE/.test(x);

  await t.test('a status message belongs to the screen that made it', async () => {
    command(tm, 'no-such-command');
    await tm.waitFor(/unknown command :no-such-command/, 5000, 'the error on the overview');
    // Another screen on top: the overview's message is not its message.
    tm.keys('t');
    try {
      const s = await tm.waitStable(/Recent actions/, 5000);
      assert.doesNotMatch(s, /no-such-command/, 'the overview\'s message shown on the tasks screen');
    } finally {
      tm.keys('t');
      await tm.waitFor((x) => overview(x) && !/Recent actions/.test(x), 5000, 'back on the overview');
    }
    // Back where it was made (well within the 20 s an error stays): it is there again.
    await tm.waitFor(/unknown command :no-such-command/, 5000, 'the message back with its screen');
  });

  await t.test(':create with a filter that hides every VM opens the form for the selected node', async () => {
    tm.keys('/');
    tm.type('zzz-nothing-matches');
    tm.keys('Enter');
    await tm.waitFor((x) => /VMs 0 of 12/.test(x), 5000, 'every VM filtered out');
    command(tm, 'create');
    try {
      const s = await tm.waitFor((x) => /Create a VM on node-0[12]/.test(x) || /no VM selected/.test(x), 10_000, 'the create form or a refusal');
      assert.doesNotMatch(s, /no VM selected/);
      assert.match(s, /Create a VM on node-0[12]/);
    } finally {
      // The form loads templates as it opens: Escape until it is really gone, so the next step starts on the overview.
      for (let i = 0; i < 5 && !overview(tm.capture()); i++) {
        tm.keys('Escape');
        await tm.waitFor((x) => overview(x) && !/Create a VM on/.test(x), 3000, 'the form closed').catch(() => undefined);
      }
      await tm.waitStable((x) => overview(x) && !/Create a VM on/.test(x), 5000);
      tm.keys('/', 'C-u');
      tm.keys('Enter');
      await tm.waitFor((x) => /VMs 12 of 12/.test(x) && overview(x), 5000, 'the filter cleared');
    }
  });

  await t.test(':reset asks first, then hard-resets the selected VM', async () => {
    const s0 = await tm.waitStable((x) => overview(x) && !/Create a VM on/.test(x) && tableRows(x).some((r) => r.state === 'running'), 5000);
    assert.ok(overview(s0), `not on the overview:\n${s0}`);
    const running = tableRows(s0).find((r) => r.state === 'running')?.name ?? tableRows(first)[0]?.name ?? '';
    command(tm, `vm ${running}`);
    await tm.waitFor(new RegExp(running), 5000);
    command(tm, 'reset');
    await tm.waitFor(new RegExp(`Hard reset ${running}\\?[\\s\\S]*Like the reset button`), 5000, 'the confirmation');
    tm.keys('y');
    await tm.waitFor(new RegExp(`reset: ${running} ok`), 15_000, 'the reset done');
  });
});

test('first contact: q in wall mode quits, as the footer says', { skip: skipUnless(haveTmux(), 'tmux'), timeout: 60_000 }, async (t) => {
  const tm = demo();
  t.after(() => tm.kill());
  await tm.waitFor((x) => /VMs 12 of 12/.test(x), 20_000, 'the overview');
  tm.keys('w');
  await tm.waitFor(/^ve-manager wall/m, 5000);
  tm.keys('q');
  assert.equal(await tm.waitExit(10_000), 0);
  assert.equal(tm.paneFlags().alternate, false, 'the terminal is restored');
});
