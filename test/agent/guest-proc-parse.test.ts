// The pure parsing behind a container's process list read from the host's /proc: captured
// /proc text, and what a hostile container can put there (odd comm and argv bytes, huge
// files, malformed records, user namespaces).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  controllerOf, idInside, isLxcDomain, lxcControllerPid, MAX_CMDLINE, MAX_PASSWD_ENTRIES, OVERFLOW_UID, parseBootTime, parseChildren, parseCmdline, parseIdMap, parsePasswd, parseStat,
  parseStatus, printable, processRows, sampleOf, type ProcRecord,
} from '../../src/agent/guest/proc-parse.js';

// Captured on a lab node: a `sleep 1234` in a container (host pid 13973, pid 3 inside).
const STAT = '13973 (sleep) S 13969 13969 13969 0 -1 4194560 97 0 0 0 12 3 0 0 20 0 1 0 89893 5582848 215 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0';
const STATUS = 'Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t13973\nNgid:\t0\nPid:\t13973\nPPid:\t13969\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nNSpid:\t13973\t3\nVmRSS:\t     860 kB\nThreads:\t1\n';

test('stat: the fields of a captured line', () => {
  assert.deepEqual(parseStat(STAT), { pid: 13973, comm: 'sleep', state: 'S', ppid: 13969, cpuTicks: 15, nice: 0, threads: 1, startTicks: 89893 });
});

test('stat: a comm with spaces, parentheses, a newline and an escape ends at the last )', () => {
  const s = parseStat('42 (a) b\n) (\x1b[2J) R 1 1 1 0 -1 0 0 0 0 0 7 8 0 0 20 5 2 0 100 0 0');
  assert.ok(s);
  assert.equal(s.comm, 'a) b?) (?[2J');
  assert.equal(s.state, 'R');
  assert.equal(s.cpuTicks, 15);
  assert.equal(s.nice, 5);
});

test('stat: malformed records are dropped, not thrown', () => {
  for (const bad of ['', 'garbage', '12 (x', 'x (sleep) S 1 1', '12 (sleep) S notanumber 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5', '-3 (x) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5', '12 (x) ?? 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5']) {
    assert.equal(parseStat(bad), null, JSON.stringify(bad));
  }
});

test('status: uid, NSpid (the pid inside is the last), RSS and threads', () => {
  assert.deepEqual(parseStatus(STATUS), { uid: 0, nsPids: [13973, 3], rssKiB: 860, threads: 1 });
  assert.deepEqual(parseStatus('NSpid:\t5\tx\n').nsPids, [], 'a malformed NSpid is none');
  assert.deepEqual(parseStatus(''), { nsPids: [] });
});

test('cmdline: NUL-separated argv joined; control bytes, bidi overrides and broken UTF-8 made printable; bounded', () => {
  assert.equal(parseCmdline(Buffer.from('sleep\x001234\x00')), 'sleep 1234');
  assert.equal(parseCmdline(Buffer.alloc(0)), '');
  assert.equal(parseCmdline(Buffer.from('sh\x00-c\x00x\x1b]0;pwn\x07y\x00')), 'sh -c x?]0;pwn?y');
  assert.equal(parseCmdline(Buffer.from('evil\u202Egnp.exe\x00')), 'evil?gnp.exe');
  assert.equal(parseCmdline(Buffer.from([0x61, 0xff, 0xfe, 0x62, 0x9b, 0x63])), 'a\uFFFD\uFFFDb\uFFFDc');
  assert.equal(parseCmdline(Buffer.from('a\x9bb')), 'a?b', 'a C1 control (CSI) as a character');
  const huge = parseCmdline(Buffer.alloc(1 << 20, 'A'));
  assert.equal(huge.length, MAX_CMDLINE);
  // A title rewritten without NULs, with spaces at the end (setproctitle): kept as written.
  assert.equal(parseCmdline(Buffer.from('nginx: worker   ')), 'nginx: worker   ');
});

test('printable: bounded and safe for a terminal', () => {
  assert.equal(printable('x'.repeat(100), 10), 'x'.repeat(10));
  assert.equal(printable('\u0000\u001f\u007f\u200b\u2066ok'), '?????ok');
});

test("the controller's argv names its container; anything else is not a controller", () => {
  assert.equal(controllerOf(Buffer.from('/usr/lib/libvirt/libvirt_lxc\0--name\0c1\0--console\x0027\0--security=none\0--handshakefds\x0031:30\0')), 'c1');
  assert.equal(controllerOf(Buffer.from('/usr/bin/sleep\0--name\0c1\0')), null);
  assert.equal(controllerOf(Buffer.from('/usr/lib/libvirt/libvirt_lxc\0--console\x0027\0')), null);
  assert.equal(controllerOf(Buffer.from('libvirtd\0--listen\0')), null);
});

test('children: space-separated pids; junk dropped', () => {
  assert.deepEqual(parseChildren('13969 '), [13969]);
  assert.deepEqual(parseChildren(''), []);
  assert.deepEqual(parseChildren('1 x -2 3'), [1, 3]);
});

