/**
 * A container's processes read by the node agent from the host's /proc, with no
 * agent inside the container (libvirt's LXC driver). The I/O edge: parsing is in
 * proc-parse.ts.
 *
 * Finding the container: libvirt's LXC driver gives a running domain its
 * libvirt_lxc controller's PID as its domain id (`<domain type='lxc' id='N'>`),
 * so libvirt's own answer names it with no knowledge of the node's run folder.
 * That PID is checked to be the controller of this very container (its argv says
 * `--name VM`), and the init is the controller's child that is PID 1 of a PID
 * namespace of its own. Every process whose /proc/PID/ns/pid is that namespace
 * is listed, with its pid as the container sees it (NSpid).
 *
 * Everything read comes from processes the container controls: reads are bounded,
 * a process that exits mid-read is dropped, and a read that hangs (a command line
 * read waits on the process's memory lock, which a hostile process can hold) is
 * abandoned after a timeout and not tried again for that process.
 */
import { constants, readlinkSync } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { hostProcSource } from '../../api/guest.js';
import { NoGuestAgentError } from './channel.js';
import {
  controllerOf, isLxcDomain, lxcControllerPid, parseBootTime, parseChildren, parseCmdline, parseIdMap, parsePasswd, parseStat, parseStatus, processRows, sampleOf,
  MAX_CMDLINE, type ProcessListRow, type ProcRecord, type Sample,
} from './proc-parse.js';

export interface HostProcOptions {
  /** Where the host's procfs is (tests of the refusals point it elsewhere). */
  procRoot?: string;
  /** One read of one /proc file (default 500 ms). */
  readTimeoutMs?: number;
  /** Processes listed at most (a fork bomb in a container must not make the answer unbounded; default 5000). */
  maxProcesses?: number;
}

export interface ContainerInit {
  controllerPid: number;
  initPid: number;
  /** The container's PID namespace (the link text of /proc/PID/ns/pid). */
  pidNs: string;
}

export interface ContainerProcesses {
  source: string;
  initPid: number;
  /** Processes in the container (may be more than listed when maxProcesses cut the list). */
  count: number;
  cpuIntervalMs: number;
  sampleMs: number;
  processes: ProcessListRow[];
}

/** Why a container's processes cannot be read from the host: a clear refusal, never an empty list. */
export class HostProcRefusal extends NoGuestAgentError {}

const PASSWD_MAX = 256 * 1024;

function errCode(e: unknown): string {
  return (e as { code?: unknown } | null)?.code === undefined ? '' : String((e as { code: unknown }).code);
}

function why(e: unknown): string {
  const c = errCode(e);
  if (c === 'EACCES' || c === 'EPERM') return 'permission denied (the node agent needs root, or CAP_SYS_PTRACE, to read other processes under /proc)';
  if (c === 'ENOENT' || c === 'ESRCH') return 'no such process';
  return (e as Error).message;
}

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what}: no answer in ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Reads that timed out and have not ended yet: each holds a thread of libuv's pool (4 by default). */
let hung = 0;
/** Past this many hung reads, command lines are not read at all (the pool is the whole agent's). */
const MAX_HUNG = 2;

