/**
 * End-to-end in the real `vem demo` (SIMULATED nodes with simulated templates, real agents on
 * loopback), driven by keys in tmux: the create form's "from template" (issue 18). The node's
 * templates are listed and labelled SIMULATED, the SSH key is defaulted from ~/.ssh/*.pub of the
 * jump host and shows in the user-data preview; an unknown template, a disk smaller than the
 * template, invalid user-data and a name in use are refused under the field they are about with
 * nothing made; a good form runs the agent's provisioning job and the new VM appears running,
 * the job's result on the status line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { haveTmux, tableRows, Tmux } from './tmux.js';
import { skipUnless } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = process.env['VEM_CLI'] ?? resolve(ROOT, 'dist/src/cli.js');
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOd7LhYYlMj0vQ2rVNcW0mS7x0kxBO6c+Zo5t6Jv9k3j ops@jump';
const ROCKY = 'templates/rocky-9.4-genericcloud-base.qcow2';

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The form's rows (label as shown, the line), errors left out, from the first field to the button. */
function formRows(screen: string): Array<{ label: string; line: string; at: number }> {
  const lines = screen.split('\n');
  const out: Array<{ label: string; line: string; at: number }> = [];
  for (let i = 3; i < lines.length; i++) {
    const l = lines[i] ?? '';
    if (/\[ create \]/.test(l)) break;
    if (/^[> ] \S/.test(l)) out.push({ label: l.slice(2, 14).trim(), line: l, at: i });
  }
  return out;
}

