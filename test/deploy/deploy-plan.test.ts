// vem deploy's pure part: paths, the probe's parsing, what stops a deploy (one line per
// node), the steps of an install, upgrade and removal, and the scripts themselves, run
// here by this machine's sh in a temporary folder standing in for a node's prefix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { candidateDirs, deployFiles, deployPaths, deployProblems, modeOf, nodeMajor, parseProbe, planSteps, problemLine, removableDir, topmost, type NodeFacts } from '../../src/cli/deploy-plan.js';
import { removeScript, shq, stopScript, unitText, uploadScript } from '../../src/cli/deploy-script.js';

const ROOT_PROBE = ['uid=0', 'user=root', 'node=/usr/bin/node', 'nodever=v18.19.0', 'systemd=yes', 'socket=/var/run/libvirt/libvirt-sock', 'freedir=/usr/local/lib', 'freekib=500000', 'exists=/usr', 'exists=/usr/local', 'exists=/usr/local/lib', 'exists=/etc', 'exists=/run', 'exists=/var', 'exists=/var/log', 'exists=/var/lib', 'exists=/etc/systemd', 'exists=/etc/systemd/system', 'end=1'].join('\n');
const paths = deployPaths();
const sockets = ['/var/run/libvirt/libvirt-sock', '/var/run/libvirt/virtqemud-sock'];
const check = (f: NodeFacts): ReturnType<typeof deployProblems> => deployProblems(f, { needKiB: 2400, sockets, paths });