/** Up to `max` bytes of a file, read in full (procfs files report size 0); a regular-file check for files in the container. */
async function readHead(path: string, max: number, ms: number, o: { regular?: boolean; flags?: number } = {}): Promise<Buffer> {
  const work = (async () => {
    const fh = await open(path, (o.flags ?? 0) | constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      if (o.regular && !(await fh.stat()).isFile()) throw new Error(`${path} is not a regular file`);
      const buf = Buffer.alloc(max);
      let n = 0;
      while (n < max) {
        const { bytesRead } = await fh.read(buf, n, max - n, n);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      return buf.subarray(0, n);
    } finally {
      await fh.close();
    }
  })();
  // A read that hangs keeps its thread; its file is closed whenever it ends.
  work.catch(() => undefined);
  return timeout(work, ms, path).catch((e: unknown) => {
    if (errCode(e) === 'ETIMEDOUT') {
      hung++;
      void work.finally(() => hung--).catch(() => undefined);
    }
    throw e;
  });
}

export class ContainerProcessReader {
  private readonly root: string;
  private readonly ms: number;
  private readonly max: number;
  /** The previous pass per container (by init pid), so CPU % covers the time since the last call. */
  private readonly last = new Map<number, Sample>();
  /** Processes (pid:start) whose command line read hung: not read again. */
  private readonly stuck = new Set<string>();

  constructor(o: HostProcOptions = {}) {
    this.root = o.procRoot ?? '/proc';
    this.ms = o.readTimeoutMs ?? 500;
    this.max = o.maxProcesses ?? 5000;
  }

  /** The container's init from its live domain XML; a HostProcRefusal saying why when it cannot be found. */
  async findInit(vm: string, domainXml: string): Promise<ContainerInit> {
    if (!isLxcDomain(domainXml)) throw new HostProcRefusal(`vm '${vm}' is not an LXC container: its processes can only come from an agent inside it`);
    const ctl = lxcControllerPid(domainXml);
    if (ctl === null) throw new HostProcRefusal(`container '${vm}' is not running: it has no processes to read`);
    const p = `${this.root}/${ctl}`;
    let argv: Buffer;
    try {
      argv = await readHead(`${p}/cmdline`, MAX_CMDLINE, this.ms);
    } catch (e) {
      throw new HostProcRefusal(`cannot read the processes of container '${vm}' from the host: its libvirt_lxc controller (pid ${ctl}, its domain id) is not readable in this agent's /proc: ${why(e)}`, 'run the node agent on the node itself, in the PID namespace of its libvirtd');
    }
    if (controllerOf(argv) !== vm) {
      throw new HostProcRefusal(`cannot read the processes of container '${vm}' from the host: pid ${ctl} (its domain id) is not its libvirt_lxc controller in this agent's /proc`, 'run the node agent on the node itself, in the PID namespace of its libvirtd');
    }
    let ctlNs: string;
    try {
      ctlNs = readlinkSync(`${p}/ns/pid`);
    } catch (e) {
      throw new HostProcRefusal(`cannot read the processes of container '${vm}' from the host: ${p}/ns/pid: ${why(e)}`);
    }
    const children: number[] = [];
    try {
      for (const task of await readdir(`${p}/task`)) {
        children.push(...parseChildren((await readHead(`${p}/task/${task}/children`, 64 * 1024, this.ms).catch(() => Buffer.alloc(0))).toString('latin1')));
      }
    } catch (e) {
      throw new HostProcRefusal(`cannot read the processes of container '${vm}' from the host: ${p}/task: ${why(e)}`);
    }
    for (const child of children) {
      try {
        const ns = readlinkSync(`${this.root}/${child}/ns/pid`);
        const st = parseStatus((await readHead(`${this.root}/${child}/status`, 16 * 1024, this.ms)).toString('utf8'));
        if (ns !== ctlNs && st.nsPids[st.nsPids.length - 1] === 1) return { controllerPid: ctl, initPid: child, pidNs: ns };
      } catch {
        // that child ended
      }
    }
    throw new HostProcRefusal(`cannot read the processes of container '${vm}' from the host: its libvirt_lxc controller (pid ${ctl}) has no init child in a PID namespace of its own (is it starting or stopping?)`);
  }

  /** Every process of the container now; the first call for a container samples CPU over intervalMs (default 200 ms). */
  async processes(vm: string, domainXml: string, o: { intervalMs?: number } = {}): Promise<ContainerProcesses> {
    const init = await this.findInit(vm, domainXml);
    // Containers restart with new init pids: passes older than the CPU window are dropped.
    for (const [k, v] of this.last) if (Date.now() - v.at > 60_000) this.last.delete(k);
    let prev = this.last.get(init.initPid);
    if (!prev || Date.now() - prev.at > 60_000 || o.intervalMs !== undefined) {
      prev = sampleOf((await this.pass(vm, init)).records, Date.now());
      await new Promise((r) => setTimeout(r, Math.min(Math.max(o.intervalMs ?? 200, 10), 5000)));
    } else if (Date.now() - prev.at < 200) {
      // CPU ticks are 10 ms apart: a window of a few ms would say 0% or 100% by chance.
      await new Promise((r) => setTimeout(r, 200 - (Date.now() - (prev?.at ?? 0))));
    }
    const t0 = performance.now();
    const at = Date.now();
    const { records, count } = await this.pass(vm, init);
    const sampleMs = Math.round((performance.now() - t0) * 10) / 10;
    const now = sampleOf(records, at);
    this.last.set(init.initPid, now);
    const [uidMap, names, bootTime] = await Promise.all([
      readHead(`${this.root}/${init.initPid}/uid_map`, 16 * 1024, this.ms).then((b) => parseIdMap(b.toString('latin1')), () => []),
      readContainerPasswd(this.root, init.initPid, this.ms).then(parsePasswd, () => new Map<number, string>()),
      readHead(`${this.root}/stat`, 256 * 1024, this.ms).then((b) => parseBootTime(b.toString('latin1')), () => undefined),
    ]);
    return {
      source: hostProcSource(init.initPid),
      initPid: init.initPid,
      count,
      cpuIntervalMs: Math.round(now.at - prev.at),
      sampleMs,
      processes: processRows(records, { prev, now, uidMap, names, bootTime }),
    };
  }

  /** One pass over /proc: the processes in the container's PID namespace, each read once. */
  private async pass(vm: string, init: ContainerInit): Promise<{ records: ProcRecord[]; count: number }> {
    let entries: string[];
    try {
      entries = (await readdir(this.root)).filter((d) => /^\d+$/.test(d));
    } catch (e) {
      throw new HostProcRefusal(`cannot read the processes of container '${vm}' from the host: ${this.root}: ${why(e)}`);
    }
    const members: number[] = [];
    for (const d of entries) {
      try {
        // A namespace link is read without touching the process's memory: never blocks.
        if (readlinkSync(`${this.root}/${d}/ns/pid`) === init.pidNs) members.push(Number(d));
      } catch {
        // gone, or not ours to read
      }
    }
    if (!members.includes(init.initPid)) throw new HostProcRefusal(`cannot read the processes of container '${vm}' from the host: its init (pid ${init.initPid}) ended while it was read`);
    const listed = members.sort((a, b) => a - b).slice(0, this.max);
    const records: ProcRecord[] = [];
    const work = listed.slice();
    const one = async (pid: number): Promise<void> => {
      const base = `${this.root}/${pid}`;
      try {
        const stat = parseStat((await readHead(`${base}/stat`, 4096, this.ms)).toString('utf8'));
        if (!stat || stat.pid !== pid) return;
        const status = parseStatus((await readHead(`${base}/status`, 16 * 1024, this.ms)).toString('utf8'));
        const key = `${pid}:${stat.startTicks}`;
        let cmdline: string | null = null;
        if (!this.stuck.has(key) && hung < MAX_HUNG) {
          try {
            cmdline = parseCmdline(await readHead(`${base}/cmdline`, MAX_CMDLINE, this.ms));
          } catch (e) {
            if (errCode(e) === 'ETIMEDOUT') this.stuck.add(key);
          }
        }
        records.push({ stat, status, cmdline });
      } catch {
        // the process ended while it was read (or a read hung): left out of this pass
      }
    };
    // A few reads at a time: enough to overlap, few enough to leave the thread pool to the rest of the agent.
    await Promise.all(Array.from({ length: Math.min(2, work.length) }, async () => {
      for (let pid = work.shift(); pid !== undefined; pid = work.shift()) await one(pid);
    }));
    if (this.stuck.size > 10_000) this.stuck.clear();
    records.sort((a, b) => a.stat.pid - b.stat.pid);
    // Those that ended mid-read are not counted; those past the cap are.
    return { records, count: records.length + (members.length - listed.length) };
  }
}

/**
 * A container's /etc/passwd through its root, refusing symlinks: an absolute link
 * under /proc/PID/root resolves against the agent's root, so a container could point
 * /etc or /etc/passwd at a host file. /etc is opened as a folder without following a
 * link, then passwd inside that very folder (through /proc/self/fd), again without,
 * and only a regular file is read (a FIFO would never end).
 */
export async function readContainerPasswd(procRoot: string, initPid: number, ms = 500): Promise<string> {
  const dir = await open(`${procRoot}/${initPid}/root/etc`, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    return (await readHead(`/proc/self/fd/${dir.fd}/passwd`, PASSWD_MAX, ms, { regular: true, flags: constants.O_NOFOLLOW })).toString('utf8');
  } finally {
    await dir.close();
  }
}
