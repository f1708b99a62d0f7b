/** Parser unit tests on recorded fixtures, and cross-checks against ps/getent on this machine. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  parseCmdline, parseLoadavg, parseMeminfo, parseMounts, parsePidStat, parsePidStatus, parseSystemStat, parseUptime, ProcParseError,
} from '../../src/guest-agent/parse/proc.js';
import { parseGroup, parseOsRelease, parsePasswd, parseShadowStates, parseSudoers } from '../../src/guest-agent/parse/accounts.js';
import { loggedIn, parseUtmp, UTMP_RECORD_SIZE } from '../../src/guest-agent/parse/utmp.js';
import { fixtureDir } from './fixtures.js';

const FIX = fixtureDir();
const read = (p: string): string => readFileSync(join(FIX, p), 'utf8');

/** "Wed Nov 25 14:53:19 2026" as ps's lstart prints it, in UTC. */
function lstart(ms: number): string {
  const d = new Date(ms);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${day} ${mon} ${String(d.getUTCDate()).padStart(2, ' ')} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

test('pid stat: a command name with spaces and parentheses', () => {
  const s = parsePidStat(read('proc/9037/stat'));
  assert.equal(s.pid, 9037);
  assert.equal(s.comm, 'we ird) (name');
  assert.equal(s.state, 'S');
  assert.equal(s.ppid, 9036);
  assert.equal(s.startTicks, 47950);
  assert.equal(s.rssPages, 415);
});

test('pid stat, status and cmdline agree with ps output recorded at the same moment', () => {
  const btime = parseSystemStat(read('proc/stat')).btime;
  const psLines = read('ps-expected.txt').split('\n').filter((l) => /^\s*\d/.test(l));
  assert.equal(psLines.length, 3);
  for (const line of psLines) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\d+)\s+(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}) (.*)$/.exec(line);
    assert.ok(m, line);
    const pid = m[1] ?? '';
    const st = parsePidStat(read(`proc/${pid}/stat`));
    const status = parsePidStatus(read(`proc/${pid}/status`));
    const argv = parseCmdline(readFileSync(join(FIX, `proc/${pid}/cmdline`)));
    assert.equal(st.ppid, Number(m[2]));
    assert.equal(status.uids[1], 0, 'effective uid of root');
    // pid 1 kept running between the two reads; the others are exact.
    assert.ok(Math.abs((status.vmRssKiB ?? 0) - Number(m[5])) <= 64, `rss of ${pid}`);
    assert.equal(lstart((btime + Math.floor(st.startTicks / 100)) * 1000), m[6]);
    assert.equal(argv.length === 0 ? `[${st.comm}]` : argv.join(' '), m[7]);
  }
});

test('/proc/stat, meminfo, loadavg, uptime, mounts', () => {
  const s = parseSystemStat(read('proc/stat'));
  assert.equal(s.btime, 1795618399);
  assert.equal(s.cpus.length, 2);
  assert.ok(s.cpu.total >= s.cpu.idle && s.cpu.idle > 0);
  const mem = parseMeminfo(read('proc/meminfo'));
  assert.ok((mem['MemTotal'] ?? 0) > (mem['MemAvailable'] ?? Infinity) - 1);
  assert.deepEqual(parseLoadavg('0.68 0.29 0.12 1/95 8934\n'), { load1: 0.68, load5: 0.29, load15: 0.12, running: 1, total: 95, lastPid: 8934 });
  assert.ok(parseUptime(read('proc/uptime')).uptimeSec > 0);
  const mounts = parseMounts(read('proc/mounts'));
  assert.deepEqual(mounts[0], { device: 'proc', mountPoint: '/proc', fsType: 'proc', options: ['rw', 'relatime'] });
  assert.equal(parseMounts('/dev/sdb1 /mnt/my\\040disk ext4 rw 0 0')[0]?.mountPoint, '/mnt/my disk');
});

test('bad procfs text gives a clear parse error', () => {
  assert.throws(() => parsePidStat('garbage'), ProcParseError);
  assert.throws(() => parsePidStat('12 (x) S 1 2'), /too few fields/);
  assert.throws(() => parseLoadavg('nope'), ProcParseError);
  assert.throws(() => parseMeminfo(''), /MemTotal/);
  assert.throws(() => parseSystemStat('intr 1 2 3'), /btime/);
  assert.deepEqual(parseCmdline(Buffer.alloc(0)), []);
  assert.deepEqual(parseCmdline('a\0b c\0'), ['a', 'b c']);
  // A script passed with -c keeps its newlines: the agent reports argv as the kernel holds it.
  assert.deepEqual(parseCmdline('bash\0-c\0echo a\necho b\0'), ['bash', '-c', 'echo a\necho b']);
});

