// `vem deploy` on real lab nodes (own libvirtd and sshd each, no systemd): install over the
// node's SSH link, the agent answering through the tunnel, an upgrade, a broken upgrade
// rolled back, --remove leaving no process and no file; and the bad input a lab can make
// (no node on the PATH, a Node.js 16, a full disk, the link cut mid-upload, no libvirt).
// Everything deploy writes goes under the node's deployPrefix, bind-mounted inside the
// node's namespace only (test/lab/node.ts), so this machine's /etc, /usr and /run are untouched.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { requireLab, startLab, type Lab, type LabNode, type LabSshd } from '../lab/index.js';
import { run, waitFor } from '../lab/procs.js';
import { childrenOf } from '../lab/sshd.js';
import { makeHome, writeKnownHosts } from '../link/e2e/helpers.js';
import { runVem } from '../vem-cli.js';
import { ensureAgentBundle } from './bundle.js';
import { deploy } from '../../src/cli/deploy.js';
import { deployPaths } from '../../src/cli/deploy-plan.js';

const skip = requireLab(undefined, ['libvirt', 'qemu', 'sshd']);

type SshNode = LabNode & { sshd: LabSshd };

/** Every path under a folder with its size (files) or '/' (folders), sorted: "the node as it was" compares these. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d).sort()) {
      const st = statSync(join(d, e), { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) {
        out.push(`${rel}${e}/`);
        walk(join(d, e), `${rel}${e}/`);
      } else out.push(`${rel}${e} ${st.size}`);
    }
  };
  walk(dir, '');
  return out;
}

/** PIDs on the node whose command line names a bundle under its deploy prefix. */
function agentPids(n: LabNode): number[] {
  return n.livePids().filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`${n.deployPrefix}/usr/local/lib/vem/`);
    } catch {
      return false;
    }
  });
}

