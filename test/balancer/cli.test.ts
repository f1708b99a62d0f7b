// `vem balance simulate|generate` as a user runs them: the real CLI in a child process.
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startVemAgent } from '../vem-cli.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli.js');
const PLANETLAB = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'traces', 'planetlab-3days-300vms.csv.gz');

function vem(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('vem balance (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-balance-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('generate writes a trace; simulate --json prints one JSON object as its last line', async () => {
    const trace = join(dir, 'mix.csv');
    const g = await vem('balance', 'generate', '--kind', 'mix', '--vms', '30', '--steps', '60', '--seed', '3', '--out', trace);
    assert.equal(g.code, 0, g.stderr);
    const r = await vem('balance', 'simulate', '--trace', trace, '--hosts', '4', '--host-cores', '8', '--host-mem-gib', '32', '--json');
    assert.equal(r.code, 0, r.stderr);
    const lastLine = r.stdout.trim().split('\n').at(-1) as string;
    const j = JSON.parse(lastLine) as { trace: string; vms: number; hosts: number; policies: Record<string, Record<string, number>> };
    assert.equal(j.vms, 30);
    assert.equal(j.hosts, 4);
    assert.deepEqual(Object.keys(j.policies), ['static', 'drs', 'sandpiper', 'ovirt', 'proxmox', 'proxmox-norm', 'kubevirt', 'ours']);
    for (const m of Object.values(j.policies)) {
      for (const k of ['sla_violation', 'unmet_cpu', 'cv', 'migrations', 'gb_moved', 'plan_ms_p99', 'slatah', 'pdm', 'slav']) assert.equal(typeof m[k], 'number', k);
    }
    assert.equal(j.policies.static?.migrations, 0);
  });

  it('without --json: a table; --policy picks policies; a hosts file works; .gz traces are read', async () => {
    const hosts = join(dir, 'hosts.csv');
    writeFileSync(hosts, 'name,cores,mem_gib\nbig,8,64\nsmall,4,32\n' + Array.from({ length: 10 }, (_, i) => `n${i},4,40`).join('\n') + '\n');
    const r = await vem('balance', 'simulate', '--trace', PLANETLAB, '--hosts-file', hosts, '--policy', 'static,ours');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /300 VMs, 12 nodes, 864 samples every 300 s/);
    assert.match(r.stdout, /^policy\s+sla_violation\s+unmet_cpu\s+cv\s+migrations\s+gb_moved\s+plan_ms_p99\s+slatah\s+pdm\s+slav$/m);
    assert.match(r.stdout, /^static\s/m);
    assert.match(r.stdout, /^ours\s/m);
    assert.doesNotMatch(r.stdout, /^drs\s/m);
  });

  it('a malformed trace is refused with the line named; bad flags exit 2', async () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'time,vm,cpu,mem\n0,a,1,512\n60,a,lots,512\n');
    const r = await vem('balance', 'simulate', '--trace', bad, '--hosts', '2', '--host-cores', '4', '--host-mem-gib', '8');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.csv line 3: cpu 'lots' is not a number/);
    const u = await vem('balance', 'simulate', '--trace', bad, '--hosts', '2');
    assert.equal(u.code, 2);
    assert.match(u.stderr, /hosts are needed/);
    const p = await vem('balance', 'simulate', '--trace', bad, '--hosts', '2', '--host-cores', '4', '--host-mem-gib', '8', '--policy', 'magic');
    assert.equal(p.code, 2);
    assert.match(p.stderr, /unknown policy 'magic'/);
    const s = await vem('balance', 'frobnicate');
    assert.equal(s.code, 2);
  });
});

/** A `vem agent --sim` child on a loopback port; resolves with its URL once it serves. */
async function simAgent(dir: string, name: string, vms: number): Promise<{ url: string; p: ChildProcess }> {
  const a = await startVemAgent(['--sim', '--sim-vms', String(vms), '--listen', '127.0.0.1:0', '--audit-log', join(dir, `${name}-audit.jsonl`), '--poll-ms', '200']);
  return { url: a.url, p: a.proc };
}

