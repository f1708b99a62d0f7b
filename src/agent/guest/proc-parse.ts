/**
 * Pure parsing of what the node agent reads under the host's /proc about a
 * container's processes (no I/O). Every text comes from a process the container
 * controls (its comm, its argv, its /etc/passwd), so it is hostile: bounded in
 * length, odd bytes made printable, and a malformed record is dropped (null),
 * never thrown past the caller.
 */

/** Linux reports process times in USER_HZ, which the kernel ABI fixes at 100. */
export const USER_HZ = 100;
/** Longest command line kept (bytes read by the I/O side, characters shown). */
export const MAX_CMDLINE = 4096;
/** Longest user name kept from a container's /etc/passwd. */
export const MAX_USER_NAME = 32;
/** Entries taken from a container's /etc/passwd (a hostile file may be huge). */
export const MAX_PASSWD_ENTRIES = 10_000;

/** Control characters (C0, DEL, C1) and the bidi/zero-width ones that can disguise terminal text. */
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF\uFFFE\uFFFF]/g;

/** Text a container wrote, safe to put in XML and on a terminal: odd characters become '?', at most `max` characters. */
export function printable(s: string, max = MAX_CMDLINE): string {
  const t = s.length > max ? s.slice(0, max) : s;
  return t.replace(UNPRINTABLE, '?');
}

export interface ProcStat {
  /** PID as this (the agent's) PID namespace sees it. */
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  /** utime + stime, clock ticks. */
  cpuTicks: number;
  nice: number;
  threads: number;
  /** Start time, clock ticks after boot (with pid, tells a reused pid apart). */
  startTicks: number;
}

const int = (s: string | undefined): number | undefined => (s !== undefined && /^-?\d{1,20}$/.test(s) ? Number(s) : undefined);

/** /proc/PID/stat: the comm may hold spaces, parentheses and newlines, so it ends at the LAST ')'. */
export function parseStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 1 || close < open) return null;
  const pid = int(text.slice(0, open).trim());
  const rest = text.slice(close + 1).trim().split(/\s+/);
  // rest[0] is field 3 (state); field N is rest[N - 3].
  const f = (n: number): number | undefined => int(rest[n - 3]);
  const [ppid, utime, stime, nice, threads, start] = [f(4), f(14), f(15), f(19), f(20), f(22)];
  const state = rest[0] ?? '';
  if (pid === undefined || pid <= 0 || !/^[A-Za-z]$/.test(state) || ppid === undefined || utime === undefined || stime === undefined || start === undefined) return null;
  return { pid, comm: printable(text.slice(open + 1, close), 64), state, ppid, cpuTicks: utime + stime, nice: nice ?? 0, threads: threads ?? 1, startTicks: start };
}

export interface ProcStatus {
  /** Real uid, as the agent's user namespace sees it. */
  uid?: number;
  /** The pid in each PID namespace from the agent's own down to the process's (NSpid). */
  nsPids: number[];
  rssKiB?: number;
  threads?: number;
}

/** /proc/PID/status: "Key:\tvalue" lines; only the fields the process list needs. */
export function parseStatus(text: string): ProcStatus {
  const out: ProcStatus = { nsPids: [] };
  for (const line of text.split('\n', 200)) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const k = line.slice(0, i);
    const v = line.slice(i + 1).trim();
    if (k === 'Uid') out.uid = int(v.split(/\s+/)[0]);
    else if (k === 'NSpid') {
      const ps = v.split(/\s+/).map(int);
      out.nsPids = ps.every((p): p is number => p !== undefined && p > 0) ? ps : [];
    } else if (k === 'VmRSS') out.rssKiB = int(v.split(/\s+/)[0]);
    else if (k === 'Threads') out.threads = int(v);
  }
  return out;
}

/** /proc/PID/cmdline: NUL-separated argv (a process may rewrite it: any bytes); empty for kernel threads and zombies. */
export function parseCmdline(buf: Buffer): string {
  const b = buf.length > MAX_CMDLINE ? buf.subarray(0, MAX_CMDLINE) : buf;
  const args = b.toString('utf8').split('\0');
  while (args.length > 0 && args[args.length - 1] === '') args.pop();
  return printable(args.join(' '));
}

/** The libvirt_lxc controller's argv ("/usr/lib/libvirt/libvirt_lxc --name NAME ..."): which container it runs, or null when it is not one. */
export function controllerOf(buf: Buffer): string | null {
  const args = buf.subarray(0, MAX_CMDLINE).toString('utf8').split('\0');
  if (!(args[0] ?? '').endsWith('/libvirt_lxc') && args[0] !== 'libvirt_lxc') return null;
  const i = args.indexOf('--name');
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] ?? null : null;
}

/** /proc/PID/task/TID/children: the space-separated pids of that task's children. */
export function parseChildren(text: string): number[] {
  return text.trim().split(/\s+/).map(int).filter((p): p is number => p !== undefined && p > 0);
}

export interface IdRange {
  inside: number;
  outside: number;
  count: number;
}

/** /proc/PID/uid_map as the agent sees it: "inside outside count" lines (at most 340, the kernel's limit). */
export function parseIdMap(text: string): IdRange[] {
  const out: IdRange[] = [];
  for (const line of text.split('\n', 400)) {
    const [a, b, c] = line.trim().split(/\s+/).map(int);
    if (a !== undefined && b !== undefined && c !== undefined && c > 0) out.push({ inside: a, outside: b, count: c });
  }
  return out;
}

