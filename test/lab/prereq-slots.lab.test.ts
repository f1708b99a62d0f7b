// The lab's building blocks: prerequisite errors, slots, concurrent labs, test-driver
// node files and a libvirtd outage and restart, all on real daemons.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, existsSync, readdirSync, writeFileSync, rmSync, symlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { MissingPrerequisiteError } from '../../src/common/errors.js';
import { requireLab, startLab, writeTestNodeXml, isAlive, testDomainName } from './index.js';
import { acquireSlot, releaseSlot, slotAddress } from './slots.js';

function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const old: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    old[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(old)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

test('requireLab names the missing prerequisite: a skip reason outside CI, an error under CI=true', () => {
  const what = ['no-such-binary-vem-lab'];
  const reason = withEnv({ CI: undefined }, () => requireLab(undefined, what));
  assert.equal(reason, 'missing prerequisite: no-such-binary-vem-lab (install with .ci/install-deps.sh)');
  assert.throws(() => withEnv({ CI: 'true' }, () => requireLab(undefined, what)), (e: unknown) => {
    assert.ok(e instanceof MissingPrerequisiteError);
    assert.equal(e.message, 'missing prerequisite: no-such-binary-vem-lab (install with .ci/install-deps.sh)');
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
  // A binary that is there passes.
  assert.equal(withEnv({ CI: 'true' }, () => requireLab(undefined, ['sh'])), null);
});

async function withEnvAsync<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const old: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    old[k] = process.env[k];
    process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(old)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

test('a machine without libvirtd: requireLab and the lab CLI say so in one line, and start nothing', () => {
  const bin = mkdtempSync(join(tmpdir(), 'vem-nolibvirtd-'));
  try {
    // Every tool the lab wants, except libvirtd.
    for (const name of ['virtlogd', 'virsh', 'unshare', 'nsenter', 'mount', 'qemu-system-x86_64', 'node', 'getent', 'sh']) {
      const real = spawnSync('sh', ['-c', `PATH=$PATH:/usr/sbin:/sbin command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
      assert.ok(real, `${name} on this machine`);
      symlinkSync(real, join(bin, name));
    }
    assert.throws(() => withEnv({ CI: 'true', VEM_LAB_PATH: bin }, () => requireLab(undefined, ['libvirt', 'qemu'])),
      { name: 'MissingPrerequisiteError', message: 'missing prerequisite: libvirtd (install with .ci/install-deps.sh)' });
    const cli = fileURLToPath(new URL('./cli.js', import.meta.url));
    const labDirs = (): string[] => readdirSync(tmpdir()).filter((e) => e.startsWith('vem-lab-nolibvirtd-'));
    const before = labDirs();
    const r = spawnSync(process.execPath, [cli, 'up', '1', '--name', 'nolibvirtd'], { encoding: 'utf8', env: { ...process.env, CI: 'true', VEM_LAB_PATH: bin }, timeout: 30_000 });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'lab: missing prerequisite: libvirtd (install with .ci/install-deps.sh)\n');
    assert.deepEqual(labDirs(), before, 'no lab folder made');
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

test('slots: atomic, distinct addresses, a dead owner\'s slot is reclaimed after its leftovers are handled', async () => {
  const root = mkdtempSync(join(tmpdir(), 'vem-slots-test-'));
  try {
    await withEnvAsync({ VEM_LAB_SLOTS: root }, async () => {
      const a = await acquireSlot('/lab/a');
      const b = await acquireSlot('/lab/b');
      assert.notEqual(a, b);
      assert.notEqual(slotAddress(a, 0), slotAddress(b, 0));
      assert.match(slotAddress(a, 0), /^127\.77\.\d+\.2$/);
      // A slot whose owner is dead: a finished child's PID.
      const dead = spawnSync('true').pid;
      mkdirSync(join(root, '3'));
      writeFileSync(join(root, '3', 'owner.json'), JSON.stringify({ pid: dead, dir: '/lab/crashed', pids: [dead], startedAt: '' }));
      const cleaned: string[] = [];
      const c = await acquireSlot('/lab/c', async (d) => { cleaned.push(d); });
      assert.equal(c, 3);
      assert.deepEqual(cleaned, ['/lab/crashed']);
      releaseSlot(a, '/lab/a');
      assert.ok(!existsSync(join(root, String(a))));
      releaseSlot(b, '/lab/other'); // not its owner: kept
      assert.ok(existsSync(join(root, String(b))));
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('two labs at once get their own addresses and folders; a test-driver node file serves 1000 domains', { timeout: 120_000 }, async (t) => {
  if (requireLab(t, ['libvirt']) !== null) return;
  const [a, b] = await Promise.all([startLab({ nodes: 1, name: 'unit-a' }), startLab({ nodes: 2, name: 'unit-b' })]);
  try {
    const ips = [...a.nodes, ...b.nodes].map((n) => n.ip);
    assert.equal(new Set(ips).size, 3, `distinct addresses: ${ips.join(' ')}`);
    assert.notEqual(a.dir, b.dir);
    const n = a.nodes[0];
    assert.ok(n);
    const file = join(a.dir, 'node.xml');
    writeTestNodeXml(file, { domains: 1000, running: 600 });
    const uri = n.testUri(file);
    const all = (await n.virsh(uri, 'list', '--all', '--name')).trim().split('\n');
    assert.equal(all.length, 1000);
    assert.ok(all.includes(testDomainName(999)));
    const running = (await n.virsh(uri, 'list', '--state-running', '--name')).trim().split('\n');
    assert.equal(running.length, 600);
    assert.match(await n.virsh(uri, 'pool-list', '--all'), /default\s+active/);
    assert.match(await n.virsh(uri, 'vol-list', 'default'), new RegExp(`${testDomainName(0)}\\.qcow2`));
    assert.match(await n.virsh(uri, 'net-list', '--all'), /default\s+active/);
    // The other lab's node does not see this one's state: each daemon loads its own.
    assert.equal((await b.nodes[0]!.virsh(b.nodes[0]!.qemuUri, 'list', '--all', '--name')).trim(), '');
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  for (const lab of [a, b]) for (const node of lab.nodes) assert.deepEqual(node.livePids(), []);
});

test('stopLibvirtd / startLibvirtd: a node outage and its recovery in the same folders', { timeout: 120_000 }, async (t) => {
  if (requireLab(t, ['libvirt']) !== null) return;
  const lab = await startLab({ nodes: 1, name: 'unit-outage' });
  try {
    const n = lab.nodes[0]!;
    const file = join(lab.dir, 'node.xml');
    writeTestNodeXml(file, { domains: 3, running: 1 });
    const first = n.libvirtdPid();
    assert.ok(isAlive(first));
    await n.stopLibvirtd();
    assert.ok(!isAlive(first));
    await assert.rejects(n.virsh(n.qemuUri, 'uri'), /Failed to connect|Connection refused|unable to connect/i);
    await n.startLibvirtd();
    assert.notEqual(n.libvirtdPid(), first);
    assert.equal((await n.virsh(n.qemuUri, 'hostname')).trim(), 'n1', 'same namespace as before');
    assert.equal((await n.virsh(n.testUri(file), 'list', '--all', '--name')).trim().split('\n').length, 3);
  } finally {
    await lab.stop();
  }
});
