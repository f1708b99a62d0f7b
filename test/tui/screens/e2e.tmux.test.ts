/**
 * End-to-end: the management screens in the real `vem demo` (simulated nodes,
 * real agents on loopback, real links), in a real terminal (tmux), driven by
 * keys and read from the screen. The XML edit uses a real $EDITOR: a small
 * script that writes XML libvirt refuses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { haveTmux, tableRows, Tmux } from '../e2e/tmux.js';
import { skipUnless } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');

function skipReason(): string | undefined {
  return skipUnless(haveTmux(), 'tmux');
}

const settle = (ms = 300): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('vem demo management screens: storage, networks, guest browser with a signal, refused and broken XML edits, create and clone VM', { skip: skipReason(), timeout: 150_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-screens-e2e-'));
  // The editor: first makes the memory size a word (well-formed XML that libvirt refuses),
  // then, given that kept text again, drops the closing tag (broken XML, never sent).
  const editor = join(dir, 'edit.sh');
  writeFileSync(editor, `#!/bin/sh\nif grep -q "KiB'>lots<" "$1"; then sed -i 's|</domain>||' "$1"; else sed -i "s|<memory unit='KiB'>[0-9]*</memory>|<memory unit='KiB'>lots</memory>|" "$1"; fi\n`);
  chmodSync(editor, 0o755);
  const tm = new Tmux([process.execPath, VEM, 'demo', '--nodes', '2', '--vms', '8', '--seed', '3'], { width: 140, height: 45, cwd: ROOT, env: { EDITOR: editor, TMPDIR: dir } }); // the kept XML lands in dir, removed after
  t.after(() => {
    tm.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const overview = await tm.waitFor((x) => /VMs 8 of 8/.test(x) && tableRows(x).length === 8 && /node-02\s+up/.test(x), 20_000, 'the overview');
  const onNode1 = tableRows(overview).filter((r) => r.node === 'node-01');
  assert.ok(onNode1.length > 0);
  const cmd = async (text: string): Promise<void> => {
    tm.keys(':');
    tm.type(text);
    tm.keys('Enter');
    await settle();
  };
  const back = async (): Promise<void> => {
    tm.keys('Escape');
    await tm.waitFor(/NAME\s+NODE\s+STATE/, 5000, 'the overview again');
    await settle();
  };

  await t.test('the storage view lists the pools and volumes, with the VM using each volume', async () => {
    await cmd('storage node-01');
    const s = await tm.waitFor(/Volumes in default \(\d+\)/, 10_000, 'the storage view');
    assert.match(s, /^Storage on node-01 .*SIMULATED/m);
    assert.match(s, /POOL\s+STATE\s+TYPE\s+CAPACITY\s+ALLOC\s+AVAILABLE\s+USE%/);
    for (const p of ['default', 'iso', 'fast-ssd']) assert.match(s, new RegExp(`^[> ]${p}\\s+running\\s+\\S+\\s+\\d`, 'm'), `pool ${p}`);
    for (const vm of onNode1) assert.match(s, new RegExp(`${vm.name}\\.qcow2\\s+\\S+\\s+\\S+\\s+qcow2\\s+${vm.name}`), `${vm.name}'s disk`);
    tm.keys('Down');
    const iso = await tm.waitFor(/Volumes in iso \(\d+\)/, 5000, 'the iso pool');
    assert.match(iso, /\.iso\s+\S+\s+\S+\s+iso\s+-/);
    await back();
  });

  await t.test('the network view lists networks with bridge, address, DHCP range and their VMs', async () => {
    await cmd('networks node-01');
    const s = await tm.waitFor(/VMs on default \(\d+\)/, 10_000, 'the network view');
    assert.match(s, /default\s+active\s+yes\s+virbr0\s+192\.168\.122\.1\/24\s+192\.168\.122\.2 - 192\.168\.122\.254/);
    assert.match(s, /backend\s+active/);
    const users = Number(/VMs on default \((\d+)\)/.exec(s)?.[1]);
    assert.ok(users > 0);
    await back();
  });

  // The guest browser on each running VM in turn: a VM made without a guest agent says so
  // (seed 3 has one, analytics-01); the first whose agent answers is used from here on.
  const running = tableRows(overview).filter((r) => r.state === 'running');
  const noAgent: string[] = [];
  let withAgent: (typeof running)[number] | undefined;
  for (const r of running) {
    await cmd(`guest ${r.name}`);
    const s = await tm.waitFor(/[1-9]\d* of \d+ processes|no guest agent answers/, 10_000, `the guest browser of ${r.name}`);
    await back();
    if (!/no guest agent answers/.test(s)) {
      withAgent = r;
      break;
    }
    assert.match(s, new RegExp(`agent: no guest agent answers in this VM: no guest agent in the simulated VM '${r.name}' \\(it was made without one\\)`));
    noAgent.push(r.name);
  }
  assert.deepEqual(noAgent, ['analytics-01'], 'the demo VM made without an agent shows the no-agent state');
  const vm = withAgent;
  assert.ok(vm, 'a running VM whose guest agent answers');

  await t.test('the guest browser lists processes and users; a signal removes a process from the list', async () => {
    await cmd(`guest ${vm.name}`);
    const s = await tm.waitFor(/[1-9]\d* of \d+ processes/, 10_000, 'the processes');
    assert.match(s, new RegExp(`Guest of ${vm.name} on ${vm.node}`));
    assert.match(s, /SIMULATED guest data/);
    assert.match(s, /PID\s+USER\s+S\s+CPU%\s+RSS\s+COMMAND/);
    // Sort by pid, leave out kernel threads and the agent, take the last.
    tm.keys('s');
    tm.keys('s');
    await tm.waitFor(/sort pid/, 3000);
    tm.keys('/');
    tm.type('![ !vem');
    tm.keys('Enter');
    await tm.waitFor(/filter "!\[ !vem"/, 3000);
    tm.keys('G');
    // The cursor on the last row: the line after it is blank.
    const atLast = (x: string): boolean => {
      const lines = x.split('\n');
      const i = lines.findIndex((l) => /^>\s*\d+ /.test(l));
      return i > 0 && (lines[i + 1] ?? '').trim() === '' && /^\s+\d+ /.test(lines[i - 1] ?? '');
    };
    const sel = await tm.waitStable(atLast, 5000);
    assert.ok(atLast(sel), 'the cursor on the last process');
    const pid = /^>\s*(\d+) /m.exec(sel)?.[1] ?? '';
    assert.ok(Number(pid) > 1);
    tm.keys('x');
    await tm.waitFor(new RegExp(`signal to pid ${pid}`), 3000, 'the signal prompt');
    tm.keys('Enter');
    const ask = await tm.waitFor(/Send SIGTERM to pid/, 3000, 'the confirmation');
    assert.match(ask, new RegExp(`Send SIGTERM to pid ${pid} in ${vm.name}\\?`));
    tm.keys('y');
    await tm.waitFor((x) => new RegExp(`signal TERM to pid ${pid} in ${vm.name}: ok`).test(x) && !new RegExp(`^[> -]\\s*${pid} `, 'm').test(x), 10_000, `pid ${pid} gone`);
    tm.keys('2');
    const users = await tm.waitFor(/USER\s+UID\s+ADMIN\s+LOGGED IN/, 5000, 'the users');
    assert.match(users, /root\s+0\s+yes/);
    assert.match(users, /logged in \(\d+\)/);
    await back();
  });

  await t.test('a rejected XML edit shows libvirt\'s error and keeps the edited text; broken XML is caught before sending', async () => {
    await cmd(`xml ${vm.name}`);
    const s = await tm.waitFor(/libvirt refused it/, 15_000, 'the refusal');
    assert.match(s, /libvirt refused it: XML error: invalid value 'lots' for memory/);
    assert.match(s, /your text is kept in \S+\.xml/);
    assert.match(s, /^\s+\d+ \s*<memory unit='KiB'>lots<\/memory>/m);
    // Editing the kept text again: now broken, caught on screen with its line, nothing sent.
    tm.keys('e');
    const broken = await tm.waitFor(/broken XML at line \d+/, 15_000, 'the local check');
    assert.match(broken, /nothing was sent/);
    assert.match(broken, /^\s+\d+ \s*<memory unit='KiB'>lots<\/memory>/m);
    tm.keys('Escape');
    await tm.waitFor(/NAME\s+NODE\s+STATE/, 5000);
    await settle();
  });

  await t.test('create VM: a taken name and too many vCPUs are named and nothing is sent; a good form adds the VM to the table', async () => {
    tm.keys('/');
    tm.type('node-01');
    tm.keys('Enter');
    await tm.waitFor(/filter "node-01"/, 3000);
    await cmd(`create ${onNode1[0]?.name ?? ''}`);
    await tm.waitFor(/node: \d+ CPUs/, 10_000, 'the form with the node facts');
    tm.keys('Down');
    tm.keys('Enter');
    await tm.waitFor(/vCPUs \(whole number\): /, 3000);
    tm.keys('C-u');
    tm.type('999');
    tm.keys('Enter');
    await settle();
    tm.keys('C');
    const bad = await tm.waitFor(/not created:/, 5000, 'the refusal');
    assert.match(bad, new RegExp(`! name: node-01 already has a VM '${onNode1[0]?.name}'`));
    assert.match(bad, /! vCPUs: 999 is more than the \d+ CPUs of node-01/);
    tm.keys('g');
    tm.keys('Enter');
    await tm.waitFor(/name \(letters/, 3000);
    tm.keys('C-u');
    tm.type('made-in-tui');
    tm.keys('Enter');
    await settle();
    tm.keys('Enter');
    await tm.waitFor(/vCPUs \(whole number\): /, 3000);
    tm.keys('C-u');
    tm.type('2');
    tm.keys('Enter');
    await settle();
    tm.keys('C');
    await tm.waitFor(/created VM made-in-tui on node-01/, 10_000, 'the VM created');
    const s = await tm.waitFor((x) => tableRows(x).some((r) => r.name === 'made-in-tui'), 10_000, 'made-in-tui in the table');
    const row = tableRows(s).find((r) => r.name === 'made-in-tui');
    assert.equal(row?.node, 'node-01');
    assert.equal(row?.state, 'shutoff');
    assert.match(row?.line ?? '', /made-in-tui\s+node-01\s+shutoff\s+2\s+1\.0G/);
  });

  await t.test('clone VM: a running VM is refused on screen; a stopped one is copied with its volume and shows in the table and the storage view', async () => {
    await cmd(`clone ${vm.name}`);
    await tm.waitFor(new RegExp(`Clone VM ${vm.name} on node-\\d+ \\(running\\)`), 5000, 'the clone screen');
    const pre = await tm.waitFor(/Volumes copied \(1\)/, 10_000, 'the preview');
    assert.match(pre, new RegExp(`${vm.name} is running: shut it down first`), 'said before anything is sent');
    tm.keys('C');
    const refused = await tm.waitFor(/not cloned:/, 5000, 'the refusal');
    assert.match(refused, new RegExp(`! ${vm.name} is running: a clone is made from a stopped VM`));
    await back();
    await cmd('clone made-in-tui');
    const form = await tm.waitFor(/Volumes copied \(1\)/, 10_000, 'the preview of made-in-tui');
    assert.match(form, /new name\s+made-in-tui-clone/);
    assert.match(form, /vda\s+default\/made-in-tui\.qcow2\s+-> made-in-tui-clone\.qcow2/);
    assert.match(form, /NICs given new MACs: 1/);
    tm.keys('C');
    await tm.waitFor(/cloned made-in-tui as made-in-tui-clone on node-01: 1 volume copied/, 15_000, 'the clone made');
    const s = await tm.waitFor((x) => tableRows(x).some((r) => r.name === 'made-in-tui-clone'), 10_000, 'the clone in the table');
    assert.equal(tableRows(s).find((r) => r.name === 'made-in-tui-clone')?.state, 'shutoff');
    assert.equal(tableRows(s).find((r) => r.name === 'made-in-tui')?.state, 'shutoff', 'the source is still there');
    await cmd('storage node-01');
    await tm.waitFor(/made-in-tui-clone\.qcow2\s+\S+\s+\S+\s+qcow2\s+made-in-tui-clone/, 10_000, 'the copy in the storage view, used by the clone');
    await back();
  });

  tm.keys('q');
  assert.equal(await tm.waitExit(15_000), 0);
  assert.equal(tm.stderr().trim(), '');
});
