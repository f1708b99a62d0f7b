/**
 * Actions through the guest agent's method table on a private copy of the
 * account files (the 'files' backend a busybox guest uses, hashing with the
 * real busybox mkpasswd), the policy file and the action log; signals to a
 * real child process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildGuestRegistry } from '../../src/guest-agent/methods.js';
import { realHost, type GuestHost } from '../../src/guest-agent/host.js';
import { XmlRpcFault } from '../../src/common/xmlrpc/codec.js';
import { isStruct, type XmlRpcValue } from '../../src/common/xmlrpc/value.js';
import { addUser, lockUser, removeUser, setHash, unlockUser } from '../../src/guest-agent/account-files.js';
import { parsePasswd, parseShadowStates } from '../../src/guest-agent/parse/accounts.js';
import { fixtureDir } from './fixtures.js';
import { tempDir } from './helpers.js';

const ctx = { caller: 'test', readOnly: false };

/** The real machine for /proc and commands, a private folder for /etc and /var/log; only busybox mkpasswd as a tool. */
function sandboxHost(root: string): GuestHost {
  const real = realHost('/');
  const rooted = realHost(root);
  return {
    ...rooted,
    readText: (p) => (p.startsWith('/proc/') ? real.readText(p) : rooted.readText(p)),
    readTextSync: (p) => (p.startsWith('/proc/') ? real.readTextSync(p) : rooted.readTextSync(p)),
    readBufferSync: (p) => (p.startsWith('/proc/') ? real.readBufferSync(p) : rooted.readBufferSync(p)),
    readProcSync: (p) => (p.startsWith('/proc/') ? real.readProcSync(p) : rooted.readProcSync(p)),
    ownerUidSync: (p) => (p.startsWith('/proc/') ? real.ownerUidSync(p) : rooted.ownerUidSync(p)),
    which: async (c) => (c === 'mkpasswd' ? 'mkpasswd' : null),
    exec: (c, a, o) => (c === 'mkpasswd' ? real.exec('busybox', ['mkpasswd', ...a], o) : Promise.resolve({ code: 127, stdout: '', stderr: `${c}: not in the sandbox` })),
  };
}

