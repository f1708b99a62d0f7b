// The lab's test guest: Debian's cloud kernel and a busybox initramfs with Node.js,
// the virtio modules loaded at boot, /dev/virtio-ports/<name> links, a shell on ttyS0,
// plus caller files and start-up lines (the guest agent). Cached by a hash of its inputs.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run } from './procs.js';
import { findBinary } from './prereq.js';

export interface GuestImageOptions {
  files?: Array<{ guestPath: string; hostPath?: string; content?: string; mode?: number }>;
  /** Shell lines run at boot, after the devices are up and before the console shell. */
  startup?: string[];
  /** Copy the host's Node.js and its libraries in (default true). */
  node?: boolean;
}

export interface GuestImage {
  kernel: string;
  initrd: string;
  hash: string;
}

export const GUEST_PROMPT = 'vem-guest# ';
/** Printed on the console when boot (modules, devices, start-up lines) is done. */
export const GUEST_READY_LINE = 'vem-guest: ready';

const KERNEL_META = 'linux-image-cloud-amd64';
// Load order matters: each needs the ones before it (checked against modules.dep).
const MODULES = ['virtio_ring', 'virtio', 'virtio_pci_legacy_dev', 'virtio_pci_modern_dev', 'virtio_pci', 'virtio_console', 'virtio_balloon'];

export function cacheRoot(): string {
  return process.env['VEM_LAB_CACHE'] ?? '/var/tmp/vem-lab-cache';
}

/** The versioned kernel package the meta package points at (local apt lists, no network). */
async function kernelPackage(): Promise<string> {
  let out: string;
  try {
    out = await run('apt-cache', ['depends', KERNEL_META], { timeoutMs: 30_000 });
  } catch (e) {
    throw new Error(`cannot resolve ${KERNEL_META} (run 'apt-get update' first): ${(e as Error).message}`, { cause: e });
  }
  const m = /Depends:\s*(linux-image-\S+)/.exec(out);
  if (!m?.[1]) throw new Error(`apt-cache depends ${KERNEL_META} names no kernel package (run 'apt-get update' first)`);
  return m[1];
}

/** Downloads and unpacks a Debian package once into the cache; returns the unpacked root. */
async function unpackedPackage(pkg: string): Promise<string> {
  const dest = join(cacheRoot(), 'packages', pkg);
  if (existsSync(join(dest, '.done'))) return dest;
  mkdirSync(join(cacheRoot(), 'packages'), { recursive: true });
  return downloadInto(pkg, dest);
}

async function downloadInto(pkg: string, dest: string): Promise<string> {
  const tmp = mkdtempSync(join(cacheRoot(), 'packages', `.${pkg}-`));
  try {
    chmodSync(tmp, 0o777);
    await run('sh', ['-c', `cd "$1" && apt-get download -q "$2"`, 'sh', tmp, pkg], { timeoutMs: 600_000 });
    const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (deb === undefined) throw new Error(`apt-get download ${pkg} left no .deb`);
    const root = join(tmp, 'root');
    mkdirSync(root);
    await run('dpkg-deb', ['-x', join(tmp, deb), root], { timeoutMs: 300_000 });
    writeFileSync(join(root, '.deb'), deb);
    writeFileSync(join(root, '.done'), '');
    try {
      renameSync(root, dest);
    } catch (e) {
      // Another lab unpacked it meanwhile: use theirs.
      if (!existsSync(join(dest, '.done'))) throw e;
    }
    return dest;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

interface KernelParts {
  vmlinuz: string;
  version: string;
  modules: string[]; // in load order
  deb: string;
}

async function kernelParts(): Promise<KernelParts> {
  const pkg = await kernelPackage();
  const root = await unpackedPackage(pkg);
  const vmlinuz = readdirSync(join(root, 'boot')).find((f) => f.startsWith('vmlinuz-'));
  if (vmlinuz === undefined) throw new Error(`${pkg} holds no boot/vmlinuz-*`);
  const version = vmlinuz.slice('vmlinuz-'.length);
  const modDir = join(root, 'lib', 'modules', version, 'kernel');
  const found = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else {
        const name = e.name.replace(/\.ko(\.xz|\.zst|\.gz)?$/, '');
        if (name !== e.name && MODULES.includes(name.replace(/-/g, '_'))) found.set(name.replace(/-/g, '_'), join(d, e.name));
      }
    }
  };
  walk(join(modDir, 'drivers', 'virtio'));
  walk(join(modDir, 'drivers', 'char'));
  const builtin = readFileOr(join(root, 'lib', 'modules', version, 'modules.builtin'));
  const modules: string[] = [];
  for (const m of MODULES) {
    const p = found.get(m);
    if (p !== undefined) modules.push(p);
    else if (!builtin.includes(`/${m}.ko`)) throw new Error(`kernel ${version}: module ${m} neither built in nor found`);
  }
  return { vmlinuz: join(root, 'boot', vmlinuz), version, modules, deb: readFileOr(join(root, '.deb')) };
}