test('create form from a template: templates listed SIMULATED, bad input refused by field, a VM provisioned', { skip: skipUnless(haveTmux(), 'tmux'), timeout: 120_000 }, async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'vem-tmpl-home-'));
  mkdirSync(join(home, '.ssh'));
  writeFileSync(join(home, '.ssh', 'id_ed25519.pub'), `${KEY}\n`);
  writeFileSync(join(home, 'bad.yaml'), '#!/bin/sh\necho hello\n');
  writeFileSync(join(home, 'good.yaml'), '#cloud-config\npackage_update: true\n');
  const tm = new Tmux([process.execPath, VEM, 'demo', '--nodes', '2', '--vms', '6', '--seed', '5'], { width: 130, height: 50, cwd: ROOT, env: { HOME: home } });
  t.after(() => {
    tm.kill();
    rmSync(home, { recursive: true, force: true });
  });
  const first = await tm.waitFor((x) => /VMs \d+ of \d+/.test(x) && tableRows(x).length > 0, 20_000, 'the overview');
  const count = Number(/VMs (\d+) of/.exec(first)?.[1]);

  tm.keys(':');
  tm.type('create web-7');
  tm.keys('Enter');
  const form = await tm.waitFor(/Create a VM on (\S+) {2}SIMULATED[\s\S]*\[ create \]/, 10_000, 'the create form');
  const node = /Create a VM on (\S+)/.exec(form)?.[1] ?? '';
  const taken = tableRows(first).find((r) => r.node === node)?.name ?? '';
  assert.ok(taken !== '', `a VM on ${node} in ${first}`);

  /** Moves the cursor to the field, edits it in the prompt and waits for the new value in its row. */
  const setField = async (label: string, value: string): Promise<void> => {
    tm.keys('g');
    const s = await tm.waitFor(/^> name /m, 5000, 'the cursor on the first field');
    const at = formRows(s).findIndex((r) => r.label === label);
    assert.ok(at >= 0, `no field ${label} on\n${s}`);
    for (let i = 0; i < at; i++) tm.keys('j');
    await tm.waitFor(new RegExp(`^> ${esc(label)} `, 'm'), 5000, `the cursor on ${label}`);
    tm.keys('Enter');
    await tm.waitFor(new RegExp(`${esc(label)} \\(`), 5000, `the prompt of ${label}`);
    tm.keys('C-u');
    if (value !== '') tm.type(value);
    tm.keys('Enter');
    await tm.waitFor((x) => formRows(x).some((r) => r.label === label && r.line.slice(15).startsWith(value.slice(0, 33))), 5000, `${label} set to ${value}`);
  };
  /** C, then the error `re` right under the field's row. */
  const refused = async (label: string, re: RegExp): Promise<string> => {
    tm.keys('C');
    const s = await tm.waitFor((x) => {
      const row = formRows(x).find((r) => r.label === label);
      return row !== undefined && re.test(x.split('\n')[row.at + 1] ?? '');
    }, 10_000, `${re} under ${label}`);
    assert.match(s, /not created: |not made: /, 'the status line says nothing was made');
    return s;
  };

  await t.test('disk: template lists the node\'s templates, labelled SIMULATED, and previews the user-data with the jump host\'s key', async () => {
    await setField('disk', 'template');
    const s = await tm.waitFor(/Templates on \S+ \(3\)[\s\S]*#cloud-config/, 10_000, 'the template list and the preview');
    assert.match(s, new RegExp(`Templates on ${esc(node)} \\(3\\)`));
    assert.match(s, /templates\/debian-12-genericcloud-amd64\.qcow2\s+volume\s+debian-12\s+2\.0 GiB {2}SIMULATED/);
    assert.match(s, /templates\/rocky-9\.4-genericcloud-base\.qcow2\s+volume\s+rocky-9\.4\s+10\.0 GiB {2}SIMULATED/);
    assert.match(s, /^ {2}SSH key +~\/\.ssh\/id_ed25519\.pub /m, 'the key defaulted from ~/.ssh/*.pub');
    assert.match(s, /user-data the seed will carry \(hostname web-7; 1 SSH key\)/);
    assert.match(s, /^ {2}hostname: web-7$/m);
    assert.ok(s.includes(`    - ${KEY}`), s);
    assert.doesNotMatch(s, /^ {2}boot /m, 'no boot media from a template');
  });

  await t.test('bad input is refused under its field, before anything is made', async () => {
    await setField('template', 'nope');
    await refused('template', /! template: no template 'nope' on \S+ \(templates: templates\/debian-12/);
    await setField('template', ROCKY);
    await setField('disk size', '5G');
    await refused('disk size', /! disk size: 5G is smaller than the template's 10G; a disk can only grow/);
    await setField('disk size', '20G');
    await setField('user-data', '~/bad.yaml');
    await refused('user-data', /! user-data: a shell script; only #cloud-config is accepted/);
    await setField('user-data', '~/missing.yaml');
    await refused('user-data', /! user-data: cannot read ~\/missing\.yaml on the jump host \(ENOENT\)/);
    await setField('user-data', '~/good.yaml');
    await setField('name', taken);
    const s = await refused('name', new RegExp(`! name: ${esc(node)} already has a VM '${esc(taken)}'`));
    assert.doesNotMatch(s, /Provisioning /, 'no job was started');
  });

  await t.test('a good form provisions the VM: the job\'s result, then the VM running in the table', async () => {
    await setField('name', 'web-7');
    await setField('start now', 'yes');
    const pre = tm.capture();
    assert.match(pre, /^ {2}package_update: true$/m, 'the user-data file merged into the preview');
    tm.keys('C');
    const s = await tm.waitFor(
      (x) => /made VM web-7 on \S+ from templates\/rocky-9\.4-genericcloud-base\.qcow2: 20\.0 GiB overlay in default, seed by SIMULATED, started/.test(x) && tableRows(x).some((r) => r.name === 'web-7'),
      20_000,
      'the job result and the new VM',
    );
    const row = tableRows(s).find((r) => r.name === 'web-7');
    assert.deepEqual(row && [row.node, row.state], [node, 'running']);
    const after = await tm.waitFor(/VMs \d+ of \d+/, 5000);
    assert.equal(Number(/VMs (\d+) of/.exec(after)?.[1]), count + 1, 'one VM made, none by the refused tries');
    assert.equal(tableRows(after).filter((r) => r.name === 'web-7').length, 1);
  });

  tm.keys('q');
  assert.equal(await tm.waitExit(10_000), 0);
});
