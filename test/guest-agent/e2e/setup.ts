/** Shared by the guest end-to-end test and benchmark: a lab whose test guest runs the bundled guest agent. */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLab, buildGuestImage, guestDomainXml, type Lab, type LabNode } from '../../lab/index.js';
import { cacheRoot } from '../../lab/guest-image.js';
import { startNodeScript } from '../../lab/node-script.js';
import { bundleGuestAgent, repoRoot } from '../bundle.js';

export const GUEST_POLICY = { allow: ['signal', 'user.add', 'user.setPassword', 'user.lock', 'user.unlock'] };
export const AGENT_PATH = '/usr/local/lib/vem/guest-agent.mjs';
/** Starts Debian's qemu-ga in the guest when the VM has its channel. */
export const QEMU_GA_START = '[ -e /dev/virtio-ports/org.qemu.guest_agent.0 ] && qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -t /run -f /run/qemu-ga.pid -d';

/** Debian's qemu-guest-agent binary (apt-get download, unpacked once into the lab cache) and the libraries ldd lists for it. */
export function qemuGaFiles(): Array<{ guestPath: string; hostPath: string }> {
  const dest = join(cacheRoot(), 'packages', 'qemu-guest-agent');
  if (!existsSync(join(dest, '.done'))) {
    mkdirSync(join(cacheRoot(), 'packages'), { recursive: true });
    const tmp = mkdtempSync(join(cacheRoot(), 'packages', '.qga-'));
    try {
      chmodSync(tmp, 0o777); // apt-get download runs as _apt
      execFileSync('apt-get', ['download', '-q', 'qemu-guest-agent'], { cwd: tmp, stdio: 'ignore', timeout: 300_000 });
      const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
      if (!deb) throw new Error('apt-get download qemu-guest-agent left no .deb');
      execFileSync('dpkg-deb', ['-x', join(tmp, deb), join(tmp, 'root')]);
      writeFileSync(join(tmp, 'root', '.done'), '');
      try {
        renameSync(join(tmp, 'root'), dest);
      } catch (e) {
        if (!existsSync(join(dest, '.done'))) throw e;
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const bin = join(dest, 'usr', 'sbin', 'qemu-ga');
  // Every library ldd names, and the dynamic loader itself (its line has no "=>"), so qemu-ga runs in an image without Node.
  const libs = [...execFileSync('ldd', [bin], { encoding: 'utf8' }).matchAll(/(?:=>\s+|^\s+)(\/\S+)\s+\(0x/gm)].map((m) => m[1]).filter((p): p is string => p !== undefined);
  return [{ guestPath: '/usr/sbin/qemu-ga', hostPath: bin }, ...libs.map((l) => ({ guestPath: l, hostPath: l }))];
}

/**
 * The lab's guest image plus the bundled agent (a policy, a shadow file) and
 * qemu-guest-agent; at boot each starts when its channel is there, so a VM
 * with only the org.qemu.guest_agent.0 channel exercises the fallback.
 */
export async function guestAgentImage(): Promise<{ kernel: string; initrd: string }> {
  const bundle = await bundleGuestAgent(join(repoRoot(), 'dist', 'guest-agent-e2e.mjs'));
  return buildGuestImage({
    files: [
      { guestPath: AGENT_PATH, content: readFileSync(bundle, 'utf8'), mode: 0o755 },
      { guestPath: '/etc/vem/guest-policy.json', content: JSON.stringify(GUEST_POLICY) },
      { guestPath: '/etc/shadow', content: 'root:*:20000:0:99999:7:::\n', mode: 0o600 },
      ...qemuGaFiles(),
    ],
    startup: [
      `[ -e /dev/virtio-ports/org.vemanager.guest.0 ] && UV_THREADPOOL_SIZE=8 node ${AGENT_PATH} --port /dev/virtio-ports/org.vemanager.guest.0 > /var/log/vem-guest-agent.err 2>&1 &`,
      QEMU_GA_START,
    ],
  });
}

export async function bootGuest(lab: Lab, node: LabNode, name: string, image: { kernel: string; initrd: string }, memoryMiB = 512, channelName?: string): Promise<void> {
  const xml = join(lab.dir, `${name}.xml`);
  writeFileSync(xml, guestDomainXml({ name, kernel: image.kernel, initrd: image.initrd, memoryMiB, ...(channelName ? { channelName } : {}) }));
  await node.virsh(node.qemuUri, 'create', xml);
}

export interface NodeAgent {
  url: string;
  how: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the node agent inside the node's namespace, listening on the node's own loopback address. */
export async function startNodeAgent(node: LabNode): Promise<NodeAgent> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'node-agent.js');
  const run = await startNodeScript(node, script, [node.qemuUnixUri, `${node.ip}:0`], 'node agent');
  const [url = '', ...how] = run.line.split(' ');
  // The e2e runs the real agent or fails: node-agent.ts has no fallback, and says which path ran.
  if (how.join(' ') !== 'startAgent') throw new Error(`node agent on ${node.name} did not run startAgent: ${run.line}`);
  return { url, how: how.join(' '), proc: run.proc, stop: () => run.stop() };
}

export async function guestLab(nodes: number): Promise<Lab> {
  return startLab({ nodes, name: 'guest' });
}
