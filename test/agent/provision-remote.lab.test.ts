// `vem vm create --template-node`: the template lives on another lab node (real libvirtds,
// QEMU driver). The target node's agent reads it over the holder's libvirt URI (the cluster
// file's migrate-uri) and copies its bytes (virStorageVolDownload into virStorageVolUpload)
// before the rest of the provisioning; the copy is grown to the size asked. The template is
// unchanged, and a template the holder lacks is refused before anything is made.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { requireLab, startLab } from '../lab/index.js';
import { findBinary } from '../lab/prereq.js';
import { connectLibvirt } from '../../src/libvirt/client/index.js';
import { startAgent } from '../../src/agent/index.js';
import { need } from '../ci.js';
import { runVem } from '../vem-cli.js';

const MiB = 1024 * 1024;
const sha = (f: string, bytes?: number): string => createHash('sha256').update(bytes === undefined ? readFileSync(f) : readFileSync(f).subarray(0, bytes)).digest('hex');

test('vem vm create from a template on another node: its bytes copied first, grown, the template untouched', { timeout: 240_000 }, async (t) => {
  if (requireLab(t, ['libvirt', 'qemu']) !== null) return;
  for (const bin of ['genisoimage', 'qemu-img']) if (!need(t, findBinary(bin) !== undefined, `${bin} (bash .ci/install-deps.sh installs it)`)) return;
  const lab = await startLab({ nodes: 2, name: 'provremote' });
  t.after(() => lab.stop());
  const [n1, n2] = lab.nodes;
  assert.ok(n1 && n2);
  const dirs = new Map<string, string>();
  for (const n of [n1, n2]) {
    const d = join(n.dir, 'pool-templates');
    mkdirSync(d, { recursive: true });
    dirs.set(n.name, d);
    await n.virsh(n.qemuUri, 'pool-define-as', 'templates', 'dir', '--target', d);
    await n.virsh(n.qemuUri, 'pool-start', 'templates');
  }
  // The template on n1 only: a raw image with a marker at the start and another 40 MiB in.
  await n1.virsh(n1.qemuUri, 'vol-create-as', 'templates', 'golden.img', '64M', '--format', 'raw');
  const templatePath = join(dirs.get(n1.name) as string, 'golden.img');
  const fd = openSync(templatePath, 'r+');
  writeSync(fd, Buffer.from('vem-golden-start\n'), 0, undefined, 0);
  writeSync(fd, Buffer.from('vem-golden-40MiB\n'), 0, undefined, 40 * MiB);
  closeSync(fd);
  const before = sha(templatePath);

  const lines = ['nodes:'];
  for (const n of [n1, n2]) {
    const agent = await startAgent({ hypervisor: () => connectLibvirt(n.qemuUnixUri, { timeoutMs: 20_000 }), listen: '127.0.0.1:0', pollMs: 500, plugins: false, auditLog: join(lab.dir, `${n.name}-audit.jsonl`) });
    t.after(() => agent.close());
    lines.push(`  - name: ${n.name}`, `    url: ${agent.url}`, `    migrate-uri: ${n.qemuUri}`);
  }
  const cluster = join(lab.dir, 'cluster.yaml');
  writeFileSync(cluster, lines.join('\n') + '\n');
  const vem = (...a: string[]): ReturnType<typeof runVem> => runVem([...a, '--cluster', cluster]);
  const opts = ['--virt-type', 'qemu', '--network', 'none', '--no-guest-agent', '--no-start', '--json'];

  // Refused before anything is made: n1 has no such volume; n2 alone has no template at all.
  const missing = await vem('vm', 'create', 'rc0', '--node', 'n2', '--from', 'templates/nope.img', '--template-node', 'n1', ...opts);
  assert.equal(missing.code, 1, missing.stdout);
  assert.match(missing.stderr, /template: pool templates on n1 has no volume 'nope\.img'/);
  const alone = await vem('vm', 'create', 'rc0', '--node', 'n2', '--from', 'templates/golden.img', ...opts);
  assert.equal(alone.code, 1);
  assert.match(alone.stderr, /template: pool templates on n2 has no volume 'golden\.img'/);
  assert.doesNotMatch(await n2.virsh(n2.qemuUri, 'vol-list', 'templates'), /rc0/);

  const made = await vem('vm', 'create', 'rc1', '--node', 'n2', '--from', 'templates/golden.img', '--template-node', 'n1', '--disk', '128M', ...opts);
  assert.equal(made.code, 0, made.stderr);
  const job = JSON.parse(made.stdout) as { status: string; provision: { disk: { capacity: number; backing?: string; copiedFrom?: string }; steps: Array<{ step: string; detail?: string }> } };
  assert.equal(job.status, 'completed');
  assert.equal(job.provision.disk.copiedFrom, 'n1:templates/golden.img');
  assert.equal(job.provision.disk.backing, undefined);
  assert.match(job.provision.steps.find((s) => s.step === 'disk')?.detail ?? '', /rc1\.img, a full copy of templates\/golden\.img from n1 \(67108864 bytes sent\) \(134217728 bytes\)/);

  const copyPath = join(dirs.get(n2.name) as string, 'rc1.img');
  const info = JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', copyPath]).toString()) as { format: string; 'virtual-size': number; 'backing-filename'?: string };
  assert.deepEqual([info.format, info['virtual-size'], info['backing-filename']], ['raw', 128 * MiB, undefined]);
  assert.equal(sha(copyPath, 64 * MiB), before, "the copy's first 64 MiB are the template's bytes");
  assert.equal(readFileSync(copyPath).subarray(40 * MiB, 40 * MiB + 17).toString(), 'vem-golden-40MiB\n');
  assert.match(await n2.virsh(n2.qemuUri, 'domblklist', 'rc1'), /vda\s+\S*rc1\.img/);
  assert.equal(sha(templatePath), before, 'the template was written');
  assert.match(readFileSync(join(lab.dir, 'n2-audit.jsonl'), 'utf8'), /"method":"vm\.provision".*templateUri/);
});
