/**
 * End-to-end in the real `vem demo` (SIMULATED nodes, real agents on loopback), driven by
 * keys in tmux: what virt-manager users expect of the network, storage and guest screens
 * (issue 20): a network created and deleted in one step each, its DHCP leases, a new
 * directory pool, and the users tab's actions, a password never on the screen.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { haveTmux, tableRows, Tmux } from './tmux.js';
import { skipUnless } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = process.env['VEM_CLI'] ?? resolve(ROOT, 'dist/src/cli.js');

test('networks, storage and the users tab: create, delete, leases, a new pool, user actions', { skip: skipUnless(haveTmux(), 'tmux'), timeout: 150_000 }, async (t) => {
  const tm = new Tmux([process.execPath, VEM, 'demo', '--nodes', '2', '--vms', '12', '--seed', '5'], { width: 120, height: 40, cwd: ROOT });
  t.after(() => tm.kill());
  const first = await tm.waitFor((x) => /VMs 12 of 12/.test(x) && tableRows(x).length > 0, 20_000, 'the overview');
  const running = tableRows(first).find((r) => r.state === 'running')?.name ?? '';
  assert.ok(running !== '');
  const command = (c: string): void => {
    tm.keys(':');
    tm.type(c);
    tm.keys('Enter');
  };

  await t.test('networks: l lists the DHCP leases of the selected network', async () => {
    command('networks node-01');
    await tm.waitFor(/Networks on node-01/, 10_000);
    tm.keys('l');
    const s = await tm.waitFor(/DHCP leases of default \(\d+\)[\s\S]*192\.168\.122\.\d+\/24/, 10_000, 'the lease list');
    assert.match(s, /ADDRESS\s+MAC\s+HOSTNAME\s+EXPIRES IN/);
    assert.match(s, /192\.168\.122\.\d+\/24\s+52:54:00(:[0-9a-f]{2}){3}\s+\S+\s+\d+m/);
    tm.keys('l');
    await tm.waitFor(/VMs on default \(\d+\)/, 5000);
  });

  await t.test('networks: c creates (defined and started), x deletes after naming what it stops', async () => {
    tm.keys('c');
    await tm.waitFor(/new network \(NAME ADDRESS\/PREFIX/, 5000);
    tm.type('lab 10.60.0.300/24');
    tm.keys('Enter');
    await tm.waitFor(/network address: '10\.60\.0\.300' is not an IPv4 address/, 5000, 'a bad address said before anything is sent');
    tm.keys('c');
    await tm.waitFor(/new network \(NAME ADDRESS\/PREFIX/, 5000);
    tm.type('lab 10.60.0.1/24');
    tm.keys('Enter');
    const s = await tm.waitFor(/^\W*lab\s+active\s+no\s+\S+\s+10\.60\.0\.1\/24\s+10\.60\.0\.128 - 10\.60\.0\.254/m, 10_000, 'the new network, active');
    assert.match(s, /create network lab on node-01: ok/);
    tm.keys('G');
    tm.keys('x');
    await tm.waitFor(/Delete network lab on node-01\? It is stopped first\.[\s\S]*No VM uses it\./, 5000, 'the confirmation');
    tm.keys('y');
    await tm.waitFor((x) => /delete network lab on node-01: ok/.test(x) && !/^\W*lab\s+active/m.test(x), 10_000, 'the network gone');
    tm.keys('Escape');
  });

  await t.test('storage: P makes a directory pool (define, build, start)', async () => {
    command('storage node-01');
    await tm.waitFor(/Storage on node-01/, 10_000);
    tm.keys('P');
    await tm.waitFor(/new directory pool \(NAME PATH\)/, 5000);
    tm.type('scratch srv/scratch');
    tm.keys('Enter');
    await tm.waitFor(/pool path: 'srv\/scratch' is not an absolute path/, 5000);
    tm.keys('P');
    await tm.waitFor(/new directory pool \(NAME PATH\)/, 5000);
    tm.type('scratch /srv/scratch');
    tm.keys('Enter');
    const s = await tm.waitFor(/^\W*scratch\s+running\s+dir\s/m, 10_000, 'the new pool, running');
    assert.match(s, /create pool scratch on node-01: ok \(defined, built, started\)/);
    tm.keys('Escape');
  });

  await t.test('users tab: add, set a password typed hidden, lock, remove', async () => {
    command(`guest ${running}`);
    await tm.waitFor(new RegExp(`Guest of ${running}`), 10_000);
    tm.keys('2');
    await tm.waitFor(/\[2 users\]/, 5000);
    tm.keys('a');
    await tm.waitFor(/add user in .* \(NAME \[SHELL\]\)/, 5000);
    tm.type('Carol');
    tm.keys('Enter');
    await tm.waitFor(/add user: 'Carol' is not a user name/, 5000);
    tm.keys('a');
    await tm.waitFor(/add user in .* \(NAME \[SHELL\]\)/, 5000);
    tm.type('carol /bin/sh');
    tm.keys('Enter');
    await tm.waitFor(/add user carol in .*: ok/, 10_000);
    const row = await tm.waitFor(/^\W*carol\s+\d+\s/m, 10_000, 'carol in the table');
    const below = row.split('\n').filter((l) => /^\W*\S+\s+\d+\s+(yes|-)\s+(yes|-)\s/.test(l));
    const at = below.findIndex((l) => /^\W*carol\s/.test(l));
    assert.ok(at >= 0, row);
    // Move the cursor onto carol (the table is sorted: people first, by uid).
    tm.keys('g');
    for (let i = 0; i < at; i++) tm.keys('j');
    await tm.waitFor(/^>\s*carol\s/m, 5000, 'the cursor on carol');
    tm.keys('p');
    await tm.waitFor(/new password for carol in .* \(hidden\)/, 5000);
    tm.type('Sup3r-secret');
    assert.doesNotMatch(tm.capture(), /Sup3r-secret/, 'the password is not shown as it is typed');
    tm.keys('Enter');
    await tm.waitFor(/the same password again \(hidden\)/, 5000);
    tm.type('Sup3r-secret');
    tm.keys('Enter');
    const pw = await tm.waitFor(/set the password of carol in .*: ok/, 10_000);
    assert.doesNotMatch(pw, /Sup3r-secret/);
    await tm.waitFor(/^>\s*carol\s.*\bset\b/m, 10_000, 'carol has a password');
    tm.keys('l');
    await tm.waitFor(/Lock the password of carol/, 5000);
    tm.keys('y');
    await tm.waitFor(/^>\s*carol\s.*\blocked\b/m, 10_000, 'carol locked');
    tm.keys('x');
    await tm.waitFor(/Remove user carol \(uid \d+\)/, 5000);
    tm.keys('y');
    await tm.waitFor((x) => /remove user carol in .*: ok/.test(x) && !/^\W*carol\s+\d+/m.test(x), 10_000, 'carol gone');
  });

  tm.keys('Escape');
  tm.keys('q');
  assert.equal(await tm.waitExit(10_000), 0);
});