function sandbox(policy: object | null): { root: string; host: GuestHost } {
  const root = tempDir('actions');
  mkdirSync(join(root, 'etc/vem'), { recursive: true });
  mkdirSync(join(root, 'var/log'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n');
  writeFileSync(join(root, 'etc/shadow'), 'root:*:19800:0:99999:7:::\ndaemon:*:19800:0:99999:7:::\n', { mode: 0o600 });
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\ndaemon:x:1:\nwheel:x:10:root\n');
  if (policy) writeFileSync(join(root, 'etc/vem/guest-policy.json'), JSON.stringify(policy));
  return { root, host: sandboxHost(root) };
}

const logLines = (root: string): Array<Record<string, unknown>> =>
  readFileSync(join(root, 'var/log/vem-guest.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

test('default policy (no file) is read-only: actions are refused with code 403 and logged', async () => {
  const { root, host } = sandbox(null);
  try {
    const reg = buildGuestRegistry({ host });
    await assert.rejects(reg.dispatch('guest.userAdd', ['eve'], ctx), (e: unknown) => e instanceof XmlRpcFault && e.code === 403 && /not allowed/.test(e.message));
    await assert.rejects(reg.dispatch('guest.serviceAction', ['sshd', 'stop'], ctx), /refused by the guest's policy: service.stop/);
    assert.equal(parsePasswd(readFileSync(join(root, 'etc/passwd'), 'utf8')).length, 2, 'nothing changed');
    assert.deepEqual(logLines(root).map((l) => [l['action'], l['result']]), [['user.add', 'refused'], ['service.stop', 'refused']]);
    const users = await reg.dispatch('guest.users', [], ctx);
    assert.ok(isStruct(users) && Array.isArray(users['users']));
    const root0 = (users['users'] as XmlRpcValue[]).find((u) => isStruct(u) && u['name'] === 'root');
    assert.ok(isStruct(root0) && root0['admin'] === true && (root0['adminVia'] as string[]).includes('uid 0'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an invalid policy file refuses everything and says why', async () => {
  const { root, host } = sandbox(null);
  try {
    writeFileSync(join(root, 'etc/vem/guest-policy.json'), '{"allow": ["user.add", "format.disk"]}');
    const reg = buildGuestRegistry({ host });
    await assert.rejects(reg.dispatch('guest.userAdd', ['eve'], ctx), /invalid: unknown action\(s\) in allow: format.disk/);
    const p = await reg.dispatch('guest.policy', [], ctx);
    assert.ok(isStruct(p) && typeof p['error'] === 'string');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('user add (with a password hashed in the guest), lock, unlock, remove on a busybox-style guest; the password is never logged', async () => {
  const { root, host } = sandbox({ allow: ['user.*'] });
  const secret = 'c0rrect horse';
  try {
    const reg = buildGuestRegistry({ host });
    const r = await reg.dispatch('guest.userAdd', ['eve', { password: secret, groups: ['wheel'], shell: '/bin/sh' }], ctx);
    assert.ok(isStruct(r) && r['tool'] === 'files' && r['uid'] === 1000);
    const shadow = readFileSync(join(root, 'etc/shadow'), 'utf8');
    const hash = /^eve:(\$6\$[^:]+):/m.exec(shadow)?.[1];
    assert.ok(hash, shadow);
    // The hash verifies against the password with an independent crypt(3).
    assert.equal(execFileSync('python3', ['-W', 'ignore', '-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], sys.argv[2]) == sys.argv[2])', secret, hash], { encoding: 'utf8' }).trim(), 'True');
    assert.match(readFileSync(join(root, 'etc/group'), 'utf8'), /^wheel:x:10:root,eve$/m);
    const users = await reg.dispatch('guest.users', [], ctx);
    const eve = ((users as Record<string, XmlRpcValue>)['users'] as XmlRpcValue[]).find((u) => isStruct(u) && u['name'] === 'eve') as Record<string, XmlRpcValue>;
    assert.deepEqual([eve['admin'], eve['adminVia'], eve['password']], [true, ['group wheel'], 'set']);

    await reg.dispatch('guest.userLock', ['eve'], ctx);
    assert.equal(parseShadowStates(readFileSync(join(root, 'etc/shadow'), 'utf8')).get('eve'), 'locked');
    await reg.dispatch('guest.userUnlock', ['eve'], ctx);
    assert.equal(parseShadowStates(readFileSync(join(root, 'etc/shadow'), 'utf8')).get('eve'), 'set');
    await reg.dispatch('guest.userSetPassword', ['eve', 'another one'], ctx);
    assert.notEqual(/^eve:([^:]+):/m.exec(readFileSync(join(root, 'etc/shadow'), 'utf8'))?.[1], hash);

    await assert.rejects(reg.dispatch('guest.userRemove', ['root'], ctx), /protected/);
    await assert.rejects(reg.dispatch('guest.userAdd', ['eve'], ctx), /already exists/);
    await assert.rejects(reg.dispatch('guest.userAdd', ['Bad:Name'], ctx), /invalid user name/);
    await assert.rejects(reg.dispatch('guest.userSetPassword', ['eve', 'two\nlines'], ctx), /invalid password/);
    await reg.dispatch('guest.userRemove', ['eve'], ctx);
    assert.doesNotMatch(readFileSync(join(root, 'etc/passwd'), 'utf8'), /eve/);
    assert.doesNotMatch(readFileSync(join(root, 'etc/group'), 'utf8'), /eve/);
    assert.doesNotMatch(readFileSync(join(root, 'etc/shadow'), 'utf8'), /eve/);

    const log = readFileSync(join(root, 'var/log/vem-guest.log'), 'utf8');
    assert.ok(!log.includes(secret) && !log.includes('another one'), 'no password in the log');
    const lines = logLines(root);
    assert.deepEqual(lines.filter((l) => l['result'] === 'ok').map((l) => l['action']), ['user.add', 'user.lock', 'user.unlock', 'user.setPassword', 'user.remove']);
    assert.ok(lines.some((l) => l['action'] === 'user.remove' && l['result'] === 'failed' && l['target'] === 'root'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('signal: allowed by policy it ends a real process; pid 1 and unknown signals are refused', async () => {
  const { root, host } = sandbox({ allow: ['signal'] });
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    const reg = buildGuestRegistry({ host });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, s) => r(s)));
    const r = await reg.dispatch('guest.signal', [child.pid ?? 0, 'SIGTERM'], ctx);
    assert.ok(isStruct(r) && r['sent'] === true);
    assert.equal(await exited, 'SIGTERM');
    // The name as kill(1) takes it: without SIG, any case.
    const second = spawn('sleep', ['60'], { stdio: 'ignore' });
    const exited2 = new Promise<NodeJS.Signals | null>((r) => second.once('exit', (_c, s) => r(s)));
    await reg.dispatch('guest.signal', [second.pid ?? 0, 'hup'], ctx);
    assert.equal(await exited2, 'SIGHUP');
    await assert.rejects(reg.dispatch('guest.signal', [1, 'SIGKILL'], ctx), /refusing to signal pid 1/);
    await assert.rejects(reg.dispatch('guest.signal', [child.pid ?? 0, 'SIGBOGUS'], ctx), /unknown signal 'SIGBOGUS'/);
    await assert.rejects(reg.dispatch('guest.signal', [child.pid ?? 0, 'BOGUS'], ctx), /unknown signal 'BOGUS'/);
    await assert.rejects(reg.dispatch('guest.signal', ['12', 'SIGTERM'], ctx), (e: unknown) => e instanceof XmlRpcFault && e.code === -32602);
  } finally {
    child.kill();
    rmSync(root, { recursive: true, force: true });
  }
});

test('account file edits (pure): add, lock, unlock, hash, remove on the recorded passwd/group', () => {
  const fix = fixtureDir();
  const f0 = { passwd: readFileSync(join(fix, 'passwd'), 'utf8'), group: readFileSync(join(fix, 'group'), 'utf8'), shadow: 'root:*:1:0:99999:7:::\n' };
  const f1 = addUser(f0, { name: 'zed', groups: ['sudo'] });
  const zed = parsePasswd(f1.passwd).find((u) => u.name === 'zed');
  assert.ok(zed && zed.uid >= 1000 && !parsePasswd(f0.passwd).some((u) => u.uid === zed.uid));
  assert.match(f1.group, /^sudo:x:27:zed$/m);
  assert.equal(parseShadowStates(f1.shadow ?? '').get('zed'), 'locked');
  assert.throws(() => unlockUser(f1, 'zed'), /no password to unlock/);
  const f2 = setHash(f1, 'zed', '$6$salt$abc');
  assert.equal(parseShadowStates(f2.shadow ?? '').get('zed'), 'set');
  assert.equal(parseShadowStates(lockUser(f2, 'zed').shadow ?? '').get('zed'), 'locked');
  assert.throws(() => setHash(f2, 'zed', 'plaintext'), /not a crypt/);
  assert.throws(() => addUser(f0, { name: 'x', shell: '/bin/sh:evil' }), /may not contain/);
  assert.throws(() => addUser(f0, { name: 'x', groups: ['nosuch'] }), /does not exist/);
  const f3 = removeUser(f2, 'zed');
  assert.equal(f3.passwd, f0.passwd);
  assert.doesNotMatch(f3.group, /zed/);
});
