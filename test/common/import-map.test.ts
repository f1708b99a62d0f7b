// The map of src/ that lint enforces (eslint.config.js): no import cycle, no
// import against cli -> tui/agent/balancer -> api/link -> libvirt/common. Each
// case lints a probe text as if it were a file of src/, against the real tree.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

// dist/test/common -> the repository.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const eslint = new ESLint({ cwd: root });

async function rulesHit(file: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: join(root, file) });
  return (r?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

test('a deliberately added cycle fails lint', async () => {
  // errors.ts is imported by clone-plan.ts; errors.ts importing clone-plan.ts closes the circle.
  const hits = await rulesHit('src/common/errors.ts', "import { diskRole } from './clone-plan.js';\nexport const probe = diskRole;\n");
  assert.ok(hits.some((h) => h.startsWith('import-x/no-cycle')), hits.join('\n'));
});

test('imports against the direction fail lint, naming the rule', async () => {
  const up: Array<[string, string]> = [
    ['src/common/probe.ts', '../tui/format/text.js'], // common -> tui
    ['src/libvirt/probe.ts', '../link/backoff.js'], // libvirt -> link
    ['src/link/probe.ts', '../balancer/mathx.js'], // link -> balancer
    ['src/balancer/probe.ts', '../cli/args.js'], // balancer -> cli
    ['src/tui/probe.ts', '../agent/clone.js'], // tui -> agent, sideways
    ['src/common/probe.ts', '../libvirt/uri.js'], // common -> libvirt
  ];
  for (const [file, spec] of up) {
    const hits = await rulesHit(file, `import * as m from '${spec}';\nexport const probe = m;\n`);
    assert.ok(hits.some((h) => h.startsWith('import-x/no-restricted-paths')), `${file} -> ${spec}: ${hits.join('; ')}`);
  }
});

test('imports down the layers pass', async () => {
  const down: Array<[string, string]> = [
    ['src/cli/probe.ts', '../link/backoff.js'],
    ['src/tui/probe.ts', '../common/clone-plan.js'],
    ['src/agent/probe.ts', '../balancer/mathx.js'],
    ['src/link/probe.ts', '../common/errors.js'],
    ['src/libvirt/probe.ts', '../common/errors.js'],
  ];
  for (const [file, spec] of down) assert.deepEqual(await rulesHit(file, `import * as m from '${spec}';\nexport const probe = m;\n`), [], `${file} -> ${spec}`);
});