describe('vem balance generate/simulate: files as named, warnings, units', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-balance-gen-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--out x.csv.gz writes gzip that simulate reads; --out - writes the CSV to standard output', async () => {
    const gz = join(dir, 'x.csv.gz');
    const g = await vem('balance', 'generate', '--kind', 'mix', '--vms', '10', '--steps', '20', '--out', gz);
    assert.equal(g.code, 0, g.stderr);
    assert.deepEqual([...readFileSync(gz).subarray(0, 2)], [0x1f, 0x8b]);
    assert.match(gunzipSync(readFileSync(gz)).toString('utf8'), /^time,vm,cpu,mem/);
    const r = await vem('balance', 'simulate', '--trace', gz, '--hosts', '2', '--host-cores', '8', '--host-mem-gib', '64', '--policy', 'static');
    assert.equal(r.code, 0, r.stderr);
    const o = await vem('balance', 'generate', '--kind', 'mix', '--vms', '5', '--steps', '4', '--out', '-');
    assert.equal(o.code, 0, o.stderr);
    assert.match(o.stdout, /^time,vm,cpu,mem/);
    assert.equal(existsSync(join(process.cwd(), '-')), false);
  });

  it('VMs that cannot fit are warned about; the table says its units; the usage lists every option', async () => {
    const t = join(dir, 'many.csv');
    assert.equal((await vem('balance', 'generate', '--kind', 'mix', '--vms', '300', '--steps', '5', '--out', t)).code, 0);
    const r = await vem('balance', 'simulate', '--trace', t, '--hosts', '2', '--host-cores', '8', '--host-mem-gib', '2', '--policy', 'static');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: \d+ of 300 VMs do not fit in the nodes' memory/);
    assert.match(r.stdout, /unmet_cpu: core-seconds of CPU demand no node served/);
    const j = await vem('balance', 'simulate', '--trace', t, '--hosts', '2', '--host-cores', '8', '--host-mem-gib', '2', '--policy', 'static', '--json');
    assert.equal((JSON.parse(j.stdout.trim().split('\n').at(-1) as string) as { warnings: string[] }).warnings.length, 1);
    const fine = await vem('balance', 'simulate', '--trace', t, '--hosts', '8', '--host-cores', '32', '--host-mem-gib', '512', '--policy', 'static');
    assert.doesNotMatch(fine.stderr, /do not fit/);
    const u = await vem('balance', 'simulate');
    assert.equal(u.code, 2);
    assert.match(u.stderr, /--only VM,\.\.\./);
    assert.match(u.stderr, /--auto --every S/);
  });
});

describe('vem balance plan/apply --evacuate (CLI against a real simulated agent)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-evac-'));
  const kids: ChildProcess[] = [];
  after(() => {
    for (const k of kids) if (k.exitCode === null) k.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('a one-node cluster: plan names every VM and says the node still holds them; apply exits non-zero', async () => {
    const a = await simAgent(dir, 'solo', 4);
    kids.push(a.p);
    const cluster = join(dir, 'one.yaml');
    writeFileSync(cluster, `nodes:\n  - name: solo\n    url: ${a.url}\n`);
    // Without --evacuate: one node is not "balanced", it has nothing to balance between.
    const bal = await vem('balance', 'plan', '--cluster', cluster, '--period', '1');
    assert.equal(bal.code, 0, bal.stderr);
    assert.match(bal.stdout, /only one node \(solo\) reachable: nothing to balance between/);
    assert.doesNotMatch(bal.stdout, /^balanced/m);
    const plan = await vem('balance', 'plan', '--cluster', cluster, '--period', '1', '--evacuate', 'solo');
    assert.equal(plan.code, 1, plan.stdout + plan.stderr);
    assert.doesNotMatch(plan.stdout, /balanced/);
    assert.match(plan.stdout, /^node solo still holds 4 VMs:$/m);
    assert.equal((plan.stdout.match(/only node in the cluster/g) ?? []).length, 4, plan.stdout);
    const json = await vem('balance', 'plan', '--cluster', cluster, '--period', '1', '--evacuate', 'solo', '--json');
    const j = JSON.parse(json.stdout.trim()) as { moves: unknown[]; evacuation: { remaining: Array<{ vm: string; state: string; code: string }>; nodes: Array<{ holds: number }> } };
    assert.equal(j.moves.length, 0);
    assert.equal(j.evacuation.remaining.length, 4);
    assert.ok(j.evacuation.remaining.every((r) => r.code === 'only-node'));
    assert.equal(j.evacuation.nodes[0]?.holds, 4);
    const apply = await vem('balance', 'apply', '--cluster', cluster, '--period', '1', '--evacuate', 'solo', '--yes');
    assert.equal(apply.code, 1, apply.stdout + apply.stderr);
    assert.match(apply.stderr, /node solo still holds 4 VMs/);
    const bad = await vem('balance', 'plan', '--cluster', cluster, '--evacuate', 'solo', '--paused', 'maybe');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--paused wants live or keep/);
  });

  it('apply to a url: node without migrate-uri fails that move with a hint to set it, and the node still holds the VM', async () => {
    const a = await simAgent(dir, 'src', 2);
    const b = await simAgent(dir, 'dst', 0);
    kids.push(a.p, b.p);
    const cluster = join(dir, 'two.yaml');
    writeFileSync(cluster, `nodes:\n  - name: src\n    url: ${a.url}\n  - name: dst\n    url: ${b.url}\n`);
    // The plan prints each move's memory and disk bytes apart: dst has the pool at the disks' folder, not their files.
    const plan = await vem('balance', 'plan', '--cluster', cluster, '--period', '1', '--evacuate', 'src');
    assert.match(plan.stdout, /src -> dst {2}\(evacuation, live, copy \d+(\.\d)?[MG] \+ disk \d+(\.\d)?G, ~\d+ s\)/, plan.stdout + plan.stderr);
    const r = await vem('balance', 'apply', '--cluster', cluster, '--period', '1', '--evacuate', 'src', '--yes');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /FAILED .* src -> dst .*no migration URI for node dst \(set 'migrate-uri: qemu\+ssh:\/\/HOST\/system' for dst in the cluster file, or give --dest-uri dst=URI\)/);
    assert.match(r.stderr, /node src still holds 2 VMs: .*\(migration failed\)/);
  });
});