test('passwd, group, shadow states, sudoers, os-release', () => {
  const pw = parsePasswd(read('passwd'));
  assert.deepEqual(pw[0], { name: 'root', uid: 0, gid: 0, gecos: 'root', home: '/root', shell: '/bin/bash' });
  assert.equal(pw.length, read('passwd').trim().split('\n').length);
  assert.equal(parsePasswd('bad line\nx:x:notanumber:0::/:/bin/sh\nok:x:5:5::/:/bin/sh\n').length, 1);
  const groups = parseGroup(read('group'));
  assert.deepEqual(groups.find((g) => g.name === 'ssl-cert'), { name: 'ssl-cert', gid: 103, members: ['postgres'] });
  const sh = parseShadowStates(read('shadow'));
  assert.deepEqual(Object.fromEntries(sh), { root: 'disabled', daemon: 'disabled', alice: 'set', bob: 'locked', carol: 'locked', dave: 'none', erin: 'locked' });
  assert.deepEqual(parseSudoers(read('sudoers')), { users: ['root', 'alice'], groups: ['sudo'] });
  const os = parseOsRelease(read('os-release'));
  assert.equal(os['ID'], 'debian');
  assert.equal(os['PRETTY_NAME'], 'Debian GNU/Linux 12 (bookworm)');
  assert.equal(parseOsRelease('NAME="A \\"quoted\\" name"\n')['NAME'], 'A "quoted" name');
});

test('utmp: glibc records written by utmpdump -r', () => {
  const buf = readFileSync(join(FIX, 'utmp'));
  assert.equal(buf.length % UTMP_RECORD_SIZE, 0);
  const recs = parseUtmp(buf);
  assert.equal(recs.length, 7);
  assert.equal(recs[0]?.type, 'boot-time');
  const users = loggedIn(recs);
  assert.deepEqual(users.map((u) => [u.user, u.line, u.host, u.pid]), [
    ['alice', 'pts/0', '192.168.1.20', 1234],
    ['root', 'ttyS0', '', 1300],
    ['bob', 'pts/2', '2001:db8::5', 1500],
  ]);
  assert.equal(users[0]?.addr, '192.168.1.20');
  assert.equal(users[2]?.addr, '2001:db8::5');
  assert.equal(users[0]?.timeMs, Date.parse('2026-11-25T14:55:02.123Z'));
  // A partial trailing record (a file caught mid-write) is ignored, not misread.
  assert.equal(parseUtmp(Buffer.concat([buf, Buffer.alloc(100, 1)])).length, 7);
});

interface Snap {
  ppid: number;
  euid: number;
  startTicks: number;
  rssKiB: number;
  args: string;
  state: string;
}

function snapshot(): Map<string, Snap> {
  const m = new Map<string, Snap>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const st = parsePidStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      const s = parsePidStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
      const argv = parseCmdline(readFileSync(`/proc/${pid}/cmdline`));
      m.set(pid, { ppid: st.ppid, euid: s.uids[1] ?? -1, startTicks: st.startTicks, rssKiB: s.vmRssKiB ?? 0, args: argv.length === 0 ? `[${st.comm}]` : argv.join(' '), state: st.state });
    } catch {
      /* ended meanwhile */
    }
  }
  return m;
}

test('cross-check on this machine: /proc parsers vs ps -eo pid,ppid,user,stat,rss,lstart,args', () => {
  const btime = parseSystemStat(readFileSync('/proc/stat', 'utf8')).btime;
  // Read /proc before and after ps; compare only processes that did not change in between
  // (other programs on this machine fork, exec and grow meanwhile).
  const before = snapshot();
  const out = execFileSync('ps', ['-ww', '-eo', 'pid,ppid,euid,rss,lstart,args'], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' } });
  const after = snapshot();
  let compared = 0;
  for (const line of out.split('\n').slice(1)) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}) (.*)$/.exec(line);
    if (!m) continue;
    const pid = m[1] ?? '';
    const a = before.get(pid);
    const b = after.get(pid);
    if (!a || !b || a.args !== b.args || a.startTicks !== b.startTicks || a.rssKiB !== b.rssKiB || a.state !== b.state) continue;
    // ps rewrites control and non-ASCII characters by its own locale-dependent rules (a newline
    // shows as a space, a tab as '?' or '.'), and its one-line-per-process output cannot carry
    // them anyway; such command lines are left to the fixture tests of parseCmdline.
    if (!/^[\x20-\x7e]*$/.test(a.args)) continue;
    assert.equal(a.ppid, Number(m[2]), `ppid of ${pid}`);
    assert.equal(a.euid, Number(m[3]), `euid of ${pid}`);
    assert.equal(a.rssKiB, Number(m[4]), `rss of ${pid}`);
    assert.equal(lstart((btime + Math.floor(a.startTicks / 100)) * 1000), m[5], `start of ${pid}`);
    // ps shows zombies with " <defunct>" and drops the padding of retitled processes (npm, postgres).
    const psArgs = (a.state === 'Z' ? (m[6] ?? '').replace(/ <defunct>$/, '') : (m[6] ?? '')).trimEnd();
    assert.equal(a.args.trimEnd(), psArgs, `args of ${pid}`);
    compared++;
  }
  assert.ok(compared >= 10, `compared ${compared} processes`);
});

test('cross-check on this machine: passwd parser vs getent passwd', () => {
  const fromFile = parsePasswd(readFileSync('/etc/passwd', 'utf8'));
  const fromNss = execFileSync('getent', ['passwd'], { encoding: 'utf8' }).trim().split('\n').map((l) => l.split(':'));
  assert.equal(fromFile.length, fromNss.length);
  fromNss.forEach((f, i) => {
    const e = fromFile[i];
    assert.ok(e);
    assert.deepEqual([e.name, e.uid, e.gid, e.home, e.shell], [f[0], Number(f[2]), Number(f[3]), f[5], f[6]]);
  });
});
