// A container's /etc/passwd is read through its root without following its symlinks: under
// /proc/PID/root an absolute link resolves against the agent's own root, so a hostile
// container could point /etc or /etc/passwd at a host file. Real folders, links and a FIFO
// in a temporary tree laid out as /proc/PID/root would be.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readContainerPasswd } from '../../src/agent/guest/container-procs.js';

function tree(t: { after(f: () => void): void }, make: (root: string, outside: string) => void): string {
  const base = mkdtempSync(join(tmpdir(), 'vem-passwd-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const outside = join(base, 'host-secret');
  writeFileSync(outside, 'hostuser:x:4242:4242::/:/bin/sh\n');
  const root = join(base, 'proc', '77', 'root');
  mkdirSync(root, { recursive: true });
  make(root, outside);
  return join(base, 'proc');
}

test("the container's own passwd is read", async (t) => {
  const proc = tree(t, (root) => {
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
  });
  assert.equal(await readContainerPasswd(proc, 77), 'root:x:0:0::/root:/bin/sh\n');
});

test('a passwd that is a symlink (to a host file) is refused', async (t) => {
  const proc = tree(t, (root, outside) => {
    mkdirSync(join(root, 'etc'));
    symlinkSync(outside, join(root, 'etc', 'passwd'));
  });
  await assert.rejects(readContainerPasswd(proc, 77), (e: NodeJS.ErrnoException) => e.code === 'ELOOP');
});

test('an /etc that is a symlink is refused', async (t) => {
  const proc = tree(t, (root, outside) => {
    const fake = join(outside, '..', 'fake-etc');
    mkdirSync(fake);
    writeFileSync(join(fake, 'passwd'), 'hostuser:x:4242:4242::/:/bin/sh\n');
    symlinkSync(fake, join(root, 'etc'));
  });
  await assert.rejects(readContainerPasswd(proc, 77), (e: NodeJS.ErrnoException) => e.code === 'ELOOP' || e.code === 'ENOTDIR');
});

test('a passwd that is a FIFO is refused at once, not read forever', async (t) => {
  const proc = tree(t, (root) => {
    mkdirSync(join(root, 'etc'));
    execFileSync('mkfifo', [join(root, 'etc', 'passwd')]);
  });
  await assert.rejects(readContainerPasswd(proc, 77, 5_000), /is not a regular file/);
});
