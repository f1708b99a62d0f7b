/**
 * The NoCloud seed as an ISO 9660 image, written by the node's own tool:
 * genisoimage (Debian's `genisoimage`), xorriso (`xorriso`) or cloud-localds
 * (`cloud-image-utils`, itself a wrapper around the first two), whichever is
 * there, in that order. They are the tools cloud images are tested with, and
 * writing ISO 9660 + Joliet + Rock Ridge by hand would be a format to maintain.
 * The image goes straight into the pool's directory; the pool is then refreshed
 * so libvirt knows it as a volume.
 */
import { execFile } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { VemError } from '../common/errors.js';
import type { SeedFiles } from '../common/cloud-init.js';

export type SeedTool = 'genisoimage' | 'xorriso' | 'cloud-localds';
const TOOLS: readonly SeedTool[] = ['genisoimage', 'xorriso', 'cloud-localds'];

/** The volume label NoCloud looks for. */
export const SEED_LABEL = 'cidata';

export class NoSeedToolError extends VemError {
  constructor() {
    super('this node has no tool to write the cloud-init seed ISO (genisoimage, xorriso or cloud-localds)', 'install one on the node: apt install genisoimage (or xorriso, or cloud-image-utils)');
  }
}

/** The first seed tool on PATH (plus the sbin folders a service's PATH may lack). */
export function findSeedTool(path = process.env['PATH'] ?? ''): { tool: SeedTool; bin: string } | undefined {
  const dirs = [...path.split(delimiter).filter((d) => d !== ''), '/usr/bin', '/usr/sbin', '/usr/local/bin'];
  for (const tool of TOOLS) {
    for (const d of dirs) {
      const bin = join(d, tool);
      try {
        accessSync(bin, constants.X_OK);
        return { tool, bin };
      } catch {
        /* not here */
      }
    }
  }
  return undefined;
}

/** The tool's arguments to write `out` from the seed files in `dir`. */
export function seedToolArgs(tool: SeedTool, out: string, dir: string, files: SeedFiles): string[] {
  const names = Object.keys(files).map((f) => join(dir, f));
  switch (tool) {
    case 'genisoimage':
      return ['-quiet', '-output', out, '-volid', SEED_LABEL, '-joliet', '-rock', ...names];
    case 'xorriso':
      return ['-as', 'mkisofs', '-quiet', '-output', out, '-volid', SEED_LABEL, '-joliet', '-rock', ...names];
    case 'cloud-localds':
      return [...(files['network-config'] !== undefined ? ['-N', join(dir, 'network-config')] : []), out, join(dir, 'user-data'), join(dir, 'meta-data')];
  }
}

function run(bin: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: 60_000, maxBuffer: 1024 * 1024 }, (err, _out, stderr) => {
      if (err) reject(new VemError(`${bin} failed: ${String(stderr).trim().split('\n').slice(-2).join(' ') || err.message}`));
      else resolve();
    });
  });
}

/**
 * Writes the seed ISO as `dir/name` (readable by its owner only: user-data may
 * hold secrets; libvirt hands it to QEMU when the VM starts). Returns the tool used.
 */
export async function writeSeedIso(dir: string, name: string, files: SeedFiles): Promise<SeedTool> {
  const found = findSeedTool();
  if (!found) throw new NoSeedToolError();
  const work = mkdtempSync(join(tmpdir(), 'vem-seed-'));
  const partial = join(dir, `.${name}.partial`);
  try {
    for (const [f, content] of Object.entries(files)) writeFileSync(join(work, f), content, { mode: 0o600 });
    await run(found.bin, seedToolArgs(found.tool, partial, work, files));
    chmodSync(partial, 0o600);
    renameSync(partial, join(dir, name));
    return found.tool;
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(partial, { force: true });
  }
}

/** An ISO's size for the seed files: what the simulated node books for it. */
export function seedIsoBytes(files: SeedFiles): number {
  const data = Object.values(files).reduce((a, s) => a + Math.ceil(Buffer.byteLength(s) / 2048) * 2048, 0);
  return 360 * 1024 + data;
}