function sh(script: string, input?: Buffer | string): { code: number | null; out: string } {
  const r = spawnSync('sh', ['-c', script], { input, encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

test('every path moves under --node-prefix; the folders to make are listed with their parents, shallow first', () => {
  const p = deployPaths({ prefix: '/lab/n1' });
  assert.equal(deployFiles(p).bundle, '/lab/n1/usr/local/lib/vem/vem-agent.mjs');
  assert.equal(p.systemdProbe, '/lab/n1/run/systemd/system');
  const dirs = candidateDirs(p, false);
  assert.ok(dirs.indexOf('/lab') < dirs.indexOf('/lab/n1/usr/local/lib/vem'));
  assert.ok(!dirs.includes('/lab/n1/etc/systemd/system'), 'no unit folder without systemd');
  assert.ok(candidateDirs(p, true).includes('/lab/n1/etc/systemd/system'));
});

test('the probe: a whole answer parses; a cut one is not taken for the node\'s', () => {
  const f = parseProbe(ROOT_PROBE);
  assert.equal(f.complete, true);
  assert.equal(f.uid, 0);
  assert.equal(f.socket, '/var/run/libvirt/libvirt-sock');
  assert.equal(nodeMajor(f.nodeVersion), 18);
  assert.deepEqual(check(f), []);
  assert.equal(modeOf(f, false), 'install');
  const cut = parseProbe(ROOT_PROBE.replace('end=1', ''));
  assert.equal(check(cut).length, 1);
  assert.match(check(cut)[0]?.what ?? '', /did not finish answering/);
});

test('what is wrong with a node comes out in one line naming each problem and what to do', () => {
  const f = parseProbe(ROOT_PROBE.replace('uid=0', 'uid=1000').replace('user=root', 'user=ops').replace('nodever=v18.19.0', 'nodever=v16.20.2').replace('socket=/var/run/libvirt/libvirt-sock\n', '').replace('freekib=500000', 'freekib=100'));
  const ps = check(f);
  assert.equal(ps.length, 4);
  const line = problemLine('n3', ps);
  assert.equal(line.split('\n').length, 1);
  assert.match(line, /^n3: not root \(logged in as ops\)/);
  assert.match(line, /Node\.js v16\.20\.2 at \/usr\/bin\/node is too old/);
  assert.match(line, /no libvirt socket \(\/var\/run\/libvirt\/libvirt-sock, \/var\/run\/libvirt\/virtqemud-sock\)/);
  assert.match(line, /only 100 KiB free in \/usr\/local\/lib \(the agent needs 2400 KiB\)/);
  assert.match(line, /use root@HOST.*install and start libvirtd.*free some space.*\(nothing was changed on the node\)$/);
  const none = parseProbe(ROOT_PROBE.replace('node=/usr/bin/node\n', '').replace('nodever=v18.19.0\n', ''));
  assert.match(problemLine('n1', check(none)), /no Node\.js \(no `node` in the login's PATH\): install Node\.js 18 or newer \(Debian 12: apt install nodejs\)/);
  const junk = parseProbe(ROOT_PROBE.replace('nodever=v18.19.0', 'nodever=bash: node: Permission denied'));
  assert.match(problemLine('n1', check(junk)), /is not a working Node\.js/);
});

test('install, upgrade and remove steps follow what the node has', () => {
  const fresh = parseProbe(ROOT_PROBE);
  const o = { bundleBytes: 700_000, sha256: 'ab'.repeat(32), uri: 'qemu:///system' };
  const install = planSteps('install', fresh, paths, o).map((s) => s.kind);
  assert.deepEqual(install, ['check', 'mkdirs', 'upload', 'token', 'unit', 'swap', 'start', 'wait', 'manifest', 'cluster-file']);
  const manifest = { v: 1, createdDirs: ['/etc/vem', '/usr/local/lib/vem'], mode: 'detached', node: '/usr/bin/node', sha256: 'x', version: '0.1.0', uri: 'qemu:///system', at: '' };
  const installed = parseProbe(`${ROOT_PROBE.replace('systemd=yes', 'systemd=no')}\nmanifest=${JSON.stringify(manifest)}\nbundle=present`);
  assert.equal(modeOf(installed, false), 'upgrade');
  const up = planSteps('upgrade', installed, paths, o);
  assert.deepEqual(up.map((s) => s.kind), ['check', 'upload', 'token', 'stop', 'swap', 'start', 'wait', 'manifest', 'cleanup', 'cluster-file']);
  assert.match(up.find((s) => s.kind === 'start')?.text ?? '', /no systemd: it will not survive a reboot/);
  assert.match(up.find((s) => s.kind === 'wait')?.text ?? '', /roll back to \/usr\/local\/lib\/vem\/vem-agent\.prev\.mjs/);
  const rm = planSteps('remove', installed, paths, o);
  assert.deepEqual(rm.map((s) => s.kind), ['check', 'stop', 'remove-files', 'remove-dirs', 'cluster-file']);
  assert.match(rm.find((s) => s.kind === 'remove-dirs')?.text ?? '', /\/etc\/vem, \/usr\/local\/lib\/vem/);
});

test('only folders deploy made are removed whole, never a system one', () => {
  assert.deepEqual(topmost(['/a/b/c', '/a/b', '/x/y', '/a/bc']), ['/a/b', '/x/y', '/a/bc']);
  for (const d of ['/', '/etc', '/usr/local/lib', '/var/lib', '/run', 'relative/path', '/etc/systemd/system']) assert.equal(removableDir(d), false, d);
  assert.equal(removableDir('/etc/vem'), true);
  const s = removeScript({ paths, createdDirs: ['/etc', '/etc/vem', '/usr/local/lib', '/usr/local/lib/vem'], systemd: false });
  assert.doesNotMatch(s, /rm -rf '\/etc'\n/);
  assert.doesNotMatch(s, /rm -rf '\/usr\/local\/lib'\n/);
});

test('the unit is the shipped hardened one with this node\'s ExecStart, and its own folders writable under a prefix', () => {
  const template = readFileSync(new URL('../../../src/agent/vem-agent.service', import.meta.url), 'utf8');
  const u = unitText(template, { paths: deployPaths({ prefix: '/srv/vem root' }), node: '/usr/bin/node', uri: 'qemu:///system' });
  assert.match(u, /^# Installed by vem deploy/);
  assert.match(u, /^ExecStart=\/usr\/bin\/node "\/srv\/vem root\/usr\/local\/lib\/vem\/vem-agent\.mjs" --uri qemu:\/\/\/system --socket "\/srv\/vem root\/run\/vem\/agent\.sock" .*--token-file "\/srv\/vem root\/etc\/vem\/token"/m);
  assert.match(u, /^ProtectSystem=strict$/m);
  assert.match(u, /^ReadWritePaths="\/srv\/vem root\/run\/vem" /m);
  assert.doesNotMatch(u, /cp src\/agent/);
  assert.equal(u.match(/^ExecStart=/gm)?.length, 1);
});

test('the upload script keeps a file only when size and sha256 match, and otherwise removes what it made', { skip: spawnSync('sh', ['-c', 'true']).status !== 0 ? 'no sh' : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-deploy-unit-'));
  try {
    const p = deployPaths({ prefix: join(dir, 'node') });
    const made = candidateDirs(p, false).filter((d) => d.startsWith(dir + '/'));
    const data = Buffer.from('console.log("agent")\n'.repeat(1000));
    const sha = createHash('sha256').update(data).digest('hex');
    const bad = sh(uploadScript({ paths: p, node: process.execPath, bytes: data.length, sha256: sha, makeDirs: made }), Buffer.concat([data.subarray(0, 100), Buffer.from('x'), data.subarray(101)]));
    assert.equal(bad.code, 4);
    assert.match(bad.out, /fail=checksum/);
    assert.ok(!existsSync(join(dir, 'node')), 'the folders it made are gone again');
    const short = sh(uploadScript({ paths: p, node: process.execPath, bytes: data.length, sha256: sha, makeDirs: made }), data.subarray(0, 500));
    assert.match(short.out, /fail=short 500/);
    assert.ok(!existsSync(join(dir, 'node')));
    const ok = sh(uploadScript({ paths: p, node: process.execPath, bytes: data.length, sha256: sha, makeDirs: made }), data);
    assert.equal(ok.code, 0, ok.out);
    assert.deepEqual(readFileSync(deployFiles(p).newBundle), data);
    assert.ok(!existsSync(`${deployFiles(p).newBundle}.part`));
    // And removal takes away exactly that: what it made, not the folder that was there before.
    writeFileSync(deployFiles(p).token, 'secret\n');
    assert.equal(sh(removeScript({ paths: p, createdDirs: made, systemd: false })).code, 0);
    assert.ok(!existsSync(join(dir, 'node')));
    assert.ok(existsSync(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the stop script ends the agent named by the pid file (and only a process whose command line is the bundle)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-deploy-stop-'));
  try {
    const p = deployPaths({ prefix: dir });
    const f = deployFiles(p);
    mkdirSync(p.runDir, { recursive: true });
    mkdirSync(p.bundleDir, { recursive: true });
    writeFileSync(f.bundle, 'setInterval(() => {}, 1000);\n');
    const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const agent = spawn(process.execPath, [f.bundle], { stdio: 'ignore' });
    const exited = (c: typeof agent): Promise<void> => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));
    try {
      // A recycled PID (a stranger's) in the pid file is left alone.
      writeFileSync(f.pidFile, `${stranger.pid}\n`);
      assert.equal(sh(stopScript({ paths: p, systemd: false })).code, 0);
      assert.equal(stranger.exitCode, null);
      assert.equal(stranger.signalCode, null);
      writeFileSync(f.pidFile, `${agent.pid}\n`);
      assert.equal(sh(stopScript({ paths: p, systemd: false })).code, 0);
      await exited(agent);
      assert.equal(agent.signalCode, 'SIGTERM');
      assert.ok(!existsSync(f.pidFile));
    } finally {
      stranger.kill('SIGKILL');
      agent.kill('SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('shq quotes any word for sh', () => {
  for (const w of ["it's", 'a b', '$(rm -rf /)', '`x`', '"\\', '']) assert.equal(sh(`printf %s ${shq(w)}`).out, w);
});
