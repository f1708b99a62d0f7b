/** Reports on this machine (the guest agent's own view of a Linux system) and on a fixture root. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { realHost } from '../../src/guest-agent/host.js';
import { accounts, filesystems, interfaces, ProcessSampler, sessions, systemInfo } from '../../src/guest-agent/reports.js';
import { fixtureDir } from './fixtures.js';
import { tempDir } from './helpers.js';

test('processes: this test process with its pid, ppid, user, command line; CPU % of a busy process', async () => {
  const s = new ProcessSampler(realHost());
  await s.processes({ intervalMs: 10 }); // the baseline the next call measures CPU against
  const end = Date.now() + 150;
  while (Date.now() < end) Math.sqrt(Math.random()); // keep this process on the CPU between the two readings
  const r = await s.processes();
  const me = r.processes.find((p) => p.pid === process.pid);
  assert.ok(me);
  assert.equal(me.ppid, process.ppid);
  assert.equal(me.uid, process.geteuid?.());
  // /proc/PID/cmdline holds node's own flags too (the runner passes some to each test file)
  assert.equal(me.command, [process.argv[0], ...process.execArgv, ...process.argv.slice(1)].join(' '));
  assert.ok(me.rssKiB > 10_000, `rss ${me.rssKiB}`);
  assert.ok(Math.abs(me.startTime.getTime() - (Date.now() - process.uptime() * 1000)) < 2000, 'start time');
  assert.ok(r.cpuIntervalMs >= 150, `interval ${r.cpuIntervalMs}`);
  assert.ok(me.cpuPercent > 0, `cpu ${me.cpuPercent}`);
  assert.ok(r.processes.every((p) => p.cpuPercent >= 0 && p.user !== ''));
});

test('info, filesystems and interfaces of this machine', async () => {
  const host = realHost();
  const info = await systemInfo(host, 't');
  assert.equal(info['hostname'], hostname());
  assert.ok(((info['memory'] as Record<string, number>)['totalKiB'] ?? 0) > 0);
  const fss = await filesystems(host);
  const root = fss.find((f) => f['mountPoint'] === '/');
  assert.ok(root && (root['totalBytes'] as number) > 0 && (root['availableBytes'] as number) <= (root['totalBytes'] as number));
  assert.ok(!fss.some((f) => f['fsType'] === 'proc'), 'pseudo filesystems left out');
  const ifs = await interfaces(host);
  const lo = ifs.find((i) => i['name'] === 'lo');
  assert.ok(lo && Array.isArray(lo['addresses']) && lo['addresses'].some((a) => a['address'] === '127.0.0.1'));
});

test('accounts and sessions on a fixture root (passwd, group, shadow, sudoers, utmp)', async () => {
  const fix = fixtureDir();
  const root = tempDir('reports');
  try {
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(root, 'run'), { recursive: true });
    for (const f of ['passwd', 'group', 'shadow', 'sudoers']) copyFileSync(join(fix, f), join(root, 'etc', f));
    copyFileSync(join(fix, 'utmp'), join(root, 'run', 'utmp'));
    const host = realHost(root);
    const s = await sessions(host);
    assert.deepEqual(s.map((x) => x.user), ['alice', 'root', 'bob']);
    const a = await accounts(host);
    const rootUser = a.users.find((u) => u.name === 'root');
    assert.ok(rootUser && rootUser.admin && rootUser.loggedIn && rootUser.password === 'disabled');
    const daemon = a.users.find((u) => u.name === 'daemon');
    assert.ok(daemon && !daemon.admin && daemon.system && !daemon.loggedIn);
    assert.ok(a.groups.some((g) => g.name === 'sudo'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
