/** Pure parsers for the account databases (passwd, group, shadow, sudoers) and os-release. */

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#') && !l.startsWith('+') && !l.startsWith('-'));
}

/** /etc/passwd (7 colon-separated fields); malformed lines are skipped, not fatal. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of lines(text)) {
    const f = line.split(':');
    if (f.length < 7) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid) || f[2] === '' || f[3] === '') continue;
    out.push({ name: f[0] ?? '', uid, gid, gecos: f[4] ?? '', home: f[5] ?? '', shell: f.slice(6).join(':') });
  }
  return out;
}

/** /etc/group (4 fields, members comma-separated). */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of lines(text)) {
    const f = line.split(':');
    if (f.length < 4 || f[2] === '') continue;
    const gid = Number(f[2]);
    if (!Number.isInteger(gid)) continue;
    out.push({ name: f[0] ?? '', gid, members: (f[3] ?? '').split(',').map((s) => s.trim()).filter(Boolean) });
  }
  return out;
}

export type PasswordState = 'set' | 'locked' | 'none' | 'disabled';

/**
 * /etc/shadow, read only for each account's password state: the hash itself is
 * never returned. A leading '!' is a lock (usermod -L / passwd -l), '*' or '!!'
 * alone means no password can match, empty means no password needed.
 */
export function parseShadowStates(text: string): Map<string, PasswordState> {
  const out = new Map<string, PasswordState>();
  for (const line of lines(text)) {
    const f = line.split(':');
    if (f.length < 2) continue;
    const pw = f[1] ?? '';
    let state: PasswordState;
    if (pw === '') state = 'none';
    else if (pw.startsWith('!')) state = 'locked';
    else if (pw === '*' || pw.startsWith('*')) state = 'disabled';
    else state = 'set';
    out.set(f[0] ?? '', state);
  }
  return out;
}

export interface SudoersGrants {
  users: string[];
  groups: string[];
}

/** Users and %groups that sudoers grants rules to (only plain user specs; aliases and includes are not followed). */
export function parseSudoers(text: string): SudoersGrants {
  const users = new Set<string>();
  const groups = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('@') || /^Defaults\b/.test(line) || /_Alias\b/.test(line)) continue;
    const m = /^(%?[A-Za-z0-9_.-]+)\s+\S+\s*=/.exec(line);
    if (!m || !m[1]) continue;
    if (m[1].startsWith('%')) groups.add(m[1].slice(1));
    else users.add(m[1]);
  }
  return { users: [...users], groups: [...groups] };
}

/** /etc/os-release: KEY=value lines, values optionally quoted with shell escapes. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(raw);
    if (!m || !m[1]) continue;
    let v = (m[2] ?? '').trim();
    const q = v[0];
    if ((q === '"' || q === "'") && v.endsWith(q) && v.length >= 2) {
      v = v.slice(1, -1);
      if (q === '"') v = v.replace(/\\([$"\\`])/g, '$1');
    }
    out[m[1]] = v;
  }
  return out;
}
