/**
 * Account actions. Uses the guest's own tools when it has them (shadow-utils:
 * useradd/userdel/usermod/chpasswd; busybox: adduser/deluser/chpasswd/passwd),
 * else edits the files itself and hashes with mkpasswd. Passwords only travel
 * on a child's stdin and are never logged.
 */
import { VemError } from '../common/errors.js';
import type { GuestHost } from './host.js';
import { addUser, checkUserName, lockUser, removeUser, setHash, unlockUser, type AccountFiles, type NewUser } from './account-files.js';
import { parsePasswd } from './parse/accounts.js';

export type AccountTool = 'shadow-utils' | 'busybox' | 'files';

export async function accountTool(host: GuestHost): Promise<AccountTool> {
  if ((await host.which('useradd')) && (await host.which('usermod'))) return 'shadow-utils';
  if ((await host.which('adduser')) && (await host.which('deluser'))) return 'busybox';
  return 'files';
}

async function run(host: GuestHost, what: string, cmd: string, args: string[], input?: string): Promise<void> {
  const r = await host.exec(cmd, args, { input, timeoutMs: 30_000 });
  if (r.code !== 0) throw new VemError(`${what} failed (${cmd} exit ${r.code}): ${r.stderr.trim().slice(0, 400)}`);
}

async function readFiles(host: GuestHost): Promise<AccountFiles> {
  const shadow = (await host.exists('/etc/shadow')) ? await host.readText('/etc/shadow') : null;
  return { passwd: await host.readText('/etc/passwd'), shadow, group: await host.readText('/etc/group') };
}

async function writeFiles(host: GuestHost, before: AccountFiles, after: AccountFiles): Promise<void> {
  // shadow first and passwd last: a reader never sees a passwd entry without its shadow line.
  if (after.shadow !== null && after.shadow !== before.shadow) await host.writeTextAtomic('/etc/shadow', after.shadow, 0o600);
  if (after.group !== before.group) await host.writeTextAtomic('/etc/group', after.group);
  if (after.passwd !== before.passwd) await host.writeTextAtomic('/etc/passwd', after.passwd);
}

let queue: Promise<unknown> = Promise.resolve();
/** One account change at a time: they read-modify-write the same files. */
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const p = queue.then(fn, fn);
  queue = p.catch(() => undefined);
  return p;
}

async function uidOf(host: GuestHost, name: string): Promise<number | undefined> {
  return parsePasswd(await host.readText('/etc/passwd')).find((u) => u.name === name)?.uid;
}

/** Never removes, locks or re-passwords uid 0 through the API: the way back in must stay open. */
async function guardTarget(host: GuestHost, name: string, protectedUsers: string[]): Promise<void> {
  checkUserName(name);
  const uid = await uidOf(host, name);
  if (uid === undefined) throw new VemError(`no user '${name}' in this guest`);
  if (uid === 0 || protectedUsers.includes(name)) throw new VemError(`user '${name}' is protected by the guest's policy`);
}

export function userAdd(host: GuestHost, u: NewUser & { password?: string }): Promise<{ tool: AccountTool; uid: number }> {
  return serial(async () => {
    checkUserName(u.name);
    if ((await uidOf(host, u.name)) !== undefined) throw new VemError(`user '${u.name}' already exists`);
    const tool = await accountTool(host);
    if (tool === 'shadow-utils') {
      const args = ['-m', '-s', u.shell ?? '/bin/sh'];
      if (u.uid !== undefined) args.push('-u', String(u.uid));
      if (u.home) args.push('-d', u.home);
      if (u.gecos) args.push('-c', u.gecos);
      if (u.groups?.length) args.push('-G', u.groups.join(','));
      await run(host, `adding user ${u.name}`, 'useradd', [...args, u.name]);
    } else if (tool === 'busybox') {
      const args = ['-D', '-s', u.shell ?? '/bin/sh'];
      if (u.uid !== undefined) args.push('-u', String(u.uid));
      if (u.home) args.push('-h', u.home);
      if (u.gecos) args.push('-g', u.gecos);
      await run(host, `adding user ${u.name}`, 'adduser', [...args, u.name]);
      for (const g of u.groups ?? []) await run(host, `adding ${u.name} to ${g}`, 'addgroup', [u.name, g]);
    } else {
      const before = await readFiles(host);
      await writeFiles(host, before, addUser(before, u));
    }
    if (u.password !== undefined) await setPasswordNow(host, u.name, u.password, tool);
    const uid = await uidOf(host, u.name);
    if (uid === undefined) throw new VemError(`user ${u.name} was not created`);
    return { tool, uid };
  });
}

export function userRemove(host: GuestHost, name: string, protectedUsers: string[]): Promise<{ tool: AccountTool }> {
  return serial(async () => {
    await guardTarget(host, name, protectedUsers);
    const tool = await accountTool(host);
    if (tool === 'shadow-utils') await run(host, `removing ${name}`, 'userdel', [name]);
    else if (tool === 'busybox') await run(host, `removing ${name}`, 'deluser', [name]);
    else {
      const before = await readFiles(host);
      await writeFiles(host, before, removeUser(before, name));
    }
    return { tool };
  });
}

export function userLock(host: GuestHost, name: string, lock: boolean, protectedUsers: string[]): Promise<{ tool: AccountTool }> {
  return serial(async () => {
    await guardTarget(host, name, protectedUsers);
    const tool = await accountTool(host);
    if (tool === 'shadow-utils') await run(host, `${lock ? 'locking' : 'unlocking'} ${name}`, 'usermod', [lock ? '-L' : '-U', name]);
    else if (tool === 'busybox') await run(host, `${lock ? 'locking' : 'unlocking'} ${name}`, 'passwd', [lock ? '-l' : '-u', name]);
    else {
      const before = await readFiles(host);
      await writeFiles(host, before, lock ? lockUser(before, name) : unlockUser(before, name));
    }
    return { tool };
  });
}

function checkPassword(pw: string): void {
  if (pw.length < 1 || pw.length > 512 || /[\n\r\0]/.test(pw)) throw new VemError('invalid password: 1 to 512 characters, no line breaks');
}

async function setPasswordNow(host: GuestHost, name: string, password: string, tool: AccountTool): Promise<void> {
  checkPassword(password);
  if (tool !== 'files' && (await host.which('chpasswd'))) {
    const args = tool === 'busybox' ? ['-c', 'sha512'] : [];
    await run(host, `setting the password of ${name}`, 'chpasswd', args, `${name}:${password}\n`);
    return;
  }
  let hash: string | undefined;
  if (await host.which('mkpasswd')) {
    const r = await host.exec('mkpasswd', ['-m', 'sha512', '-P', '0'], { input: password, timeoutMs: 10_000 });
    if (r.code === 0) hash = r.stdout.trim();
  }
  if (!hash && (await host.which('openssl'))) {
    const r = await host.exec('openssl', ['passwd', '-6', '-stdin'], { input: password + '\n', timeoutMs: 10_000 });
    if (r.code === 0) hash = r.stdout.trim();
  }
  if (!hash) throw new VemError('cannot hash a password in this guest: no chpasswd, mkpasswd or openssl');
  const before = await readFiles(host);
  await writeFiles(host, before, setHash(before, name, hash));
}

export function userSetPassword(host: GuestHost, name: string, password: string, protectedUsers: string[]): Promise<{ tool: AccountTool }> {
  return serial(async () => {
    await guardTarget(host, name, protectedUsers);
    const tool = await accountTool(host);
    await setPasswordNow(host, name, password, tool);
    return { tool };
  });
}
