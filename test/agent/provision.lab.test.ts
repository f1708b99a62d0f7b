// `vem vm create` from a template volume on a lab node (real libvirtd, QEMU/TCG): the disk is a
// qcow2 overlay whose backing file is the template (qemu-img info), the CD-ROM holds a NoCloud
// seed labelled cidata whose user-data carries the SSH key and passes `cloud-init schema`, and
// the VM boots: the test guest's NoCloud step applies the seed, and the hostname, key and
// command are read back through the console. The template's bytes are unchanged. Bad input
// is refused before anything is made, and a failure midway leaves nothing behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openGuestConsole, requireLab, startLab, waitForPrompt, GUEST_PROMPT } from '../lab/index.js';
import { buildNoCloudGuest, NOCLOUD_DONE } from '../lab/nocloud.js';
import { findBinary } from '../lab/prereq.js';
import { connectLibvirt } from '../../src/libvirt/client/index.js';
import { startAgent } from '../../src/agent/index.js';
import { need } from '../ci.js';
import { runVem } from '../vem-cli.js';
import { bundleGuestAgent } from '../guest-agent/bundle.js';
import { startNodeAgent } from '../guest-agent/e2e/setup.js';
import { client } from '../../src/api/client.js';
import { XmlRpcClient } from '../../src/common/xmlrpc/client.js';

const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