test('domain XML: an LXC domain and its id (the controller PID); not running or not LXC is null', () => {
  assert.equal(lxcControllerPid("<domain type='lxc' id='13968'>\n  <name>c1</name>"), 13968);
  assert.equal(lxcControllerPid('<domain type="lxc" id="-1"><name>c1</name>'), null);
  assert.equal(lxcControllerPid("<domain type='lxc'><name>c1</name>"), null);
  assert.equal(lxcControllerPid("<domain type='qemu' id='3'><name>g</name>"), null);
  assert.equal(isLxcDomain("<domain type='lxc'><name>c1</name>"), true);
  assert.equal(isLxcDomain("<domain type='kvm' id='1'><name>lxc</name><os><type>lxc</type></os>"), false);
});

test('uid_map: identity, a user namespace, and uids it does not map', () => {
  const identity = parseIdMap('         0          0 4294967295\n');
  assert.equal(idInside(identity, 1000), 1000);
  const userns = parseIdMap('0 100000 65536\n');
  assert.equal(idInside(userns, 100000), 0);
  assert.equal(idInside(userns, 101000), 1000);
  assert.equal(idInside(userns, 0), undefined);
  assert.deepEqual(parseIdMap('x y z\n1 2\n0 0 0\n'), []);
});

test('passwd: the first name per uid, bounded, odd names printable, junk skipped', () => {
  const m = parsePasswd('root:x:0:0:root:/root:/bin/bash\n#c:x:5:\nbad\nalso:x:0:0::/:/bin/sh\nweb\x1b[31m:x:33:33::/:/bin/sh\nneg:x:-1:\n' + `${'n'.repeat(100)}:x:7:7::/:/bin/sh\n`);
  assert.equal(m.get(0), 'root');
  assert.equal(m.get(33), 'web?[31m');
  assert.equal(m.get(7)?.length, 32);
  assert.equal(m.has(5), false);
  assert.equal(m.size, 3);
  const big = parsePasswd(Array.from({ length: MAX_PASSWD_ENTRIES * 2 }, (_, i) => `u${i}:x:${i}:0::/:/bin/sh`).join('\n'));
  assert.equal(big.size, MAX_PASSWD_ENTRIES);
});

test('btime from /proc/stat', () => {
  assert.equal(parseBootTime('cpu  1 2 3\nbtime 1796304590\nprocesses 5\n'), 1796304590);
  assert.equal(parseBootTime('cpu 1\n'), undefined);
});

function rec(pid: number, ppid: number, nsPid: number, ticks: number, o: Partial<{ uid: number; start: number; cmd: string | null; comm: string }> = {}): ProcRecord {
  return {
    stat: { pid, comm: o.comm ?? 'sh', state: 'S', ppid, cpuTicks: ticks, nice: 0, threads: 1, startTicks: o.start ?? 100 },
    status: { uid: o.uid ?? 0, nsPids: [pid, nsPid], rssKiB: 500, threads: 1 },
    cmdline: o.cmd === undefined ? 'sh -c x' : o.cmd,
  };
}

test('rows: pids and parents as the container sees them, CPU % since the previous pass, users mapped through the user namespace', () => {
  const before = [rec(500, 400, 1, 0), rec(501, 500, 2, 100), rec(502, 500, 3, 50, { start: 7 })];
  // 502 exited and its pid was reused (another start time): its CPU counts from this pass on.
  const after = [rec(500, 400, 1, 0), rec(501, 500, 2, 200, { uid: 101000 }), rec(502, 500, 3, 90, { start: 8, cmd: null, comm: 'x' }), rec(503, 501, 4, 0, { uid: 5 })];
  const rows = processRows(after, {
    prev: sampleOf(before, 1000),
    now: sampleOf(after, 3000),
    uidMap: parseIdMap('0 100000 65536'),
    names: new Map([[0, 'root'], [1000, 'alice']]),
    bootTime: 1_000_000,
  });
  assert.deepEqual(rows.map((r) => [r.pid, r.ppid, r.hostPid]), [[1, 0, 500], [2, 1, 501], [3, 1, 502], [4, 2, 503]]);
  assert.equal(rows[1]?.cpuPercent, 50, '100 ticks in 2 s at USER_HZ 100 = half a CPU');
  assert.equal(rows[2]?.cpuPercent, 0, 'a reused pid is not compared with its predecessor');
  assert.equal(rows[1]?.user, 'alice');
  assert.equal(rows[0]?.user, 'nobody', 'host root is not mapped into this user namespace');
  assert.equal(rows[0]?.uid, OVERFLOW_UID);
  assert.equal(rows[2]?.command, '[x]', 'no command line: the comm in brackets, as ps does');
  assert.deepEqual(rows[0]?.startTime, new Date((1_000_000 + 1) * 1000));
  // Without a previous pass: 0, never a made-up figure; without a readable uid_map: uids as they are.
  const first = processRows(after, { now: sampleOf(after, 3000), uidMap: [], names: new Map([[5, 'five']]) });
  assert.ok(first.every((r) => r.cpuPercent === 0));
  assert.equal(first[3]?.user, 'five');
  assert.equal(first[0]?.startTime, undefined);
});
