/**
 * Text captures of the main screens at 80x24 and 160x48, compared with the
 * files in test/fixtures/tui/. The demo runs frozen (VEM_DEMO_FROZEN=1: fixed
 * seed, simulated clock standing still, no wall clock on screen), so captures
 * are stable; VEM_UPDATE_FIXTURES=1 rewrites the files after a deliberate change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { haveTmux, tableRows, Tmux } from './tmux.js';
import { skipUnless } from '../../ci.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const VEM = resolve(ROOT, 'dist/src/cli.js');
const DIR = join(ROOT, 'test/fixtures/tui');
const UPDATE = process.env['VEM_UPDATE_FIXTURES'] === '1';

/** Trailing blanks do not matter; a wall-clock time would (masked, though frozen mode shows none). */
export function normalise(screen: string): string {
  return screen
    .split('\n')
    .map((l) => l.replace(/\b\d\d:\d\d:\d\d\b/g, 'HH:MM:SS').trimEnd())
    .join('\n')
    .trimEnd() + '\n';
}

function check(name: string, screen: string): void {
  const file = join(DIR, `${name}.txt`);
  const got = normalise(screen);
  // A golden screen is written only when asked; a missing one is a failure, in CI or not.
  if (!UPDATE) assert.ok(existsSync(file), `fixture ${file} is missing (VEM_UPDATE_FIXTURES=1 writes it)`);
  if (UPDATE) {
    mkdirSync(DIR, { recursive: true });
    writeFileSync(file, got);
    return;
  }
  assert.equal(got, readFileSync(file, 'utf8'), `screen ${name} differs from ${file} (VEM_UPDATE_FIXTURES=1 rewrites it)`);
}

const settle = (ms = 400): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const [w, h] of [
  [80, 24],
  [160, 48],
] as const) {
  test(`screens at ${w}x${h} match test/fixtures/tui; the : command line jumps to VMs and nodes`, { skip: skipUnless(haveTmux(), 'tmux'), timeout: 60_000 }, async (t) => {
    const size = `${w}x${h}`;
    const tm = new Tmux([process.execPath, VEM, 'demo', '--seed', '1'], { width: w, height: h, cwd: ROOT, env: { VEM_DEMO_FROZEN: '1' } });
    t.after(() => tm.kill());
    await tm.waitFor((x) => /VMs 40 of 40/.test(x) && tableRows(x).length > 0 && /node-04\s+up/.test(x), 20_000, 'the overview');
    await settle(1000);
    check(`overview-${size}`, await tm.waitStable(/NAME/));

    tm.keys('Enter');
    check(`vm-${size}`, await tm.waitStable(/^VM analytics-01 on node-\d+/m, 5000));
    tm.keys('Escape');
    await tm.waitFor(/NAME\s+NODE\s+STATE/, 3000);
    await settle();

    tm.keys('Tab');
    await settle();
    tm.keys('Enter');
    check(`node-${size}`, await tm.waitStable(/^node node-01 {2}SIMULATED[\s\S]*^level 1 \(between/m, 5000));
    tm.keys('Escape');
    await tm.waitFor(/NAME\s+NODE\s+STATE/, 3000);
    await settle();
    tm.keys('Tab');
    await settle();

    tm.keys('?');
    check(`help-${size}`, await tm.waitStable(/^Everywhere/m, 3000));
    tm.keys('Escape');
    await tm.waitFor(/NAME\s+NODE\s+STATE/, 3000);
    await settle();

    tm.keys('m');
    check(`migrate-${size}`, await tm.waitStable(/Migrate analytics-01 from/, 3000));
    tm.keys('Escape');
    await tm.waitFor((x) => !/Migrate analytics-01/.test(x), 3000);
    await settle();

    tm.keys('w');
    // Where the wall has room for the balancer (160x48) it shows a figure once the first plan is
    // made, '-' before; a loaded machine made the plan late.
    check(`wall-${size}`, await tm.waitStable((x) => /^ve-manager wall/m.test(x) && !/imbalance -/.test(x), 10_000));
    tm.keys('w');
    await tm.waitFor(/NAME\s+NODE\s+STATE/, 3000);

    // The command line jumps to a VM or a node, and opens a screen for a named VM.
    tm.keys(':');
    tm.type('vm api-02');
    tm.keys('Enter');
    await tm.waitFor(/^VM api-02 on node-\d+/m, 3000, ':vm');
    tm.keys('Escape');
    await tm.waitFor(/NAME\s+NODE\s+STATE/, 3000);
    await settle();
    tm.keys(':');
    tm.type('node node-03');
    tm.keys('Enter');
    await tm.waitFor(/^node node-03 {2}SIMULATED/m, 3000, ':node');
    tm.keys('Escape');
    await tm.waitFor(/NAME\s+NODE\s+STATE/, 3000);
    await settle();
    tm.keys(':');
    tm.type('clone api-02');
    tm.keys('Enter');
    await tm.waitFor(/^Clone VM api-02 on node-\d+/m, 3000, ':clone api-02');
    tm.keys('Escape');
    await tm.waitFor(/NAME\s+NODE\s+STATE/, 3000);
    await settle();
    tm.keys(':');
    tm.type('nosuch');
    tm.keys('Enter');
    await tm.waitFor(/unknown command :nosuch/, 3000, 'an unknown command');
    tm.keys('q');
    assert.equal(await tm.waitExit(15_000), 0);
  });
}
