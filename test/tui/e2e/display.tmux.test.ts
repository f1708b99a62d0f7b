/**
 * End-to-end: the dashboard's display key against real parts. A lab node (its own
 * libvirtd and sshd in a namespace), an agent on its real libvirt, a booted TCG
 * guest with a VNC display, and `vem tui` in tmux reaching the node through SSH.
 * `:vnc VM` (the V key's command) opens the forward: the view prints a loopback
 * address that answers with QEMU's RFB banner through the SSH link, starts
 * $VEM_VNC_VIEWER on its URL, and Esc ends both the forward and that viewer.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guestDomainXml, requireLab, startLab, type Lab, type LabNode, type LabSshd } from '../../lab/index.js';
import { startAgent, type RunningAgent } from '../../../src/agent/index.js';
import { connectLibvirt } from '../../../src/libvirt/client/index.js';
import { makeHome, writeKnownHosts } from '../../link/e2e/helpers.js';
import { haveTmux, Tmux } from './tmux.js';
import { skipUnless } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');
const skip = skipUnless(haveTmux(), 'tmux') || requireLab(undefined, ['libvirt', 'qemu', 'sshd', 'guest']);

function readBanner(port: number): Promise<string> {
  return new Promise((res, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = '';
    const t = setTimeout(() => (s.destroy(), reject(new Error(`no banner, got ${JSON.stringify(got)}`))), 10_000);
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\n')) {
        clearTimeout(t);
        s.destroy();
        res(got);
      }
    });
    s.on('error', (e) => (clearTimeout(t), reject(e)));
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => (s.destroy(), res(false)));
    s.on('error', () => res(true));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the dashboard display key through an SSH link to a lab guest', { skip: skip || false, timeout: 240_000 }, () => {
  let lab: Lab;
  let agent: RunningAgent | undefined;
  let h: ReturnType<typeof makeHome>;
  let tm: Tmux | undefined;

  before(async () => {
    h = makeHome('tui-display');
    lab = await startLab({ nodes: 1, sshd: true, name: 'tui-display', guestImage: true });
    const n1 = lab.nodes[0] as LabNode & { sshd: LabSshd };
    const img = lab.guestImage;
    assert.ok(img);
    const xml = join(lab.dir, 'vncguest.xml');
    writeFileSync(xml, guestDomainXml({ name: 'vncguest', kernel: img.kernel, initrd: img.initrd, memoryMiB: 256, vnc: true }));
    await n1.virsh(n1.qemuUnixUri, 'define', xml);
    await n1.virsh(n1.qemuUnixUri, 'start', 'vncguest');
    const sock = join(lab.dir, 'agent-n1.sock');
    agent = await startAgent({ hypervisor: () => connectLibvirt(n1.qemuUnixUri), socket: sock });
    mkdirSync(join(h.home, '.config', 'vem'), { recursive: true });
    writeFileSync(join(h.home, '.config', 'vem', 'cluster.yaml'), ['nodes:', `  - name: ${n1.name}`, `    ssh: root@${n1.sshd.host}:${n1.sshd.port}`, `    identity: ${n1.sshd.userKeyPath}`, `    agent: unix:${sock}`, ''].join('\n'));
    writeKnownHosts(join(h.ssh, 'known_hosts'), [n1.sshd.knownHostsLine]);
  });

  after(async () => {
    tm?.kill();
    await agent?.close();
    await lab?.stop();
    h?.cleanup();
  });

  test(':vnc VM prints a forwarded address that answers RFB, starts $VEM_VNC_VIEWER, and Esc ends both', async () => {
    // A stand-in viewer: records the URL it was given and waits, as a viewer does.
    const viewer = join(h.home, 'viewer.sh');
    const got = join(h.home, 'viewer-url');
    writeFileSync(viewer, `#!/bin/sh\necho "$1" > ${got}\necho $$ >> ${got}\nexec sleep 300\n`, { mode: 0o755 });
    tm = new Tmux([process.execPath, VEM, 'tui'], { width: 140, height: 40, cwd: ROOT, env: { HOME: h.home, SSH_AUTH_SOCK: '', VEM_VNC_VIEWER: viewer } });
    await tm.waitFor(/n1\s+up/, 30_000, 'node n1 up through SSH');
    await tm.waitFor(/vncguest\s+n1\s+running/, 20_000, 'the guest in the table');
    tm.keys(':');
    tm.type('vnc vncguest');
    tm.keys('Enter');
    const s = await tm.waitFor(/VNC forwarded to 127\.0\.0\.1:(\d+)/, 20_000, 'the forwarded address');
    const port = Number(/VNC forwarded to 127\.0\.0\.1:(\d+)/.exec(s)?.[1]);
    assert.match(s, /on node n1, through its SSH link/);
    assert.match(s, new RegExp(`remote-viewer vnc://127\\.0\\.0\\.1:${port}`), 'a viewer command to copy');
    assert.match(s, new RegExp(`vncviewer 127\\.0\\.0\\.1::${port}`));
    assert.match(await readBanner(port), /^RFB 003\.00\d\n$/, "QEMU's VNC server answers through the forward");
    assert.match(await readBanner(port), /^RFB 003\.00\d\n$/, 'and again on a second connection');

    await tm.waitFor(/started \$VEM_VNC_VIEWER: .*viewer\.sh \(pid \d+\)/, 10_000, 'the viewer started');
    for (let i = 0; i < 50 && !existsSync(got); i++) await new Promise((r) => setTimeout(r, 100));
    const [url, pidText] = readFileSync(got, 'utf8').trim().split('\n');
    assert.equal(url, `vnc://127.0.0.1:${port}`, 'the viewer got the forward URL');
    const pid = Number(pidText);
    assert.ok(alive(pid), 'the viewer runs while the view is open');

    tm.keys('Escape');
    await tm.waitFor((x) => !/VNC forwarded to/.test(x), 5000, 'the view closed');
    for (let i = 0; i < 50 && !(await refused(port)); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(await refused(port), 'closing the view ends the forward');
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(!alive(pid), 'and the viewer vem started');

    tm.keys('q');
    assert.equal(await tm.waitExit(15_000), 0);
  });
});
