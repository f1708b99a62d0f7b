// End-to-end for `vem vnc` and `vem call`: the real CLI as a child process with a private HOME,
// lab nodes with real libvirtd and sshd, agents on real libvirt, and a lab guest with a VNC display
// on its node's loopback address.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { guestDomainXml, requireLab, startLab, type Lab, type LabNode, type LabSshd } from '../../lab/index.js';
import { startAgent, type RunningAgent } from '../../../src/agent/index.js';
import { connectLibvirt } from '../../../src/libvirt/client/index.js';
import { makeHome, writeKnownHosts } from './helpers.js';

const skip = requireLab(undefined, ['libvirt', 'qemu', 'sshd', 'guest']);
const CLI = join(process.cwd(), 'dist', 'src', 'cli.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function vem(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function readBanner(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = '';
    const t = setTimeout(() => (s.destroy(), reject(new Error(`no banner, got ${JSON.stringify(got)}`))), 10_000);
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\n')) {
        clearTimeout(t);
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', (e) => (clearTimeout(t), reject(e)));
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => (s.destroy(), resolve(false)));
    s.on('error', () => resolve(true));
  });
}

describe('vem vnc and vem call through SSH links', { skip: skip ?? false }, () => {
  let lab: Lab;
  const agents: RunningAgent[] = [];
  let h: ReturnType<typeof makeHome>;
  let env: NodeJS.ProcessEnv;
  let n2: LabNode & { sshd: LabSshd };

  before(async () => {
    h = makeHome('cli');
    lab = await startLab({ nodes: 2, sshd: true, name: 'transport-cli', guestImage: true });
    const nodes = lab.nodes as Array<LabNode & { sshd: LabSshd }>;
    n2 = nodes[1] as typeof n2;
    const img = lab.guestImage;
    assert.ok(img);
    // The guest lives on n2 only: vem vnc has to find it there.
    await n2.virsh(n2.qemuUnixUri, 'define', writeXml(lab.dir, guestDomainXml({ name: 'vncguest', kernel: img.kernel, initrd: img.initrd, memoryMiB: 256, vnc: true })));
    await n2.virsh(n2.qemuUnixUri, 'start', 'vncguest');
    const lines: string[] = [];
    for (const n of nodes) {
      const sock = join(lab.dir, `agent-${n.name}.sock`);
      agents.push(await startAgent({ hypervisor: () => connectLibvirt(n.qemuUnixUri), socket: sock }));
      lines.push(`  - name: ${n.name}`, `    ssh: root@${n.sshd.host}:${n.sshd.port}`, `    identity: ${n.sshd.userKeyPath}`, `    agent: unix:${sock}`);
    }
    // The default place: ~/.config/vem/cluster.yaml under the private HOME.
    mkdirSync(join(h.home, '.config', 'vem'), { recursive: true });
    writeFileSync(join(h.home, '.config', 'vem', 'cluster.yaml'), ['nodes:', ...lines, ''].join('\n'));
    writeKnownHosts(join(h.ssh, 'known_hosts'), nodes.map((n) => n.sshd.knownHostsLine));
    env = { ...process.env, HOME: h.home };
    delete env['SSH_AUTH_SOCK'];
  });

  after(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await lab?.stop();
    h?.cleanup();
  });

  test('vem vnc VM: the forwarded loopback port answers with the RFB banner, and closes on Ctrl-C', async () => {
    const child = spawn(process.execPath, [CLI, 'vnc', 'vncguest'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no address printed; stdout ${out} stderr ${err}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /forwarded to 127\.0\.0\.1:(\d+)/.exec(out);
        if (m?.[1]) {
          clearTimeout(t);
          resolve(Number(m[1]));
        }
      });
      child.on('exit', () => reject(new Error(`vem vnc exited: ${err}`)));
    });
    assert.match(out, /VNC display of vncguest \(node n2, /);
    assert.match(await readBanner(port), /^RFB 003\.00\d\n$/);
    // A second viewer connection works too.
    assert.match(await readBanner(port), /^RFB 003\.00\d\n$/);
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGINT');
    });
    assert.equal(code, 0, err);
    assert.ok(await refused(port), 'the forward is closed once vem vnc ends');
  });

  test('vem vnc names the problem for an unknown VM', async () => {
    const r = await vem(['vnc', 'no-such-vm'], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no node has a VM named 'no-such-vm'/);
  });

  test('vem call NODE METHOD ARG prints the result as JSON', async () => {
    const r = await vem(['call', 'n2', 'vm.list'], env);
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as Array<{ name: string } | string>;
    assert.ok(list.some((v) => (typeof v === 'string' ? v : v.name) === 'vncguest'));
    const x = await vem(['call', 'n2', 'vm.xml', 'vncguest'], env);
    assert.equal(x.code, 0, x.stderr);
    assert.match(JSON.parse(x.stdout) as string, /<graphics type='vnc' port='\d+'/);
    const f = await vem(['call', 'n1', 'vm.xml', 'vncguest'], env);
    assert.equal(f.code, 1);
    assert.match(f.stderr, /vm\.xml: fault/);
    // An unknown host key: refused with its fingerprint and the line to add.
    const kh = join(h.ssh, 'known_hosts');
    const saved = readFileSync(kh, 'utf8');
    writeFileSync(kh, '');
    try {
      const k = await vem(['call', 'n2', 'vm.list'], env);
      assert.equal(k.code, 1);
      assert.match(k.stderr, /host key of .* is not in .*known_hosts: ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}/);
      assert.ok(k.stderr.includes(n2.sshd.knownHostsLine), 'the hint holds the known_hosts line to add');
      assert.equal(readFileSync(kh, 'utf8'), '', 'vem call trusts nothing by itself');
    } finally {
      writeFileSync(kh, saved);
    }
    const u = await vem(['call', 'n9', 'vm.list'], env);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /no node 'n9' in .*cluster\.yaml/);
  });
});

function writeXml(dir: string, xml: string): string {
  const p = join(dir, `guest-${Date.now()}.xml`);
  writeFileSync(p, xml);
  return p;
}
