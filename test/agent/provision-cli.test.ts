// `vem vm` as a script runs it (child processes) against a real agent over a SIMULATED node with
// the demo's simulated templates: templates listed and labelled SIMULATED, create from one with a
// progress line and --json, refusals with exit 1 naming the field, a bad command line exit 2,
// the lifecycle verbs, and the sizes the flags take.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAgent, type RunningAgent } from '../../src/agent/index.js';
import { parseSize } from '../../src/cli/vm.js';
import { createSimCluster, type SimCluster } from '../../src/libvirt/sim/index.js';
import { runVem } from '../vem-cli.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOd7LhYYlMj0vQ2rVNcW0mS7x0kxBO6c+Zo5t6Jv9k3j ops@jump';

describe('vem vm (CLI) on a simulated node with templates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-vm-'));
  const cluster = join(dir, 'cluster.yaml');
  let sim: SimCluster;
  let agent: RunningAgent;
  const vem = (...a: string[]): ReturnType<typeof runVem> => runVem(['vm', ...a, '--cluster', cluster]);
  before(async () => {
    sim = createSimCluster({ nodes: 1, vmsPerNode: 2, seed: 5, templates: true });
    agent = await startAgent({ hypervisor: sim.hypervisors[0] as NonNullable<SimCluster['hypervisors'][0]>, listen: '127.0.0.1:0', pollMs: 100 });
    writeFileSync(cluster, `nodes:\n  - name: s1\n    url: ${agent.url}\n`);
    writeFileSync(join(dir, 'id.pub'), `${KEY}\n`);
  });
  after(async () => {
    await agent.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the simulated templates, labelled SIMULATED', async () => {
    const r = await vem('templates');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^templates\/debian-12-genericcloud-amd64\.qcow2\s+s1\s+volume\s+debian-12\s+2\.0 GiB {2}SIMULATED$/m);
    const j = JSON.parse((await vem('templates', '--json')).stdout) as { templates: Array<{ name: string; simulated?: boolean }> };
    assert.equal(j.templates.length, 3);
    assert.ok(j.templates.every((t) => t.simulated === true));
  });

  it('creates a VM from a template: progress on stderr, the job as JSON, the VM in vm list', async () => {
    const r = await vem('create', 'app-1', '--node', 's1', '--from', 'templates/debian-12-genericcloud-amd64.qcow2', '--cpus', '2', '--memory', '2G', '--disk', '20G', '--ssh-key', join(dir, 'id.pub'), '--network', 'none', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /vem vm create app-1: completed 100% \(disk, seed, define, start\)/);
    const job = JSON.parse(r.stdout) as { kind: string; status: string; provision: { disk: { capacity: number; backing: string }; seed: { tool: string } } };
    assert.equal(job.kind, 'provision');
    assert.equal(job.provision.disk.capacity, 20 * 1024 ** 3);
    assert.equal(job.provision.disk.backing, '/var/lib/libvirt/templates/debian-12-genericcloud-amd64.qcow2');
    assert.equal(job.provision.seed.tool, 'SIMULATED');
    const l = JSON.parse((await vem('list', '--json')).stdout) as { vms: Array<{ name: string; state: string; vcpus: number; memKiB: number }> };
    const vm = l.vms.find((v) => v.name === 'app-1');
    assert.deepEqual(vm && [vm.state, vm.vcpus, vm.memKiB], ['running', 2, 2 * 1024 * 1024]);
  });

  it('--full-copy: the disk is a copy of the template grown to --disk, with no backing file', async () => {
    const r = await vem('create', 'copy-1', '--node', 's1', '--from', 'templates/debian-12-genericcloud-amd64.qcow2', '--disk', '20G', '--network', 'none', '--full-copy', '--no-start', '--json');
    assert.equal(r.code, 0, r.stderr);
    const job = JSON.parse(r.stdout) as { provision: { disk: { capacity: number; backing?: string; copiedFrom?: string }; steps: Array<{ step: string; detail?: string }> } };
    assert.equal(job.provision.disk.backing, undefined);
    assert.equal(job.provision.disk.copiedFrom, 'templates/debian-12-genericcloud-amd64.qcow2');
    // The volume as the node reports it: grown from the template's 2 GiB to the 20 GiB asked.
    assert.match(job.provision.steps.find((s) => s.step === 'disk')?.detail ?? '', /copy-1\.qcow2, a full copy of templates\/debian-12-genericcloud-amd64\.qcow2 \(21474836480 bytes\)/);
  });

  it('refuses bad input with exit 1 naming the field, and a bad command line with exit 2', async () => {
    for (const [args, re] of [
      [['--from', 'nope'], /template: no template 'nope' on .*templates\/debian-12/],
      [['--from', 'templates/rocky-9.4-genericcloud-base.qcow2', '--disk', '5G'], /diskBytes: .*smaller than the template/],
      [['--from', 'templates/debian-12-genericcloud-amd64.qcow2', '--network', 'nonet'], /networks\[0\]: no network 'nonet'/],
    ] as Array<[string[], RegExp]>) {
      const r = await vem('create', 'app-2', '--node', 's1', ...args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    const taken = await vem('create', 'app-1', '--node', 's1', '--from', 'templates/debian-12-genericcloud-amd64.qcow2', '--network', 'none');
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /name: a VM named 'app-1' exists/);
    assert.equal((await vem('create', 'app-2', '--from', 'x')).code, 2);
    assert.equal((await vem('create', 'app-2', '--node', 's1', '--from', 'x', '--memory', 'lots')).code, 2);
    assert.equal((await vem('frobnicate')).code, 2);
    const l = JSON.parse((await vem('list', '--json')).stdout) as { vms: Array<{ name: string }> };
    assert.ok(!l.vms.some((v) => v.name === 'app-2'));
  });

  it('destroy, delete (refused while running), start', async () => {
    const del = await vem('delete', 'app-1');
    assert.equal(del.code, 1);
    assert.match(del.stderr, /app-1 is running; stop it first/);
    assert.equal((await vem('destroy', 'app-1')).code, 0);
    const d = await vem('delete', 'app-1', '--json');
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(JSON.parse(d.stdout), { vm: 'app-1', node: 's1', done: 'delete' });
    assert.equal((await vem('start', 'app-1')).code, 1);
  });

  it('sizes: units, and the unit-less defaults of --memory (MiB) and --disk (GiB)', () => {
    assert.equal(parseSize('2G', '--memory', 'm'), 2 * 1024 ** 3);
    assert.equal(parseSize('512', '--memory', 'm'), 512 * 1024 ** 2);
    assert.equal(parseSize('20', '--disk', 'g'), 20 * 1024 ** 3);
    assert.equal(parseSize('1.5GiB', '--disk', 'g'), 1.5 * 1024 ** 3);
    assert.throws(() => parseSize('2X', '--disk', 'g'), /--disk wants a size/);
  });
});
