/** Read-only reports on the guest: OS, processes, accounts, sessions, filesystems, interfaces. */
import type { GuestHost } from './host.js';
import { PSEUDO_FS, parseCmdline, parseLoadavg, parseMeminfo, parseMounts, parsePidStat, parseSystemStat, parseUptime } from './parse/proc.js';
import { parseGroup, parseOsRelease, parsePasswd, parseShadowStates, parseSudoers, type PasswordState } from './parse/accounts.js';
import { loggedIn, parseUtmp } from './parse/utmp.js';

/** Linux reports process times in USER_HZ, 100 on every architecture the kernel ABI fixes it for. */
const HZ = 100;
const PAGE_KIB = 4;

/** XML cannot carry most control characters; a process title may hold them. */
export function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '?');
}

async function readOr(host: GuestHost, path: string, dflt: string): Promise<string> {
  try {
    return await host.readText(path);
  } catch {
    return dflt;
  }
}

export interface ProcessRow {
  pid: number;
  ppid: number;
  user: string;
  uid: number;
  state: string;
  cpuPercent: number;
  rssKiB: number;
  threads: number;
  nice: number;
  startTime: Date;
  name: string;
  command: string;
}

interface Sample {
  at: number;
  ticks: Map<number, { ticks: number; start: number }>;
  total: number;
}

/** Keeps the previous sample so CPU % covers the time since the last call; the first call samples twice. */
export class ProcessSampler {
  private last: Sample | undefined;
  constructor(private readonly host: GuestHost) {}

  private async sample(): Promise<{ sample: Sample; rows: Array<Omit<ProcessRow, 'cpuPercent' | 'user'>> }> {
    const at = Date.now();
    const pids = (await this.host.listDir('/proc')).filter((d) => /^\d+$/.test(d));
    const ticks = new Map<number, { ticks: number; start: number }>();
    const btime = parseSystemStat(await this.host.readText('/proc/stat')).btime;
    // Synchronous on purpose: procfs reads do not block on I/O, and one tight loop over
    // ~1500 small files is several times faster than as many thread-pool round trips.
    const rows: Array<Omit<ProcessRow, 'cpuPercent' | 'user'>> = [];
    for (const p of pids) {
      try {
        // stat + cmdline + the folder's owner: /proc/PID/status (a much longer text) is not needed.
        const st = parsePidStat(this.host.readProcSync(`/proc/${p}/stat`));
        const uid = this.host.ownerUidSync(`/proc/${p}`);
        const argv = parseCmdline(this.host.readProcSync(`/proc/${p}/cmdline`));
        ticks.set(st.pid, { ticks: st.utime + st.stime, start: st.startTicks });
        rows.push({
          pid: st.pid,
          ppid: st.ppid,
          uid,
          state: st.state,
          rssKiB: st.rssPages * PAGE_KIB,
          threads: st.threads,
          nice: st.nice,
          startTime: new Date((btime + st.startTicks / HZ) * 1000),
          name: clean(st.comm),
          command: clean(argv.length === 0 ? `[${st.comm}]` : argv.join(' ').trimEnd()),
        });
      } catch {
        // the process ended while we read it
      }
    }
    return { sample: { at, ticks, total: 0 }, rows };
  }

  async processes(o: { intervalMs?: number } = {}): Promise<{ processes: ProcessRow[]; cpuIntervalMs: number; sampleMs: number }> {
    const maxAge = 60_000;
    if (!this.last || Date.now() - this.last.at > maxAge || o.intervalMs !== undefined) {
      this.last = (await this.sample()).sample;
      await new Promise((r) => setTimeout(r, Math.min(Math.max(o.intervalMs ?? 200, 10), 5000)));
    }
    const prev = this.last;
    const t0 = performance.now();
    const { sample, rows } = await this.sample();
    const sampleMs = Math.round((performance.now() - t0) * 10) / 10;
    this.last = sample;
    const seconds = Math.max((sample.at - prev.at) / 1000, 0.001);
    const names = await uidNames(this.host);
    return {
      cpuIntervalMs: Math.round(seconds * 1000),
      sampleMs,
      processes: rows.map((r) => {
        const now = sample.ticks.get(r.pid);
        const before = prev.ticks.get(r.pid);
        // A reused pid (different start) counts from zero.
        const base = before && now && before.start === now.start ? before.ticks : 0;
        const used = now ? now.ticks - base : 0;
        const cpuPercent = before ? Math.round((used / HZ / seconds) * 1000) / 10 : 0;
        return { ...r, user: names.get(r.uid) ?? String(r.uid), cpuPercent };
      }),
    };
  }
}

async function uidNames(host: GuestHost): Promise<Map<number, string>> {
  const m = new Map<number, string>();
  for (const e of parsePasswd(await readOr(host, '/etc/passwd', ''))) if (!m.has(e.uid)) m.set(e.uid, e.name);
  return m;
}

export const ADMIN_GROUPS = ['sudo', 'wheel', 'admin'];

export interface AccountRow {
  name: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
  groups: string[];
  /** Why this account has admin rights: 'uid 0', 'group sudo', 'sudoers'. Empty = none. */
  adminVia: string[];
  admin: boolean;
  password: PasswordState | 'unknown';
  loggedIn: boolean;
  system: boolean;
}

async function sudoersText(host: GuestHost): Promise<string> {
  let text = await readOr(host, '/etc/sudoers', '');
  for (const f of (await host.listDir('/etc/sudoers.d')).sort()) {
    if (!f.includes('.') && !f.endsWith('~')) text += '\n' + (await readOr(host, `/etc/sudoers.d/${f}`, ''));
  }
  return text;
}

