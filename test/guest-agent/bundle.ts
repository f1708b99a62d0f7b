/**
 * Bundles the guest agent into one file a guest can carry (only Node.js needed
 * there): `node dist/test/guest-agent/bundle.js [OUT]`, default dist/guest-agent.mjs.
 */
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'src', 'cli', 'guest-agent-main.ts'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error('repository root not found');
}

export async function bundleGuestAgent(outfile = join(repoRoot(), 'dist', 'guest-agent.mjs')): Promise<string> {
  await build({
    entryPoints: [join(repoRoot(), 'src', 'cli', 'guest-agent-main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outfile,
    banner: { js: '#!/usr/bin/env node' },
    logLevel: 'warning',
  });
  return outfile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  bundleGuestAgent(process.argv[2]).then(
    (f) => process.stdout.write(`${f}\n`),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