describe('vem deploy on lab nodes (sshd + libvirtd, no systemd)', { skip: skip ?? false, timeout: 300_000 }, () => {
  let lab: Lab;
  let n1: SshNode;
  let n2: SshNode;
  let h: ReturnType<typeof makeHome>;
  let env: NodeJS.ProcessEnv;
  let cluster: string;
  let bundle: string;
  let pristine1: string[];
  const vem = (args: string[]): ReturnType<typeof runVem> => runVem(args, env);
  const common = (n: LabNode): string[] => ['--cluster', cluster, '--node-prefix', n.deployPrefix];

  before(async () => {
    bundle = await ensureAgentBundle();
    h = makeHome('deploy');
    lab = await startLab({ nodes: 2, sshd: true, name: 'deploy' });
    n1 = lab.nodes[0] as SshNode;
    n2 = lab.nodes[1] as SshNode;
    cluster = join(h.home, 'cluster.yaml');
    const entry = (n: SshNode): string[] => [`  - name: ${n.name}`, `    ssh: root@${n.sshd.host}:${n.sshd.port}`, `    identity: ${n.sshd.userKeyPath}`, '    agent: none'];
    writeFileSync(cluster, ['nodes:', ...entry(n1), ...entry(n2), ''].join('\n'));
    writeKnownHosts(join(h.ssh, 'known_hosts'), [n1.sshd.knownHostsLine, n2.sshd.knownHostsLine]);
    env = { ...process.env, HOME: h.home };
    delete env['SSH_AUTH_SOCK'];
    pristine1 = tree(n1.deployBacking);
  });

  after(async () => {
    await lab?.stop();
    h?.cleanup();
  });

  test('--dry-run checks the node and prints the steps, changing nothing', async () => {
    const r = await vem(['deploy', '--dry-run', ...common(n1), 'n1']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /n1: would install:/);
    assert.match(r.stdout, /upload the agent bundle .* verify sha256/);
    assert.match(r.stdout, /detached process with a pid file \(no systemd: it will not survive a reboot\)/);
    assert.deepEqual(tree(n1.deployBacking), pristine1);
    assert.match(readFileSync(cluster, 'utf8'), /agent: none/);
  });

  test('no node on the node\'s PATH: one line saying so and what to install; nothing changed', async () => {
    const empty = join(lab.dir, 'empty-bin');
    mkdirSync(empty, { recursive: true });
    const r = await vem(['deploy', ...common(n1), '--node-path', empty, 'n1']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`n1: no Node\\.js \\(no \`node\` in ${empty}\\).*install Node\\.js 18 or newer.*nothing was changed`));
    assert.deepEqual(tree(n1.deployBacking), pristine1);
  });

  test('a Node.js 16 is refused as too old', async () => {
    const old = join(lab.dir, 'old-bin');
    mkdirSync(old, { recursive: true });
    writeFileSync(join(old, 'node'), '#!/bin/sh\necho v16.20.2\n');
    chmodSync(join(old, 'node'), 0o755);
    const r = await vem(['deploy', ...common(n1), '--node-path', old, 'n1']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /n1: Node\.js v16\.20\.2 at .*old-bin\/node is too old \(the agent needs 18 or newer\): upgrade it/);
    assert.deepEqual(tree(n1.deployBacking), pristine1);
  });

  test('a full disk where the bundle goes: refused before anything is written', async () => {
    // A tiny tmpfs, filled, mounted in n1's namespace only over the folder the bundle would go to.
    const usr = join(n1.deployPrefix, 'usr');
    const ns = n1.enterNamespace ?? [];
    await run(ns[0] ?? 'nsenter', [...ns.slice(1), 'sh', '-c', `mkdir -p ${usr} && mount -t tmpfs -o size=256k vem-full ${usr} && (dd if=/dev/zero of=${usr}/fill bs=4k 2>/dev/null || true)`]);
    try {
      const r = await vem(['deploy', ...common(n1), 'n1']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`n1: only \\d+ KiB free in ${usr} \\(the agent needs \\d+ KiB\\): free some space there`));
    } finally {
      await run(ns[0] ?? 'nsenter', [...ns.slice(1), 'sh', '-c', `umount ${usr}; rmdir ${usr}`]);
    }
    assert.deepEqual(tree(n1.deployBacking), pristine1);
  });

  test('the link cut mid-upload: the node undoes the half upload and is left as it was', async () => {
    // A large file stands in for the bundle so the upload is surely under way when the session dies.
    const big = join(lab.dir, 'big-bundle.mjs');
    writeFileSync(big, randomBytes(24 * 1024 * 1024));
    let cut = false;
    const outcomes = await deploy({
      cluster, nodes: ['n1'], remove: false, dryRun: false, bundlePath: big, waitMs: 5000,
      paths: deployPaths({ prefix: n1.deployPrefix }),
      knownHostsPath: join(h.ssh, 'known_hosts'),
      out: { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream,
      onUpload: (_n, sent) => {
        if (cut || sent < 2 * 1024 * 1024) return;
        cut = true;
        // The per-connection sshd processes (children of the listener) die; the shell on the node sees its input end.
        for (const p of childrenOf(n1.sshd.pid).filter((c) => readFileSync(`/proc/${c}/cmdline`, 'utf8').startsWith('sshd'))) process.kill(p, 'SIGKILL');
      },
    });
    assert.ok(cut, 'the link was cut during the upload');
    const r = outcomes[0];
    assert.equal(r?.ok, false);
    assert.match(r?.line ?? '', /^n1: the SSH link to n1 dropped .*an upload in flight is deleted.*run vem deploy n1 again/);
    // The script on the node removes its .part file and the folders it made once its input ends.
    await waitFor('the half upload removed on n1', 20_000, () => JSON.stringify(tree(n1.deployBacking)) === JSON.stringify(pristine1));
    assert.match(readFileSync(cluster, 'utf8'), /name: n1\n(.*\n)*?\s+agent: none/);
  });

  test('deploy n1 and n2 in parallel, n2 without libvirt: n1 installed and answering through the tunnel, n2 one line, exit status 1', async () => {
    await n2.stopLibvirtd();
    const pristine2 = tree(n2.deployBacking);
    const r = await vem(['deploy', '--cluster', cluster, '--node-prefix', n1.deployPrefix, 'n1', 'n2']);
    // Both nodes share the flag here; n2's prefix is n1's path, which on n2 is the lab folder's, not bind-mounted: it failed before writing.
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /n1: installed: agent \d+\.\d+\.\d+\S* answers through the tunnel at unix:.*agent\.sock; detached with a pid file \(no systemd: it will NOT survive a reboot/);
    assert.match(r.stdout, /n2: no libvirt socket \(\/var\/run\/libvirt\/libvirt-sock.*\): install and start libvirtd.*nothing was changed/);
    assert.deepEqual(tree(n2.deployBacking), pristine2);
    assert.match(r.stdout, /cluster file .* now has:\nnodes:\n\s+- name: n1\n/);
    const text = readFileSync(cluster, 'utf8');
    assert.match(text, new RegExp(`agent: unix:${n1.deployPrefix}/run/vem/agent.sock`));
    assert.match(text, /token-file: .*tokens\/n1\.token/);
    // The resident agent answers through the SSH link as the dashboard reaches it, token and all.
    const info = await vem(['call', '--cluster', cluster, 'n1', 'node.info']);
    assert.equal(info.code, 0, info.stderr);
    const ni = JSON.parse(info.stdout) as { hostname: string; agent: { version: string } };
    assert.equal(ni.hostname, 'n1');
    assert.equal(agentPids(n1).length, 1, 'one agent process on n1');
    // What it runs is the bundle, checked: same bytes as the local one.
    const onNode = readFileSync(join(n1.deployBacking, 'usr/local/lib/vem/vem-agent.mjs'));
    assert.equal(createHash('sha256').update(onNode).digest('hex'), createHash('sha256').update(readFileSync(bundle)).digest('hex'));
    assert.equal(statSync(join(n1.deployBacking, 'etc/vem/token')).mode & 0o777, 0o600);
    // The host's own mount point stays empty: the files are the node's alone.
    assert.deepEqual(readdirSync(n1.deployPrefix), []);
    await n2.startLibvirtd();
  });

  test('deploy again upgrades in place: a new agent process answers', async () => {
    const [old] = agentPids(n1);
    const r = await vem(['deploy', ...common(n1), 'n1']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /n1: upgraded: agent .* answers through the tunnel/);
    const pids = agentPids(n1);
    assert.equal(pids.length, 1);
    assert.notEqual(pids[0], old, 'the agent was restarted on the new bundle');
    assert.ok(!existsSync(join(n1.deployBacking, 'usr/local/lib/vem/vem-agent.prev.mjs')), 'the previous bundle is removed once the new one answers');
    const info = await vem(['call', '--cluster', cluster, 'n1', 'vm.list']);
    assert.equal(info.code, 0, info.stderr);
  });

  test('a broken upgrade (the new bundle never answers) is rolled back to the previous bundle, which answers again', async () => {
    const broken = join(lab.dir, 'broken-agent.mjs');
    writeFileSync(broken, "process.stderr.write('vem-agent: broken on purpose\\n'); setTimeout(() => process.exit(3), 200);\n");
    const r = await vem(['deploy', ...common(n1), '--bundle', broken, '--wait', '3', 'n1']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /n1: the new bundle it did not answer through the tunnel within 3 s .*broken on purpose.*rolled back: the previous agent .* answers again/);
    const onNode = readFileSync(join(n1.deployBacking, 'usr/local/lib/vem/vem-agent.mjs'));
    assert.equal(createHash('sha256').update(onNode).digest('hex'), createHash('sha256').update(readFileSync(bundle)).digest('hex'), 'the good bundle is back in place');
    assert.equal(agentPids(n1).length, 1);
    const info = await vem(['call', '--cluster', cluster, 'n1', 'node.info']);
    assert.equal(info.code, 0, info.stderr);
  });

  test('--remove stops the agent and leaves no process and no file of it; the node is agentless again', async () => {
    const r = await vem(['deploy', '--remove', ...common(n1), 'n1']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /n1: agent stopped and removed/);
    assert.deepEqual(agentPids(n1), []);
    assert.deepEqual(tree(n1.deployBacking), pristine1);
    const text = readFileSync(cluster, 'utf8');
    assert.doesNotMatch(text, /token-file/);
    assert.ok(!existsSync(join(h.home, 'tokens', 'n1.token')));
    // Agentless again: still answering, through its SSH link alone.
    const again = await vem(['call', '--cluster', cluster, 'n1', 'node.info']);
    assert.equal(again.code, 0, again.stderr);
  });
});
