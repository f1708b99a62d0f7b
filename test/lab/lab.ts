// startLab(): N private libvirt nodes (and optionally an sshd each) on the lab's own
// 127.77.<slot>.<n> addresses, all inside one fresh folder. stop() ends every process
// it started, by PID; the nodes' mounts vanish with their namespaces.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabNodeProcess, type NodeState } from './node.js';
import { createSshd, type LabSshd } from './sshd.js';
import { acquireSlot, releaseSlot, slotAddress, updateSlotPids } from './slots.js';
import { missingPrerequisites } from './prereq.js';
import { MissingPrerequisiteError } from '../../src/common/errors.js';
import { run } from './procs.js';

export interface LabOptions {
  nodes: number;
  sshd?: boolean;
  name?: string;
  /** Build (or take from the cache) the guest image before returning: lab.guestImage. */
  guestImage?: boolean;
  /** Let libvirt use cgroups for guests (CPU shares); see NodeOptions.cgroups. */
  cgroups?: boolean;
  /** Prepare every node's namespace for libvirt's LXC driver (see NodeOptions.lxc). */
  lxc?: boolean;
  /** Keep the lab running when this process exits (the lab CLI). By default a process
   *  that exits without stop() SIGKILLs its lab's processes on the way out. */
  keepAfterExit?: boolean;
}

export interface LabNode {
  name: string;
  ip: string;
  qemuUri: string;
  socketPath: string;
  qemuUnixUri: string;
  /** lxc+unix on the node's socket (LXC labs). */
  lxcUnixUri: string;
  /** lxc+tcp to the node's address. */
  lxcUri: string;
  testUri(nodeXmlPath: string): string;
  virsh(uri: string, ...args: string[]): Promise<string>;
  libvirtdPid(): number;
  stopLibvirtd(): Promise<void>;
  startLibvirtd(): Promise<void>;
  sshd?: LabSshd;
  enterNamespace?: string[];
  /** The node's own folder (config, logs, libvirt state). */
  dir: string;
  /** The node's host UUID (distinct per node: migration needs it). */
  hostUuid: string;
  /** Every live PID in the node's namespace (libvirtd, virtlogd, guests, sshd...). */
  livePids(): number[];
  libvirtdLog: string;
  /** `vem deploy --node-prefix` for this node: private to its namespace (see LabNodeProcess.deployPrefix). */
  deployPrefix: string;
  /** The host's path to what the node sees under deployPrefix. */
  deployBacking: string;
}

export interface Lab {
  dir: string;
  nodes: LabNode[];
  stop(): Promise<void>;
  /** Set when started with guestImage: true. */
  guestImage?: { kernel: string; initrd: string; hash: string };
}

interface LabFile {
  slot: number;
  nodes: NodeState[];
}

function labNode(p: LabNodeProcess, sshd: LabSshd | undefined): LabNode {
  const s = p.state;
  return {
    name: s.name,
    ip: s.ip,
    dir: s.dir,
    hostUuid: s.hostUuid,
    qemuUri: `qemu+tcp://${s.ip}/system`,
    socketPath: p.socketPath,
    qemuUnixUri: p.qemuUnixUri,
    lxcUnixUri: p.lxcUnixUri,
    lxcUri: `lxc+tcp://${s.ip}/`,
    testUri: (nodeXmlPath: string) => `test+unix://${nodeXmlPath.startsWith('/') ? '' : '/'}${nodeXmlPath}?socket=${p.socketPath}`,
    virsh: (uri: string, ...args: string[]) => run('virsh', ['-q', '-c', uri, ...args], { timeoutMs: 120_000 }),
    libvirtdPid: () => p.libvirtdPid(),
    stopLibvirtd: () => p.stopLibvirtd(),
    startLibvirtd: () => p.startLibvirtd(),
    ...(sshd ? { sshd } : {}),
    enterNamespace: p.enterNamespace,
    livePids: () => p.livePids(),
    libvirtdLog: p.libvirtdLog,
    deployPrefix: p.deployPrefix,
    deployBacking: p.deployBacking,
  };
}

const PRUNE_AFTER_MS = 24 * 3600_000;

/** Lab folders are kept after stop() for their logs; those of labs long gone are removed. */
function pruneOldLabs(parent: string): void {
  let entries: string[];
  try {
    entries = readdirSync(parent).filter((e) => e.startsWith('vem-lab-'));
  } catch {
    return;
  }
  for (const e of entries) {
    const dir = join(parent, e);
    try {
      const st = statSync(join(dir, 'lab.json'));
      if (Date.now() - st.mtimeMs < PRUNE_AFTER_MS) continue;
      const nodes = readLabDir(dir);
      if (nodes.some((n) => new LabNodeProcess(n).livePids().length > 0)) continue;
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // not a lab folder, or in use: leave it
    }
  }
}

