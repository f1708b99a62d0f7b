// A test file's name says what it needs, so `npm run test:unit` can select by name:
// *.lab.test.ts starts lab parts (libvirtd, sshd, guests) and *.tmux.test.ts drives
// tmux. This fails when a file uses the lab or tmux without the suffix, or carries a
// suffix it does not need.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const TEST_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../test');

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

export function neededSuffix(source: string): 'tmux' | 'lab' | undefined {
  if (/\bTmux\b|haveTmux\(/.test(source)) return 'tmux';
  if (/\b(requireLab|startLab)\(/.test(source)) return 'lab';
  return undefined;
}

test('every test file is named for what it needs (lab, tmux or nothing)', () => {
  const files = testFiles(TEST_DIR);
  assert.ok(files.length > 50, `found the test sources in ${TEST_DIR}`);
  const wrong: string[] = [];
  for (const f of files) {
    if (f === join(TEST_DIR, 'test-names.test.ts')) continue; // its own rule examples
    const need = neededSuffix(readFileSync(f, 'utf8'));
    const has = f.endsWith('.tmux.test.ts') ? 'tmux' : f.endsWith('.lab.test.ts') ? 'lab' : undefined;
    if (need !== has) wrong.push(`${relative(TEST_DIR, f)}: needs ${need ?? 'nothing'}, named ${has ?? 'plain'}`);
  }
  assert.deepEqual(wrong, []);
});

test('the rule itself: a lab or tmux user is told apart from a pure test', () => {
  assert.equal(neededSuffix("const lab = await startLab({ nodes: 1 });"), 'lab');
  assert.equal(neededSuffix("if (requireLab(t) !== null) return;"), 'lab');
  assert.equal(neededSuffix("const tm = new Tmux(['vem']); await startLab({});"), 'tmux');
  assert.equal(neededSuffix("assert.equal(1 + 1, 2);"), undefined);
});

test('one CI helper: no test decides "are we in CI?" by itself, and none swallows a failed import', () => {
  const wrong: string[] = [];
  const ciRead = /process\.env(?:\.CI|\[['"]CI['"]\])\s*[!=]==/;
  const swallow = ['.catch(() =>', ' ({}))'].join('');
  for (const f of [...testFiles(TEST_DIR), ...tsFiles(TEST_DIR)]) {
    if (f.endsWith('ci.ts') && dirname(f) === TEST_DIR) continue;
    if (f === join(TEST_DIR, 'test-names.test.ts')) continue;
    const src = readFileSync(f, 'utf8');
    if (ciRead.test(src)) wrong.push(`${relative(TEST_DIR, f)} reads CI itself (use test/ci.ts)`);
    if (src.includes(swallow)) wrong.push(`${relative(TEST_DIR, f)} swallows an error into {}`);
  }
  assert.deepEqual([...new Set(wrong)], []);
});

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
