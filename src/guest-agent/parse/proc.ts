/**
 * Pure parsers for procfs text (no I/O): /proc/<pid>/{stat,status,cmdline},
 * /proc/{stat,meminfo,loadavg,uptime,mounts}. Field layouts follow proc(5).
 */

export interface PidStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  ttyNr: number;
  /** User and system CPU time of this process, clock ticks. */
  utime: number;
  stime: number;
  nice: number;
  threads: number;
  /** Start time, clock ticks after boot. */
  startTicks: number;
  vsizeBytes: number;
  rssPages: number;
}

export class ProcParseError extends Error {}

/** /proc/<pid>/stat. The command name may hold spaces and parentheses, so it ends at the LAST ')'. */
export function parsePidStat(text: string): PidStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 1 || close < open) throw new ProcParseError('pid stat: no (comm) field');
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state); field N is rest[N - 3].
  const num = (field: number): number => {
    const v = Number(rest[field - 3]);
    if (!Number.isFinite(v)) throw new ProcParseError(`pid stat: field ${field} is not a number`);
    return v;
  };
  if (!Number.isInteger(pid) || rest.length < 22) throw new ProcParseError('pid stat: too few fields');
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: rest[0] ?? '?',
    ppid: num(4),
    pgrp: num(5),
    session: num(6),
    ttyNr: num(7),
    utime: num(14),
    stime: num(15),
    nice: num(19),
    threads: num(20),
    startTicks: num(22),
    vsizeBytes: num(23),
    rssPages: num(24),
  };
}

export interface PidStatus {
  name: string;
  /** Real, effective, saved, filesystem. */
  uids: number[];
  gids: number[];
  vmRssKiB?: number;
  threads?: number;
  state?: string;
}

/** /proc/<pid>/status: "Key:\tvalue" lines. */
export function parsePidStatus(text: string): PidStatus {
  const kv = keyValues(text);
  const ids = (k: string): number[] => (kv.get(k) ?? '').split(/\s+/).filter(Boolean).map(Number);
  const kib = (k: string): number | undefined => {
    const v = kv.get(k);
    return v === undefined ? undefined : Number(v.split(/\s+/)[0]);
  };
  const threads = kv.get('Threads');
  return {
    name: kv.get('Name') ?? '',
    uids: ids('Uid'),
    gids: ids('Gid'),
    vmRssKiB: kib('VmRSS'),
    threads: threads === undefined ? undefined : Number(threads),
    state: kv.get('State')?.split(/\s+/)[0],
  };
}

/** /proc/<pid>/cmdline: NUL-separated argv, usually NUL-terminated; empty for kernel threads. */
export function parseCmdline(raw: Buffer | string): string[] {
  const s = typeof raw === 'string' ? raw : raw.toString('utf8');
  if (s === '') return [];
  const parts = s.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
  /** Sum of every column (guest time is already inside user/nice). */
  total: number;
}

export interface SystemStat {
  cpu: CpuTimes;
  cpus: CpuTimes[];
  /** Boot time, seconds since the epoch. */
  btime: number;
  processes?: number;
  procsRunning?: number;
}

function cpuTimes(cols: string[]): CpuTimes {
  const n = cols.map(Number);
  const at = (i: number): number => n[i] ?? 0;
  const total = at(0) + at(1) + at(2) + at(3) + at(4) + at(5) + at(6) + at(7);
  return { user: at(0), nice: at(1), system: at(2), idle: at(3), iowait: at(4), irq: at(5), softirq: at(6), steal: at(7), total };
}

/** /proc/stat. */
export function parseSystemStat(text: string): SystemStat {
  let cpu: CpuTimes | undefined;
  const cpus: CpuTimes[] = [];
  let btime: number | undefined;
  let processes: number | undefined;
  let procsRunning: number | undefined;
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    const key = cols[0];
    if (key === 'cpu') cpu = cpuTimes(cols.slice(1));
    else if (key !== undefined && /^cpu\d+$/.test(key)) cpus.push(cpuTimes(cols.slice(1)));
    else if (key === 'btime') btime = Number(cols[1]);
    else if (key === 'processes') processes = Number(cols[1]);
    else if (key === 'procs_running') procsRunning = Number(cols[1]);
  }
  if (!cpu || btime === undefined || !Number.isFinite(btime)) throw new ProcParseError('/proc/stat: no cpu or btime line');
  return { cpu, cpus, btime, processes, procsRunning };
}

function keyValues(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return m;
}

/** /proc/meminfo: every "Key: N kB" line, in KiB (HugePages_* counts stay plain numbers). */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of keyValues(text)) {
    const n = Number(v.split(/\s+/)[0]);
    if (Number.isFinite(n)) out[k] = n;
  }
  if (out['MemTotal'] === undefined) throw new ProcParseError('/proc/meminfo: no MemTotal');
  return out;
}

export interface LoadAvg {
  load1: number;
  load5: number;
  load15: number;
  running: number;
  total: number;
  lastPid: number;
}

/** /proc/loadavg: "0.68 0.29 0.12 1/95 8934". */
export function parseLoadavg(text: string): LoadAvg {
  const m = /^\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\/(\d+)\s+(\d+)/.exec(text);
  if (!m) throw new ProcParseError('/proc/loadavg: unexpected format');
  return { load1: Number(m[1]), load5: Number(m[2]), load15: Number(m[3]), running: Number(m[4]), total: Number(m[5]), lastPid: Number(m[6]) };
}

/** /proc/uptime: seconds up, seconds idle (summed over CPUs). */
export function parseUptime(text: string): { uptimeSec: number; idleSec: number } {
  const [a, b] = text.trim().split(/\s+/).map(Number);
  if (a === undefined || !Number.isFinite(a)) throw new ProcParseError('/proc/uptime: unexpected format');
  return { uptimeSec: a, idleSec: b !== undefined && Number.isFinite(b) ? b : 0 };
}

export interface Mount {
  device: string;
  mountPoint: string;
  fsType: string;
  options: string[];
}

/** Octal escapes (\040 for space, \011, \012, \134) as the kernel writes them in /proc/mounts. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** /proc/mounts (same format as /etc/mtab). */
export function parseMounts(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4 || cols[0]?.startsWith('#')) continue;
    out.push({
      device: unescapeMount(cols[0] ?? ''),
      mountPoint: unescapeMount(cols[1] ?? ''),
      fsType: cols[2] ?? '',
      options: (cols[3] ?? '').split(','),
    });
  }
  return out;
}

/** Pseudo filesystems an admin does not count as storage. */
export const PSEUDO_FS = new Set([
  'proc', 'sysfs', 'devtmpfs', 'devpts', 'securityfs', 'cgroup', 'cgroup2', 'pstore', 'bpf', 'debugfs', 'tracefs',
  'configfs', 'fusectl', 'mqueue', 'hugetlbfs', 'autofs', 'binfmt_misc', 'efivarfs', 'rpc_pipefs', 'nsfs', 'ramfs',
]);