export async function accounts(host: GuestHost): Promise<{ users: AccountRow[]; groups: Array<{ name: string; gid: number; members: string[] }> }> {
  const passwd = parsePasswd(await host.readText('/etc/passwd'));
  const groups = parseGroup(await readOr(host, '/etc/group', ''));
  const shadow = parseShadowStates(await readOr(host, '/etc/shadow', ''));
  const sudo = parseSudoers(await sudoersText(host));
  const on = new Set((await sessions(host)).map((s) => s.user));
  const users = passwd.map((p) => {
    const mine = groups.filter((g) => g.gid === p.gid || g.members.includes(p.name)).map((g) => g.name);
    const adminVia: string[] = [];
    if (p.uid === 0) adminVia.push('uid 0');
    for (const g of mine) if (ADMIN_GROUPS.includes(g) || sudo.groups.includes(g)) adminVia.push(`group ${g}`);
    if (sudo.users.includes(p.name)) adminVia.push('sudoers');
    return {
      name: p.name,
      uid: p.uid,
      gid: p.gid,
      gecos: clean(p.gecos),
      home: p.home,
      shell: p.shell,
      groups: mine,
      adminVia,
      admin: adminVia.length > 0,
      password: shadow.get(p.name) ?? ('unknown' as const),
      loggedIn: on.has(p.name),
      system: p.uid !== 0 && (p.uid < 1000 || p.uid === 65534),
    };
  });
  return { users, groups };
}

export async function sessions(host: GuestHost): Promise<Array<{ user: string; line: string; host: string; pid: number; loginTime: Date }>> {
  for (const path of ['/run/utmp', '/var/run/utmp']) {
    let buf: Buffer;
    try {
      buf = await host.readBuffer(path);
    } catch {
      continue;
    }
    return loggedIn(parseUtmp(buf)).map((r) => ({ user: clean(r.user), line: clean(r.line), host: clean(r.host), pid: r.pid, loginTime: new Date(r.timeMs) }));
  }
  return [];
}

export async function systemInfo(host: GuestHost, agentVersion: string): Promise<Record<string, string | number | Date | Record<string, string | number>>> {
  const os = parseOsRelease((await readOr(host, '/etc/os-release', '')) || (await readOr(host, '/usr/lib/os-release', '')));
  const up = parseUptime(await host.readText('/proc/uptime'));
  const load = parseLoadavg(await host.readText('/proc/loadavg'));
  const mem = parseMeminfo(await host.readText('/proc/meminfo'));
  const stat = parseSystemStat(await host.readText('/proc/stat'));
  const kib = (k: string): number => mem[k] ?? 0;
  return {
    hostname: host.hostname(),
    os: { id: os['ID'] ?? 'linux', name: os['NAME'] ?? 'Linux', version: os['VERSION_ID'] ?? '', prettyName: os['PRETTY_NAME'] ?? os['NAME'] ?? 'Linux' },
    kernel: (await readOr(host, '/proc/sys/kernel/osrelease', host.kernelRelease())).trim(),
    uptimeSec: up.uptimeSec,
    bootTime: new Date(stat.btime * 1000),
    load: { load1: load.load1, load5: load.load5, load15: load.load15, running: load.running, total: load.total },
    cpus: stat.cpus.length,
    memory: {
      totalKiB: kib('MemTotal'),
      freeKiB: kib('MemFree'),
      availableKiB: mem['MemAvailable'] ?? kib('MemFree') + kib('Cached') + kib('Buffers'),
      buffersKiB: kib('Buffers'),
      cachedKiB: kib('Cached'),
      swapTotalKiB: kib('SwapTotal'),
      swapFreeKiB: kib('SwapFree'),
    },
    agentVersion,
    time: new Date(),
  };
}

export async function filesystems(host: GuestHost): Promise<Array<Record<string, string | number | boolean>>> {
  const mounts = parseMounts(await host.readText('/proc/mounts')).filter((m) => !PSEUDO_FS.has(m.fsType));
  const out: Array<Record<string, string | number | boolean>> = [];
  for (const m of mounts) {
    try {
      const s = await host.statfs(m.mountPoint);
      out.push({
        device: clean(m.device),
        mountPoint: clean(m.mountPoint),
        fsType: m.fsType,
        readOnly: m.options.includes('ro'),
        totalBytes: s.blocks * s.bsize,
        freeBytes: s.bfree * s.bsize,
        availableBytes: s.bavail * s.bsize,
        usedBytes: (s.blocks - s.bfree) * s.bsize,
        files: s.files,
        filesFree: s.ffree,
      });
    } catch {
      /* a mount we may not stat (stale network fs): leave it out */
    }
  }
  return out;
}

export async function interfaces(host: GuestHost): Promise<Array<Record<string, string | number | Array<Record<string, string | number>>>>> {
  const fromOs = host.networkInterfaces();
  const names = new Set([...(await host.listDir('/sys/class/net')), ...Object.keys(fromOs)]);
  const out: Array<Record<string, string | number | Array<Record<string, string | number>>>> = [];
  for (const name of [...names].sort()) {
    const sys = async (f: string): Promise<string> => (await readOr(host, `/sys/class/net/${name}/${f}`, '')).trim();
    const num = async (f: string): Promise<number> => Number((await sys(f)) || 0);
    const addrs = (fromOs[name] ?? []).map((a) => ({ family: a.family, address: a.address, netmask: a.netmask, cidr: a.cidr ?? '' }));
    out.push({
      name,
      mac: (await sys('address')) || (fromOs[name]?.[0]?.mac ?? ''),
      mtu: await num('mtu'),
      state: (await sys('operstate')) || 'unknown',
      rxBytes: await num('statistics/rx_bytes'),
      txBytes: await num('statistics/tx_bytes'),
      addresses: addrs,
    });
  }
  return out;
}
