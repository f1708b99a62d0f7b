/**
 * Pure edits of /etc/passwd, /etc/shadow and /etc/group text, for guests with
 * no useradd/adduser (a busybox image): add, remove, lock, unlock, set a hash.
 */
import { VemError } from '../common/errors.js';
import { parseGroup, parsePasswd } from './parse/accounts.js';

export interface AccountFiles {
  passwd: string;
  shadow: string | null;
  group: string;
}

export interface NewUser {
  name: string;
  uid?: number;
  shell?: string;
  home?: string;
  gecos?: string;
  groups?: string[];
}

export function checkUserName(name: string): void {
  if (!/^[a-z_][a-z0-9_-]{0,30}$/.test(name)) throw new VemError(`invalid user name '${name}'`, 'lower-case letters, digits, _ and -, starting with a letter or _, up to 31 characters');
}

function checkField(what: string, v: string): void {
  if (/[:\n\r\0]/.test(v)) throw new VemError(`invalid ${what}: it may not contain ':' or line breaks`);
}

const endNl = (s: string): string => (s === '' || s.endsWith('\n') ? s : s + '\n');

function nextId(used: number[], from = 1000): number {
  const set = new Set(used);
  let id = from;
  while (set.has(id)) id++;
  return id;
}

/** Adds the user with a locked password ('!'), its own group, and membership in `groups` (which must exist). */
export function addUser(f: AccountFiles, u: NewUser): AccountFiles {
  checkUserName(u.name);
  for (const [k, v] of Object.entries({ shell: u.shell, home: u.home, gecos: u.gecos })) if (v !== undefined) checkField(k, v);
  const users = parsePasswd(f.passwd);
  const groups = parseGroup(f.group);
  if (users.some((x) => x.name === u.name)) throw new VemError(`user '${u.name}' already exists`);
  if (u.uid !== undefined && users.some((x) => x.uid === u.uid)) throw new VemError(`uid ${u.uid} is already in use`);
  for (const g of u.groups ?? []) if (!groups.some((x) => x.name === g)) throw new VemError(`group '${g}' does not exist`);
  const uid = u.uid ?? nextId(users.map((x) => x.uid));
  const own = groups.find((g) => g.name === u.name);
  const gid = own ? own.gid : groups.some((g) => g.gid === uid) ? nextId(groups.map((g) => g.gid)) : uid;
  const passwd = endNl(f.passwd) + `${u.name}:x:${uid}:${gid}:${u.gecos ?? ''}:${u.home ?? `/home/${u.name}`}:${u.shell ?? '/bin/sh'}\n`;
  let group = f.group
    .split('\n')
    .map((line) => {
      const parts = line.split(':');
      if (parts.length < 4 || !(u.groups ?? []).includes(parts[0] ?? '')) return line;
      const members = (parts[3] ?? '').split(',').filter(Boolean);
      parts[3] = [...members, u.name].join(',');
      return parts.join(':');
    })
    .join('\n');
  if (!own) group = endNl(group) + `${u.name}:x:${gid}:\n`;
  const days = Math.floor(Date.now() / 86_400_000);
  const shadow = f.shadow === null ? null : endNl(f.shadow) + `${u.name}:!:${days}:0:99999:7:::\n`;
  return { passwd, shadow, group };
}

/** Removes the user, its membership everywhere, and its own group when no one else uses it as primary. */
export function removeUser(f: AccountFiles, name: string): AccountFiles {
  checkUserName(name);
  const users = parsePasswd(f.passwd);
  const me = users.find((x) => x.name === name);
  if (!me) throw new VemError(`no user '${name}'`);
  const dropLine = (text: string): string => text.split('\n').filter((l) => l.split(':')[0] !== name).join('\n');
  const otherPrimary = users.some((x) => x.name !== name && x.gid === me.gid);
  const group = f.group
    .split('\n')
    .filter((l) => !(l.split(':')[0] === name && Number(l.split(':')[2]) === me.gid && !otherPrimary))
    .map((line) => {
      const parts = line.split(':');
      if (parts.length < 4) return line;
      parts[3] = (parts[3] ?? '').split(',').filter((m) => m !== '' && m !== name).join(',');
      return parts.join(':');
    })
    .join('\n');
  return { passwd: dropLine(f.passwd), shadow: f.shadow === null ? null : dropLine(f.shadow), group };
}

function editShadow(f: AccountFiles, name: string, edit: (pw: string) => string): AccountFiles {
  checkUserName(name);
  if (f.shadow === null) throw new VemError('this guest has no /etc/shadow');
  let found = false;
  const shadow = f.shadow
    .split('\n')
    .map((line) => {
      const parts = line.split(':');
      if (parts[0] !== name || parts.length < 2) return line;
      found = true;
      parts[1] = edit(parts[1] ?? '');
      return parts.join(':');
    })
    .join('\n');
  if (!found) throw new VemError(`no shadow entry for '${name}'`);
  return { ...f, shadow };
}

export const lockUser = (f: AccountFiles, name: string): AccountFiles => editShadow(f, name, (pw) => (pw.startsWith('!') ? pw : `!${pw}`));

export function unlockUser(f: AccountFiles, name: string): AccountFiles {
  return editShadow(f, name, (pw) => {
    const rest = pw.replace(/^!+/, '');
    if (rest === '') throw new VemError(`'${name}' has no password to unlock; set one first`);
    return rest;
  });
}

/** Stores a crypt(3) hash made in the guest (never a clear-text password). */
export function setHash(f: AccountFiles, name: string, hash: string): AccountFiles {
  if (!/^\$[0-9a-z]+\$[^:\n]+$/.test(hash)) throw new VemError('refusing to store something that is not a crypt(3) hash');
  return editShadow(f, name, () => hash);
}