function readFileOr(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

/** Node's binary and every shared library ldd lists for it. */
async function nodeFiles(): Promise<string[]> {
  const bin = realpathSync(process.execPath);
  const out = await run('ldd', [bin], { timeoutMs: 15_000 });
  const libs = [...out.matchAll(/(\/\S+)\s+\(0x/g)].map((m) => m[1]).filter((p): p is string => p !== undefined);
  return [bin, ...new Set(libs)];
}

function staticBusybox(): string | undefined {
  for (const p of ['/bin/busybox', '/usr/bin/busybox']) {
    if (!existsSync(p)) continue;
    // A static binary has no PT_INTERP: cheap check for the loader path in its bytes.
    const head = readFileSync(p).subarray(0, 4096).toString('latin1');
    if (!head.includes('ld-linux')) return p;
  }
  return undefined;
}

export function initScript(moduleNames: string[], startup: string[]): string {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=/root
mkdir -p /proc /sys /dev /tmp /run /root /var/log
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev/shm
for m in ${moduleNames.join(' ')}; do
  insmod /lib/modules/vem/$m.ko || echo "vem-guest: insmod $m failed"
done
# virtio ports appear asynchronously after virtio_console binds.
i=0; while [ $i -lt 30 ] && [ -z "$(ls /sys/class/virtio-ports 2>/dev/null)" ]; do usleep 100000; i=$((i+1)); done
mdev -s
mkdir -p /dev/virtio-ports
for d in /sys/class/virtio-ports/*; do
  [ -f "$d/name" ] && ln -sf "../\${d##*/}" "/dev/virtio-ports/$(cat "$d/name")"
done
hostname vem-guest
ip link set lo up 2>/dev/null
${startup.join('\n')}
echo "${GUEST_READY_LINE}"
export PS1='${GUEST_PROMPT}'
while true; do setsid cttyhack sh; done
`;
}

async function buildInitrd(out: string, k: KernelParts, o: GuestImageOptions, nodeList: string[]): Promise<void> {
  const work = mkdtempSync(join(dirname(out), '.build-'));
  try {
    const root = join(work, 'root');
    for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'lib/modules/vem', 'root', 'tmp', 'dev', 'proc', 'sys']) mkdirSync(join(root, d), { recursive: true });
    const bb = staticBusybox();
    if (bb !== undefined) copyFileSync(bb, join(root, 'bin', 'busybox'));
    else {
      const pkgRoot = await unpackedPackage('busybox-static');
      copyFileSync(join(pkgRoot, 'bin', 'busybox'), join(root, 'bin', 'busybox'));
    }
    chmodSync(join(root, 'bin', 'busybox'), 0o755);
    const names: string[] = [];
    for (const m of k.modules) {
      const base = m.replace(/^.*\//, '');
      let name = base.replace(/\.ko(\.xz|\.zst|\.gz)?$/, '');
      const dest = join(root, 'lib', 'modules', 'vem', `${name}.ko`);
      if (base.endsWith('.ko.xz')) await run('sh', ['-c', 'xz -dc "$1" > "$2"', 'sh', m, dest]);
      else if (base.endsWith('.ko.zst')) await run('sh', ['-c', 'zstd -qdc "$1" > "$2"', 'sh', m, dest]);
      else copyFileSync(m, dest);
      name = name.replace(/-/g, '_');
      names.push(name);
    }
    for (const f of nodeList) {
      const dest = join(root, f);
      mkdirSync(dirname(dest), { recursive: true });
      copyFileSync(f, dest);
      chmodSync(dest, statSync(f).mode & 0o7777);
    }
    if (nodeList[0] !== undefined && nodeList[0] !== '/usr/bin/node') {
      writeFileSync(join(root, 'usr', 'bin', 'node'), `#!/bin/sh\nexec ${nodeList[0]} "$@"\n`, { mode: 0o755 });
    }
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\n');
    writeFileSync(join(root, 'etc', 'hostname'), 'vem-guest\n');
    for (const f of o.files ?? []) {
      if (!f.guestPath.startsWith('/')) throw new Error(`guest file path must be absolute: ${f.guestPath}`);
      const dest = join(root, f.guestPath);
      mkdirSync(dirname(dest), { recursive: true });
      if (f.hostPath !== undefined) copyFileSync(f.hostPath, dest);
      else writeFileSync(dest, f.content ?? '');
      chmodSync(dest, f.mode ?? (f.hostPath !== undefined ? statSync(f.hostPath).mode & 0o7777 : 0o644));
    }
    writeFileSync(join(root, 'init'), initScript(names, o.startup ?? []), { mode: 0o755 });
    const packed = join(work, 'initrd.img');
    await run('sh', ['-c', 'cd "$1" && find . | cpio -o -H newc --quiet | gzip -1 > "$2"', 'sh', root, packed], { timeoutMs: 300_000 });
    renameSync(packed, out);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function fileDigest(h: ReturnType<typeof createHash>, p: string): void {
  const st = statSync(p);
  h.update(`${p}\0${st.size}\0${st.mtimeMs}\0`);
}

const PRUNE_IMAGES_AFTER_MS = 3 * 24 * 3600_000;

function touch(p: string): void {
  try {
    const now = new Date();
    utimesSync(p, now, now);
  } catch {
    // best effort
  }
}

/** Each distinct set of inputs (say, every change of the guest agent) makes a ~45 MB image: drop unused ones. */
function pruneImages(): void {
  const root = join(cacheRoot(), 'images');
  let entries: string[];
  try {
    entries = readdirSync(root);
  } catch {
    return;
  }
  for (const e of entries) {
    const dir = join(root, e);
    try {
      if (Date.now() - statSync(dir).mtimeMs > PRUNE_IMAGES_AFTER_MS) rmSync(dir, { recursive: true, force: true });
    } catch {
      // raced with another lab: fine
    }
  }
}

/** Builds the guest image (or returns the cached one with the same inputs). */
export async function buildGuestImage(o: GuestImageOptions = {}): Promise<GuestImage> {
  for (const b of ['cpio', 'gzip', 'apt-get', 'dpkg-deb', 'ldd']) {
    if (findBinary(b) === undefined) throw new Error(`missing prerequisite: ${b} (install with .ci/install-deps.sh)`);
  }
  const k = await kernelParts();
  const nodeList = o.node === false ? [] : await nodeFiles();
  const h = createHash('sha256');
  h.update(`v1\0${k.deb}\0${k.version}\0${k.modules.join(',')}\0`);
  h.update(initScript(MODULES, o.startup ?? []));
  const bb = staticBusybox();
  if (bb !== undefined) fileDigest(h, bb);
  for (const f of nodeList) fileDigest(h, f);
  for (const f of o.files ?? []) {
    h.update(`${f.guestPath}\0${f.mode ?? ''}\0`);
    h.update(f.hostPath !== undefined ? readFileSync(f.hostPath) : (f.content ?? ''));
  }
  const hash = h.digest('hex').slice(0, 16);
  const dir = join(cacheRoot(), 'images', hash);
  const kernel = join(dir, 'vmlinuz');
  const initrd = join(dir, 'initrd.img');
  if (existsSync(initrd) && existsSync(kernel)) {
    touch(dir);
    return { kernel, initrd, hash };
  }
  pruneImages();
  mkdirSync(dir, { recursive: true });
  if (!existsSync(kernel)) {
    copyFileSync(k.vmlinuz, `${kernel}.${process.pid}`);
    renameSync(`${kernel}.${process.pid}`, kernel);
  }
  await buildInitrd(initrd, k, o, nodeList);
  return { kernel, initrd, hash };
}
