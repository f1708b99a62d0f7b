// requireLab(): is this machine able to run the lab? Outside CI a missing piece
// skips the test with the reason; under CI=true it fails, naming what is missing.
import { accessSync, constants, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { MissingPrerequisiteError } from '../../src/common/errors.js';
import { labEnv } from './procs.js';
import { inCI } from '../ci.js';

const INSTALL_HINT = 'install with .ci/install-deps.sh';

/** Named groups callers can ask for; anything else in `what` is taken as a binary name. */
const GROUPS: Record<string, string[]> = {
  libvirt: ['libvirtd', 'virtlogd', 'virsh', 'unshare', 'nsenter', 'mount', 'user:libvirt-qemu', 'root'],
  qemu: ['qemu-system-x86_64'],
  sshd: ['/usr/sbin/sshd', 'ssh', 'ssh-keygen'],
  tmux: ['tmux'],
  guest: ['cpio', 'gzip', 'apt-get', 'dpkg-deb', 'ldd', 'busybox'],
  python3: ['python3'],
  lxc: ['/usr/lib/libvirt/libvirt_lxc', 'mountpoint'],
};
const DEFAULT_WHAT = ['libvirt', 'qemu'];

export function findBinary(name: string): string | undefined {
  if (name.startsWith('/')) return isExecutable(name) ? name : undefined;
  for (const dir of (labEnv()['PATH'] ?? '').split(':')) {
    if (dir && isExecutable(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function userExists(user: string): boolean {
  try {
    execFileSync('getent', ['passwd', user], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What is missing for the given groups/binaries (empty when all is there). */
export function missingPrerequisites(what: string[] = DEFAULT_WHAT): string[] {
  const items = new Set<string>();
  for (const w of what) for (const i of GROUPS[w] ?? [w]) items.add(i);
  const missing: string[] = [];
  for (const item of items) {
    if (item === 'root') {
      if (process.getuid?.() !== 0) missing.push('root (the lab mounts and starts daemons)');
    } else if (item.startsWith('user:')) {
      if (!userExists(item.slice(5))) missing.push(`user ${item.slice(5)}`);
    } else if (item.startsWith('dir:')) {
      if (!existsSync(item.slice(4))) missing.push(`folder ${item.slice(4)}`);
    } else if (findBinary(item) === undefined) {
      missing.push(item.replace(/^.*\//, ''));
    }
  }
  return missing;
}

/**
 * Checks the lab's prerequisites. Returns null when all is there. Otherwise, with
 * CI=true it throws MissingPrerequisiteError (end-to-end tests must not skip in CI);
 * without CI it returns the reason, after calling t.skip(reason) when given a test context.
 */
export function requireLab(t: TestContext | undefined, what?: string[]): string | null {
  const missing = missingPrerequisites(what);
  if (missing.length === 0) return null;
  const reason = `missing prerequisite: ${missing.join(', ')} (${INSTALL_HINT})`;
  if (inCI()) {
    throw new MissingPrerequisiteError(`${missing.join(', ')} (${INSTALL_HINT})`, INSTALL_HINT);
  }
  t?.skip(reason);
  return reason;
}