function freshDir(name: string): string {
  const parent = process.env['VEM_LAB_DIR'] ?? '/tmp';
  mkdirSync(parent, { recursive: true });
  pruneOldLabs(parent);
  return mkdtempSync(join(parent, `vem-lab-${name.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
}

export async function startLab(opts: LabOptions): Promise<Lab> {
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 250) throw new RangeError(`a lab has 1 to 250 nodes, asked for ${opts.nodes}`);
  const what = ['libvirt', 'qemu', ...(opts.sshd === true ? ['sshd'] : []), ...(opts.guestImage === true ? ['guest'] : []), ...(opts.lxc === true ? ['lxc'] : [])];
  const missing = missingPrerequisites(what);
  if (missing.length > 0) throw new MissingPrerequisiteError(`${missing.join(', ')} (install with .ci/install-deps.sh)`, 'install with .ci/install-deps.sh');
  const dir = freshDir(opts.name ?? 'lab');
  const slot = await acquireSlot(dir, stopLeftovers);
  const procs: LabNodeProcess[] = [];
  const sshds: LabSshd[] = [];
  const save = (): void => {
    const file: LabFile = { slot, nodes: procs.map((p) => p.state) };
    writeFileSync(join(dir, 'lab.json'), JSON.stringify(file, null, 2));
    updateSlotPids(slot, procs.map((p) => p.state.holderPid));
  };
  let stopped = false;
  // Safety net for a test that crashes or forgets stop(): 'exit' handlers must be synchronous.
  const onExit = (): void => {
    for (const p of procs) p.killNow();
    releaseSlot(slot, dir);
  };
  // Ctrl-C or the test runner's SIGTERM: clean up, then die of the same signal as before.
  const onSignal = (sig: NodeJS.Signals): void => {
    detach();
    onExit();
    process.kill(process.pid, sig);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const detach = (): void => {
    process.removeListener('exit', onExit);
    for (const sig of signals) process.removeListener(sig, onSignal);
  };
  if (opts.keepAfterExit !== true) {
    process.on('exit', onExit);
    for (const sig of signals) process.once(sig, onSignal);
  }
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      await Promise.all(sshds.map((s) => s.stop().catch(() => undefined)));
      // Every node is stopped even when one of them fails to: a rejection must not leave the rest running.
      const results = await Promise.allSettled(procs.map((p) => p.stop()));
      releaseSlot(slot, dir);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      // Only now: a process that dies in the middle of stop() still ends what is left.
      detach();
    }
  };
  try {
    for (let i = 0; i < opts.nodes; i++) {
      const name = `n${i + 1}`;
      procs.push(await LabNodeProcess.create(name, slotAddress(slot, i), join(dir, 'nodes', name), { cgroups: opts.cgroups === true, lxc: opts.lxc === true }));
      save();
    }
    // Daemons start in parallel: the QEMU driver's start-up probe dominates.
    await Promise.all(procs.map((p) => p.startDaemons()));
    if (opts.sshd === true) {
      for (const p of procs) sshds.push(await createSshd({ name: p.state.name, ip: p.state.ip, dir: join(p.state.dir, 'ssh'), enterNamespace: p.enterNamespace, owns: (pid) => p.owns(pid) }));
    }
    const lab: Lab = { dir, nodes: procs.map((p, i) => labNode(p, sshds[i])), stop };
    if (opts.guestImage === true) {
      const { buildGuestImage } = await import('./guest-image.js');
      lab.guestImage = await buildGuestImage();
    }
    return lab;
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}

/** Stops a lab from its folder (the lab CLI's `down`): every process of every node, then the slot. */
export async function stopLabDir(dir: string): Promise<void> {
  let file: LabFile;
  try {
    file = JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as LabFile;
  } catch (e) {
    throw new Error(`${dir} is not a lab folder (no readable lab.json): ${(e as Error).message}`, { cause: e });
  }
  await Promise.all(file.nodes.map((s) => new LabNodeProcess(s).stop()));
  releaseSlot(file.slot, dir);
}

/** Ends what a crashed lab left running (its nodes' namespaces), keeping its folder. */
async function stopLeftovers(dir: string): Promise<void> {
  const nodes = readLabDir(dir);
  await Promise.all(nodes.map((s) => new LabNodeProcess(s).stop()));
}

/** Reads a running lab's nodes from its folder (for the lab CLI). */
export function readLabDir(dir: string): NodeState[] {
  return (JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as LabFile).nodes;
}
