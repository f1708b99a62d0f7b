// A non-root login on a lab node, for the tests of what needs root (vem deploy's root check).
// The lab's sshd lets `nobody` in with the lab key (test/lab/sshd.ts), but nobody's shell is
// nologin. This bind-mounts a copy of /etc/passwd that gives nobody /bin/sh over /etc/passwd
// inside the node's mount namespace only: the machine's own /etc/passwd is untouched, and the
// mount goes with the namespace when the lab stops.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LabNode } from './lab.js';
import { run } from './procs.js';

export const NONROOT_USER = 'nobody';

/** nobody's /etc/passwd line with /bin/sh as its shell; throws if this machine has no nobody. */
export function passwdWithNobodyShell(passwd: string): string {
  let found = false;
  const out = passwd.split('\n').map((line) => {
    const f = line.split(':');
    if (f[0] !== NONROOT_USER || f.length !== 7) return line;
    found = true;
    f[6] = '/bin/sh';
    return f.join(':');
  });
  if (!found) throw new Error(`this machine's /etc/passwd has no ${NONROOT_USER} user`);
  return out.join('\n');
}

/** Gives nobody a shell on `node` (its namespace only); resolves with the undo. */
export async function letNobodyLogIn(node: LabNode): Promise<() => Promise<void>> {
  const ns = node.enterNamespace ?? [];
  if (ns.length === 0) throw new Error(`lab node ${node.name} has no namespace to mount in`);
  const copy = join(dirname(node.deployBacking), 'passwd-nobody-sh');
  writeFileSync(copy, passwdWithNobodyShell(readFileSync('/etc/passwd', 'utf8')), { mode: 0o644 });
  await run(ns[0] ?? 'nsenter', [...ns.slice(1), 'mount', '--bind', copy, '/etc/passwd']);
  return async () => {
    await run(ns[0] ?? 'nsenter', [...ns.slice(1), 'umount', '/etc/passwd']);
  };
}
