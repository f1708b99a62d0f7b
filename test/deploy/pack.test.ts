// The README's install steps from the packed tarball: `npm pack` (its prepack builds), then
// `npm install -g` into a fresh prefix with a PATH holding only node and sh, so no compiler
// could run; nothing compiled lands in the tree and `vem` runs from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipUnless } from '../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function which(b: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${b}`], { encoding: 'utf8' });
  return r.status === 0 ? realpathSync(r.stdout.trim()) : undefined;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

const npm = which('npm');

test('the packed tarball installs with no compiler on PATH, ships no tests, and vem runs from it', { skip: skipUnless(npm !== undefined, 'npm'), timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vem-pack-'));
  try {
    const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n').pop() ?? '';
    const tgz = join(dir, name);
    assert.ok(existsSync(tgz), `npm pack wrote ${tgz}`);
    const listing = execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).split('\n');
    assert.ok(listing.includes('package/dist/vem-agent.mjs'), 'the one-file agent is in the tarball');
    // vm.provision puts the guest agent on the seed; the installed agent finds it at dist/guest-agent.mjs.
    assert.ok(listing.includes('package/dist/guest-agent.mjs'), 'the guest agent bundle is in the tarball');
    assert.ok(listing.includes('package/dist/src/cli.js'));
    assert.deepEqual(listing.filter((f) => /^package\/(dist\/)?test\//.test(f)), [], 'no tests in the tarball');
    // A PATH with node and sh only: cc, make, python3 and node-gyp's helpers are out of reach.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(realpathSync(process.execPath), join(bin, 'node'));
    symlinkSync(which('sh') ?? '/bin/sh', join(bin, 'sh'));
    const prefix = join(dir, 'prefix');
    const env = { ...process.env, PATH: bin };
    const inst = spawnSync(process.execPath, [npm ?? 'npm', 'install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tgz], { env, encoding: 'utf8', timeout: 240_000 });
    assert.equal(inst.status, 0, `npm install failed:\n${inst.stdout}\n${inst.stderr}`);
    const files = walk(join(prefix, 'lib', 'node_modules'));
    assert.deepEqual(files.filter((f) => f.endsWith('.node')), [], 'nothing compiled (no native addon) in the installed tree');
    assert.ok(!files.some((f) => f.includes('/node-pty/')), 'no dev dependency installed');
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const v = spawnSync(join(prefix, 'bin', 'vem'), ['--version'], { env, encoding: 'utf8' });
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), `vem ${version.version}`);
    // The installed agent's own lookup (provision.ts) finds the shipped guest agent, not a copy elsewhere.
    const pkgDir = join(prefix, 'lib', 'node_modules', 've-manager');
    const envNoGuest = { ...env, VEM_GUEST_AGENT: '' };
    const found = spawnSync('node', ['--input-type=module', '-e', `import(${JSON.stringify(join(pkgDir, 'dist', 'src', 'agent', 'provision.js'))}).then((m) => process.stdout.write(String(m.findGuestAgentBundle())))`], { env: envNoGuest, encoding: 'utf8' });
    assert.equal(found.status, 0, found.stderr);
    assert.equal(found.stdout, join(pkgDir, 'dist', 'guest-agent.mjs'));
    const h = spawnSync(join(prefix, 'bin', 'vem'), ['call', '--help'], { env, encoding: 'utf8' });
    assert.equal(h.status, 0, h.stderr);
    assert.match(h.stdout + h.stderr, /vem call/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
