// End-to-end: an agentless node (`agent: none`) is a lab node with its own libvirtd and
// sshd and nothing of vem on it. `vem call` and `vem tui` reach its guests through the
// node's SSH link alone: the agent's code runs in the vem process, libvirt's socket is
// opened through an SSH stream-local channel. A node whose libvirt is down says so.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { requireLab, startLab, type Lab, type LabNode, type LabSshd } from '../lab/index.js';
import { makeHome, writeKnownHosts } from '../link/e2e/helpers.js';
import { runVem, VEM_CLI } from '../vem-cli.js';
import { haveTmux, tableRows, Tmux } from '../tui/e2e/tmux.js';
import { skipUnless } from '../ci.js';

const skip = requireLab(undefined, ['libvirt', 'qemu', 'sshd']) ?? skipUnless(haveTmux(), 'tmux');

/** A guest with no disk: SeaBIOS runs under TCG and finds nothing to boot, which is enough to be a running VM using CPU. */
function biosGuestXml(name: string): string {
  return `<domain type='qemu'><name>${name}</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os><devices><serial type='pty'><target port='0'/></serial><console type='pty'/></devices></domain>`;
}

describe('an agentless node: nothing installed on it, reached through SSH alone', { skip: skip ?? false, timeout: 180_000 }, () => {
  let lab: Lab;
  let n1: LabNode & { sshd: LabSshd };
  let h: ReturnType<typeof makeHome>;
  let env: NodeJS.ProcessEnv;
  let cluster: string;

  before(async () => {
    h = makeHome('agentless');
    lab = await startLab({ nodes: 1, sshd: true, name: 'deploy-agentless' });
    n1 = lab.nodes[0] as typeof n1;
    const xml = join(lab.dir, 'bios1.xml');
    writeFileSync(xml, biosGuestXml('bios1'));
    await n1.virsh(n1.qemuUnixUri, 'define', xml);
    await n1.virsh(n1.qemuUnixUri, 'start', 'bios1');
    cluster = join(h.home, 'cluster.yaml');
    writeFileSync(cluster, ['nodes:', '  - name: n1', `    ssh: root@${n1.sshd.host}:${n1.sshd.port}`, `    identity: ${n1.sshd.userKeyPath}`, '    agent: none', ''].join('\n'));
    writeKnownHosts(join(h.ssh, 'known_hosts'), [n1.sshd.knownHostsLine]);
    mkdirSync(join(h.home, 'state'), { recursive: true });
    env = { ...process.env, HOME: h.home, XDG_STATE_HOME: join(h.home, 'state') };
    delete env['SSH_AUTH_SOCK'];
  });

  after(async () => {
    await lab?.stop();
    h?.cleanup();
  });

  test('vem call answers from the node through the same API as a resident agent, and nothing of vem runs there', async () => {
    const before = n1.livePids();
    const r = await runVem(['call', '--cluster', cluster, 'n1', 'vm.list'], env);
    assert.equal(r.code, 0, r.stderr);
    const vms = JSON.parse(r.stdout) as Array<{ name: string; state: string }>;
    assert.deepEqual(vms.map((v) => [v.name, v.state]), [['bios1', 'running']]);
    const info = await runVem(['call', '--cluster', cluster, 'n1', 'node.info'], env);
    assert.equal(info.code, 0, info.stderr);
    const ni = JSON.parse(info.stdout) as { hostname?: string; libvirt?: { up?: boolean } };
    assert.match(JSON.stringify(ni), /"n1"/, 'the node reports its own hostname (n1), not the front end\'s');
    // No process of vem (node) was started on the node: only the sshd sessions came and went.
    const node = process.execPath;
    const after = n1.livePids().filter((p) => !before.includes(p));
    for (const p of after) {
      let exe: string;
      try {
        exe = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      assert.ok(!exe.includes(node) && !exe.includes('vem'), `a new process on the node: ${exe}`);
    }
  });

  test('vem tui shows the node up, marked agentless, with its guest running and its CPU', async (t) => {
    const tm = new Tmux([process.execPath, VEM_CLI, 'tui', '--cluster', cluster], { width: 160, height: 30, env: { HOME: h.home, XDG_STATE_HOME: join(h.home, 'state') } });
    t.after(() => tm.kill());
    const screen = await tm.waitFor((x) => /n1\s+up/.test(x) && tableRows(x).some((r) => r.name === 'bios1' && r.state === 'running'), 40_000, 'n1 up with bios1 running');
    assert.match(screen, /agentless: history since \d\d:\d\d/);
    const row = tableRows(screen).find((r) => r.name === 'bios1');
    assert.ok(row && /\d+(\.\d+)?%/.test(row.line), `a CPU figure on the guest's row: ${row?.line}`);
    tm.keys('q');
    assert.equal(await tm.waitExit(15_000), 0);
    // Its changes are audited on the front end, as a resident agent's are on the node.
    assert.ok(existsSync(join(h.home, 'state', 'vem', 'agentless', 'n1')), 'the agentless audit folder');
  });

  test('vem node add: an unknown host key is refused until trusted by its fingerprint; list and remove edit the file', async () => {
    const h2 = makeHome('node-add');
    try {
      const file = join(h2.home, 'c.yaml');
      const env2 = { ...env, HOME: h2.home };
      const fp = /(SHA256:\S+)/.exec(execFileSync('ssh-keygen', ['-lf', '-'], { input: n1.sshd.hostKeyPub, encoding: 'utf8' }))?.[1] ?? '';
      const base = ['node', 'add', 'n1', '--cluster', file, '--ssh', `root@${n1.sshd.host}:${n1.sshd.port}`, '--identity', n1.sshd.userKeyPath, '--agent', 'none'];
      const refused = await runVem(base, env2);
      assert.notEqual(refused.code, 0);
      assert.ok(refused.stdout.includes(fp), `the fingerprint is shown: ${refused.stdout}`);
      assert.match(refused.stderr, /host key not trusted; nothing written/);
      assert.equal(existsSync(file), false, 'no cluster file written');
      const wrong = await runVem([...base, '--trust', 'SHA256:AAAA'], env2);
      assert.match(wrong.stderr, /not SHA256:AAAA; nothing written/);
      assert.equal(existsSync(file), false);
      const ok = await runVem([...base, '--trust', fp], env2);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /node n1 added .*agentless.*SSH and libvirt answer/);
      assert.ok(readFileSync(join(h2.ssh, 'known_hosts'), 'utf8').includes(n1.sshd.hostKeyPub.split(/\s+/)[1] ?? '?'), 'the key is in known_hosts');
      const call = await runVem(['call', '--cluster', file, 'n1', 'vm.list'], env2);
      assert.equal(call.code, 0, call.stderr);
      const l = await runVem(['node', 'list', '--cluster', file], env2);
      assert.match(l.stdout, /^n1\tssh root@\S+\tagentless/m);
      const again = await runVem([...base, '--trust', fp], env2);
      assert.match(again.stderr, /already there/);
      const rm = await runVem(['node', 'remove', 'n1', '--cluster', file], env2);
      assert.equal(rm.code, 0, rm.stderr);
      assert.doesNotMatch(readFileSync(file, 'utf8'), /n1/);
    } finally {
      h2.cleanup();
    }
  });

  test('with libvirtd stopped, vem call says in one line that no libvirt socket opens on the node', async () => {
    await n1.stopLibvirtd();
    try {
      const r = await runVem(['call', '--cluster', cluster, 'n1', 'vm.list'], env);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /no libvirt socket opens on the node: \/var\/run\/libvirt\/libvirt-sock .*virtqemud-sock/);
    } finally {
      await n1.startLibvirtd();
    }
  });
});
