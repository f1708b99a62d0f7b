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
import { SEED_AGENT_FILE, SEED_AGENT_UNIT, type SeedFiles } from '../common/cloud-init.js';

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

/** More files on the seed, by their path on it (vem/guest-agent.mjs) and on the node. */
export type SeedExtras = ReadonlyArray<{ at: string; from: string }>;

/** The tool's arguments to write `out` from the seed files in `dir` (graft points put extras in their folders). */
export function seedToolArgs(tool: SeedTool, out: string, dir: string, files: SeedFiles, extras: SeedExtras = []): string[] {
  const names = Object.keys(files).map((f) => `${f}=${join(dir, f)}`);
  const more = extras.map((x) => `${x.at}=${x.from}`);
  switch (tool) {
    case 'genisoimage':
      return ['-quiet', '-output', out, '-volid', SEED_LABEL, '-joliet', '-rock', '-graft-points', ...names, ...more];
    case 'xorriso':
      return ['-as', 'mkisofs', '-quiet', '-output', out, '-volid', SEED_LABEL, '-joliet', '-rock', '-graft-points', ...names, ...more];
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
export async function writeSeedIso(dir: string, name: string, files: SeedFiles, agent?: { bundle: string; unit: string }): Promise<SeedTool> {
  const found = findSeedTool();
  if (!found) throw new NoSeedToolError();
  if (agent && found.tool === 'cloud-localds') throw new VemError('cloud-localds cannot add the guest agent to the seed', 'install genisoimage or xorriso on the node, or leave the agent out (guestAgent: false)');
  const work = mkdtempSync(join(tmpdir(), 'vem-seed-'));
  const partial = join(dir, `.${name}.partial`);
  try {
    for (const [f, content] of Object.entries(files)) writeFileSync(join(work, f), content, { mode: 0o600 });
    const extras: Array<{ at: string; from: string }> = [];
    if (agent) {
      writeFileSync(join(work, 'unit'), agent.unit, { mode: 0o600 });
      extras.push({ at: SEED_AGENT_FILE, from: agent.bundle }, { at: SEED_AGENT_UNIT, from: join(work, 'unit') });
    }
    await run(found.bin, seedToolArgs(found.tool, partial, work, files, extras));
    chmodSync(partial, 0o600);
    renameSync(partial, join(dir, name));
    return found.tool;
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(partial, { force: true });
  }
}

/** An ISO's size for the seed files: what the simulated node books for it. */
export function seedIsoBytes(files: SeedFiles, withAgent = false): number {
  const data = Object.values(files).reduce((a, s) => a + Math.ceil(Buffer.byteLength(s) / 2048) * 2048, 0);
  // The bundled guest agent is about 300 KiB.
  return 360 * 1024 + data + (withAgent ? 300 * 1024 : 0);
}