test('vem vm create from a template volume: overlay on the template, cidata seed with the key, boots and applies it', { timeout: 300_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'qemu', 'guest']) !== null) return;
  for (const bin of ['genisoimage', 'cloud-init', 'qemu-img', 'isoinfo']) if (!need(t, findBinary(bin) !== undefined, `${bin} (bash .ci/install-deps.sh installs it)`)) return;
  const image = await buildNoCloudGuest();
  // The node agent puts dist/guest-agent.mjs (beside its own dist/src) in the seed.
  const bundle = await bundleGuestAgent();
  const lab = await startLab({ nodes: 1, name: 'provision' });
  t.after(() => lab.stop());
  const [n1] = lab.nodes;
  assert.ok(n1);
  const uri = n1.qemuUri;
  const tdir = join(n1.dir, 'pool-templates');
  mkdirSync(tdir, { recursive: true });
  await n1.virsh(uri, 'pool-define-as', 'templates', 'dir', '--target', tdir);
  await n1.virsh(uri, 'pool-start', 'templates');
  await n1.virsh(uri, 'vol-create-as', 'templates', 'busybox-1.36.img', '64M', '--format', 'raw');
  const templatePath = join(tdir, 'busybox-1.36.img');
  const before = sha(templatePath);

  const token = randomBytes(24).toString('hex');
  const agent = await startAgent({ hypervisor: () => connectLibvirt(n1.qemuUnixUri, { timeoutMs: 20_000 }), listen: '127.0.0.1:0', token, pollMs: 500, plugins: false, auditLog: join(lab.dir, 'audit.jsonl') });
  t.after(() => agent.close());
  const tokenFile = join(lab.dir, 'token');
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const cluster = join(lab.dir, 'cluster.yaml');
  writeFileSync(cluster, `nodes:\n  - name: n1\n    url: ${agent.url}\n    token-file: ${tokenFile}\n`);
  const pub = join(lab.dir, 'id.pub');
  writeFileSync(pub, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOd7LhYYlMj0vQ2rVNcW0mS7x0kxBO6c+Zo5t6Jv9k3j lab@jump\n');

  const vem = (...a: string[]): ReturnType<typeof runVem> => runVem([...a, '--cluster', cluster]);
  const tmpl = await vem('vm', 'templates', '--node', 'n1', '--json');
  assert.equal(tmpl.code, 0, tmpl.stderr);
  assert.deepEqual((JSON.parse(tmpl.stdout) as { templates: Array<{ name: string; os: string }> }).templates.map((x) => [x.name, x.os]), [['templates/busybox-1.36.img', undefined]]);

  const boot = ['--virt-type', 'qemu', '--kernel', image.kernel, '--initrd', image.initrd, '--cmdline', 'console=ttyS0 panic=-1 quiet', '--network', 'none', '--memory', '768M'];
  // Bad input: refused, naming the field, and nothing made.
  const volsBefore = await n1.virsh(uri, 'vol-list', 'templates');
  for (const [args, re] of [
    [['--from', 'templates/nope.img'], /template: pool templates on .* has no volume 'nope\.img'/],
    [['--from', 'missing-template'], /template: no template 'missing-template'/],
    [['--from', 'templates/busybox-1.36.img', '--disk', '32M'], /diskBytes: .* smaller than the template/],
    [['--from', 'templates/busybox-1.36.img', '--user-data', join(lab.dir, 'bad-ud')], /userData\.runcmd: must be a list of commands/],
  ] as Array<[string[], RegExp]>) {
    writeFileSync(join(lab.dir, 'bad-ud'), '#cloud-config\nruncmd: reboot\n');
    const r = await vem('vm', 'create', 'nc1', '--node', 'n1', ...boot, ...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, re);
  }
  assert.equal(await n1.virsh(uri, 'vol-list', 'templates'), volsBefore);
  assert.doesNotMatch(await n1.virsh(uri, 'list', '--all'), /nc1/);

  // The real thing.
  const made = await vem('vm', 'create', 'nc1', '--node', 'n1', '--from', 'templates/busybox-1.36.img', '--disk', '1G', '--ssh-key', pub, '--hostname', 'nc-host-1', '--run', 'echo provisioned-ok > /tmp/ran', ...boot);
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stderr, /completed 100% \(disk, seed, define, start\)/);
  assert.match(made.stdout, /nc1 made on n1 from templates\/busybox-1\.36\.img, started/);

  const info = JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', join(tdir, 'nc1.qcow2')]).toString()) as { format: string; 'virtual-size': number; 'backing-filename': string; 'backing-filename-format': string };
  assert.equal(info.format, 'qcow2');
  assert.equal(info['backing-filename'], templatePath);
  assert.equal(info['backing-filename-format'], 'raw');
  assert.equal(info['virtual-size'], 1024 ** 3);

  const seed = join(tdir, 'nc1-seed.iso');
  assert.match(execFileSync('isoinfo', ['-d', '-i', seed]).toString(), /Volume id: cidata/);
  const ud = execFileSync('isoinfo', ['-J', '-i', seed, '-x', '/user-data']).toString();
  assert.match(ud, /^#cloud-config\n/);
  assert.ok(ud.includes('AAAAC3NzaC1lZDI1NTE5AAAAIOd7LhYYlMj0vQ2rVNcW0mS7x0kxBO6c+Zo5t6Jv9k3j lab@jump'), ud);
  const udFile = join(lab.dir, 'user-data');
  writeFileSync(udFile, ud);
  const schema = execFileSync('cloud-init', ['schema', '-c', udFile]).toString();
  assert.match(schema, /Valid cloud-config/);
  assert.match(execFileSync('isoinfo', ['-J', '-i', seed, '-x', '/meta-data']).toString(), /instance-id: iid-[0-9a-f-]{36}/);
  assert.match(await n1.virsh(uri, 'domblklist', 'nc1'), /sda\s+\S*nc1-seed\.iso/);
  // The seed carries the guest agent and its unit.
  assert.equal(execFileSync('isoinfo', ['-J', '-i', seed, '-x', '/vem/guest-agent.mjs']).toString(), readFileSync(bundle, 'utf8'));
  assert.match(execFileSync('isoinfo', ['-J', '-i', seed, '-x', '/vem/vem-guest-agent.service']).toString(), /ExecStart=.*guest-agent\.mjs --port \/dev\/virtio-ports\/org\.vemanager\.guest\.0/);

  const con = await openGuestConsole(uri, 'nc1');
  t.after(() => con.close());
  await con.expect(new RegExp(NOCLOUD_DONE), 120_000);
  await waitForPrompt(con, new RegExp(GUEST_PROMPT.trim()), 60_000);
  assert.equal((await con.command('hostname')).trim(), 'nc-host-1');
  assert.match(await con.command('cat /root/.ssh/authorized_keys'), /lab@jump/);
  assert.equal((await con.command('cat /tmp/ran')).trim(), 'provisioned-ok');
  await con.close();
  // The guest browser reaches the guest agent the seed installed (a node agent inside the node's namespace, where the channel sockets are).
  const inNode = await startNodeAgent(n1);
  t.after(() => inNode.stop());
  const rpc = new XmlRpcClient({ url: inNode.url, timeoutMs: 20_000 });
  t.after(() => rpc.close());
  const guest = client(rpc).guest;
  let ping: Awaited<ReturnType<typeof guest.ping>> | undefined;
  for (let i = 0; i < 60 && ping === undefined; i++) {
    ping = await guest.ping('nc1').catch(() => undefined);
    if (ping === undefined) await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(ping, 'guest.ping through the relay never answered');
  assert.ok(typeof ping.pid === 'number' && !/qemu/.test(ping.agent), JSON.stringify(ping));
  assert.equal((await guest.info('nc1')).hostname, 'nc-host-1');

  // A name in use is refused; the running VM's template was never written.
  const again = await vem('vm', 'create', 'nc1', '--node', 'n1', '--from', 'templates/busybox-1.36.img', ...boot);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /name: a VM named 'nc1' exists/);
  const listed = await vem('vm', 'list', '--node', 'n1', '--json');
  assert.deepEqual((JSON.parse(listed.stdout) as { vms: Array<{ name: string; state: string }> }).vms.map((v) => [v.name, v.state]), [['nc1', 'running']]);
  assert.equal((await vem('vm', 'destroy', 'nc1')).code, 0);
  assert.equal(sha(templatePath), before, 'the template was written');
  const del = await vem('vm', 'delete', 'nc1');
  assert.equal(del.code, 0, del.stderr);
  assert.doesNotMatch(await n1.virsh(uri, 'list', '--all'), /nc1/);

  // A failure midway (a kernel path that does not exist: the start fails) removes the overlay, the seed and the definition.
  const bad = await vem('vm', 'create', 'nc2', '--node', 'n1', '--from', 'templates/busybox-1.36.img', ...boot.map((a) => (a === image.kernel ? '/nonexistent/vmlinuz' : a)));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /step start failed: .*removed what was made \(definition, templates\/nc2-seed\.iso, templates\/nc2\.qcow2\)/);
  assert.doesNotMatch(await n1.virsh(uri, 'vol-list', 'templates'), /nc2/);
  assert.doesNotMatch(await n1.virsh(uri, 'list', '--all'), /nc2/);

  // A full copy: a qcow2 of its own with no backing file, grown to the size asked (libvirt's copy keeps the
  // template's size, so the agent resizes it), refused up front when the pool cannot hold the template's data.
  const full = await vem('vm', 'create', 'nc3', '--node', 'n1', '--from', 'templates/busybox-1.36.img', '--full-copy', '--disk', '1G', '--no-start', ...boot);
  assert.equal(full.code, 0, full.stderr);
  assert.match(full.stderr, /completed 100% \(disk, seed, define\)/);
  const copy = JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', join(tdir, 'nc3.qcow2')]).toString()) as { format: string; 'virtual-size': number; 'backing-filename'?: string };
  assert.equal(copy.format, 'qcow2');
  assert.equal(copy['backing-filename'], undefined, 'a full copy has no backing file');
  assert.equal(copy['virtual-size'], 1024 ** 3);
  assert.equal(sha(templatePath), before, 'the template was written');
  assert.equal((await vem('vm', 'delete', 'nc3')).code, 0);

  const audit = readFileSync(join(lab.dir, 'audit.jsonl'), 'utf8');
  assert.match(audit, /"method":"job:provision".*"status":"completed"/);
  assert.match(audit, /"method":"job:provision".*step start failed/);
});