/** A host uid as the container sees it; undefined when the container has no name for it (nobody). */
export function idInside(map: readonly IdRange[], hostId: number): number | undefined {
  for (const r of map) if (hostId >= r.outside && hostId < r.outside + r.count) return r.inside + (hostId - r.outside);
  return undefined;
}

/** A container's /etc/passwd: uid -> name (the first name per uid), bounded; odd lines skipped. */
export function parsePasswd(text: string): Map<number, string> {
  const out = new Map<number, string>();
  let n = 0;
  for (const line of text.split('\n')) {
    if (++n > MAX_PASSWD_ENTRIES) break;
    const f = line.split(':');
    const name = f[0] ?? '';
    const uid = int(f[2]);
    if (name === '' || name.startsWith('#') || uid === undefined || uid < 0 || out.has(uid)) continue;
    out.set(uid, printable(name, MAX_USER_NAME));
  }
  return out;
}

/** /proc/stat's btime: the host's boot time, seconds since the epoch. */
export function parseBootTime(text: string): number | undefined {
  const m = /^btime\s+(\d+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The domain id of a running LXC domain: libvirt's LXC driver uses its libvirt_lxc controller's PID. */
export function lxcControllerPid(domainXml: string): number | null {
  const root = /<domain\b[^>]*>/.exec(domainXml)?.[0] ?? '';
  if (!/\stype\s*=\s*['"]lxc['"]/.test(root)) return null;
  const id = int(/\sid\s*=\s*['"](-?\d+)['"]/.exec(root)?.[1]);
  return id !== undefined && id > 1 ? id : null;
}

/** Whether a domain XML is of libvirt's LXC driver (running or not). */
export function isLxcDomain(domainXml: string): boolean {
  const root = /<domain\b[^>]*>/.exec(domainXml)?.[0] ?? '';
  return /\stype\s*=\s*['"]lxc['"]/.test(root);
}

/** What a uid outside a user namespace's map looks like inside it. */
export const OVERFLOW_UID = 65534;

/** One process of a container as read in one pass. */
export interface ProcRecord {
  stat: ProcStat;
  status: ProcStatus;
  /** null when its command line could not be read (gone, or its read hung). */
  cmdline: string | null;
}

export interface ProcessListRow {
  /** pid inside the container (its PID namespace). */
  pid: number;
  /** The parent's pid inside the container; 0 when the parent is outside it (the init's is the controller). */
  ppid: number;
  /** pid on the host (the agent's PID namespace). */
  hostPid: number;
  uid?: number;
  user: string;
  state: string;
  cpuPercent: number;
  rssKiB: number;
  threads: number;
  nice: number;
  startTime?: Date;
  name: string;
  command: string;
}

export interface Sample {
  at: number;
  /** By host pid: CPU ticks and start (a reused pid counts from zero). */
  ticks: Map<number, { ticks: number; start: number }>;
}

export interface RowContext {
  prev?: Sample;
  now: Sample;
  uidMap: readonly IdRange[];
  names: ReadonlyMap<number, string>;
  bootTime?: number;
}

/** The process list from one pass's records: pids as the container sees them, CPU % since `prev` (100 = one CPU busy). */
export function processRows(records: readonly ProcRecord[], c: RowContext): ProcessListRow[] {
  const inside = new Map<number, number>();
  for (const r of records) inside.set(r.stat.pid, r.status.nsPids[r.status.nsPids.length - 1] ?? r.stat.pid);
  const seconds = c.prev ? Math.max((c.now.at - c.prev.at) / 1000, 0.001) : 0;
  return records.map((r) => {
    const before = c.prev?.ticks.get(r.stat.pid);
    const base = before && before.start === r.stat.startTicks ? before.ticks : undefined;
    const cpuPercent = base !== undefined && seconds > 0 ? Math.max(0, Math.round(((r.stat.cpuTicks - base) / USER_HZ / seconds) * 1000) / 10) : 0;
    const hostUid = r.status.uid;
    // An empty map (unreadable) is taken as no user namespace; an unmapped uid is the kernel's overflow uid.
    const uid = hostUid === undefined ? undefined : c.uidMap.length === 0 ? hostUid : idInside(c.uidMap, hostUid) ?? OVERFLOW_UID;
    const user = uid === undefined ? '?' : c.names.get(uid) ?? (uid === OVERFLOW_UID ? 'nobody' : String(uid));
    return {
      pid: inside.get(r.stat.pid) ?? r.stat.pid,
      ppid: inside.get(r.stat.ppid) ?? 0,
      hostPid: r.stat.pid,
      ...(uid !== undefined ? { uid } : {}),
      user,
      state: r.stat.state,
      cpuPercent,
      rssKiB: r.status.rssKiB ?? 0,
      threads: r.status.threads ?? r.stat.threads,
      nice: r.stat.nice,
      ...(c.bootTime !== undefined ? { startTime: new Date((c.bootTime + r.stat.startTicks / USER_HZ) * 1000) } : {}),
      name: r.stat.comm,
      command: r.cmdline ? r.cmdline : `[${r.stat.comm}]`,
    };
  });
}

/** The CPU figures of one pass, kept for the next call's CPU %. */
export function sampleOf(records: readonly ProcRecord[], at: number): Sample {
  return { at, ticks: new Map(records.map((r) => [r.stat.pid, { ticks: r.stat.cpuTicks, start: r.stat.startTicks }])) };
}
