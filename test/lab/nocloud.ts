// A NoCloud init step for the lab's busybox test guest: at boot it loads the CD-ROM drivers
// (virtio-SCSI, sr_mod, isofs) from the guest's kernel package, mounts the seed, and applies
// what cloud-init's NoCloud datasource would for the keys the lab checks: hostname,
// authorized_keys (top level and per user), and runcmd. The reader is Node.js in the guest
// with the `yaml` library bundled by esbuild, so the seed is parsed as YAML, not pattern-matched.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { buildGuestImage, cacheRoot, type GuestImage } from './guest-image.js';

/** Printed on the console once the seed is applied (or with the reason it was not). */
export const NOCLOUD_DONE = 'vem-nocloud: applied';
export const NOCLOUD_FAILED = 'vem-nocloud: failed';

// In load order; virtio_ring and virtio are loaded by the base image before these.
const CDROM_MODULES = ['drivers/scsi/scsi_common', 'drivers/scsi/scsi_mod', 'drivers/scsi/virtio_scsi', 'drivers/cdrom/cdrom', 'drivers/scsi/sr_mod', 'fs/isofs/isofs'];

const GUEST_SCRIPT = `
import { execFileSync, execSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
const dir = process.argv[2];
const ud = parse(readFileSync(dir + '/user-data', 'utf8')) ?? {};
const md = parse(readFileSync(dir + '/meta-data', 'utf8')) ?? {};
const host = ud.hostname ?? md['local-hostname'];
if (typeof host === 'string') { execFileSync('hostname', [host]); writeFileSync('/etc/hostname', host + '\\n'); }
const users = Array.isArray(ud.users) ? ud.users : [];
const keys = [...(ud.ssh_authorized_keys ?? []), ...users.flatMap((u) => (typeof u === 'object' && u && Array.isArray(u.ssh_authorized_keys) ? u.ssh_authorized_keys : []))];
mkdirSync('/root/.ssh', { recursive: true, mode: 0o700 });
writeFileSync('/root/.ssh/authorized_keys', [...new Set(keys)].join('\\n') + '\\n', { mode: 0o600 });
const q = (s) => "'" + String(s).replace(/'/g, "'\\\\''") + "'";
for (const c of ud.runcmd ?? []) execSync(Array.isArray(c) ? c.map(q).join(' ') : c, { stdio: 'inherit', shell: '/bin/sh' });
console.log('${NOCLOUD_DONE} instance ' + md['instance-id'] + ', hostname ' + host + ', ' + keys.length + ' key(s)');
`;

function kernelModulesDir(): string {
  const root = join(cacheRoot(), 'packages');
  const dirs = readdirSync(root).filter((d) => /^linux-image-.*-cloud-amd64$/.test(d) && existsSync(join(root, d, '.done')));
  dirs.sort((a, b) => statSync(join(root, b)).mtimeMs - statSync(join(root, a)).mtimeMs);
  const pkg = dirs[0];
  if (pkg === undefined) throw new Error(`no unpacked cloud kernel under ${root}: build the base guest image first`);
  const mods = join(root, pkg, 'lib', 'modules');
  const version = readdirSync(mods)[0];
  if (version === undefined) throw new Error(`${mods} is empty`);
  return join(mods, version, 'kernel');
}

/** The test guest with the NoCloud step: boots, applies the seed on its CD-ROM, then gives its console shell. */
export async function buildNoCloudGuest(): Promise<GuestImage> {
  await buildGuestImage(); // unpacks the kernel package whose modules the step loads
  const kdir = kernelModulesDir();
  const workDir = join(cacheRoot(), 'nocloud');
  mkdirSync(workDir, { recursive: true });
  const bundle = join(workDir, 'vem-nocloud.cjs');
  const r = await build({ stdin: { contents: GUEST_SCRIPT, resolveDir: process.cwd(), loader: 'js' }, bundle: true, platform: 'node', format: 'cjs', target: 'node18', write: false, logLevel: 'silent' });
  const code = r.outputFiles[0]?.text ?? '';
  // Rewritten only when it changes: the image cache keys on the file's mtime.
  if (!existsSync(bundle) || readFileSync(bundle, 'utf8') !== code) writeFileSync(bundle, code);
  const files = CDROM_MODULES.map((m) => ({ guestPath: `/lib/modules/nocloud/${m.split('/').pop() ?? m}.ko`, hostPath: join(kdir, `${m}.ko`), mode: 0o644 }));
  const startup = [
    `for m in ${CDROM_MODULES.map((m) => m.split('/').pop()).join(' ')}; do insmod /lib/modules/nocloud/$m.ko || echo "vem-nocloud: insmod $m failed"; done`,
    'i=0; while [ $i -lt 50 ] && [ ! -e /sys/block/sr0 ]; do usleep 100000; i=$((i+1)); done; mdev -s',
    `mkdir -p /mnt/cidata && mount -t iso9660 -o ro /dev/sr0 /mnt/cidata && node /opt/vem-nocloud.cjs /mnt/cidata || echo "${NOCLOUD_FAILED}"`,
  ];
  return buildGuestImage({ files: [...files, { guestPath: '/opt/vem-nocloud.cjs', hostPath: bundle, mode: 0o644 }], startup });
}
