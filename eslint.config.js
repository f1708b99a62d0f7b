// Flat config: typescript-eslint's recommended rules on src/ and test/, and the
// map of src/ (no import cycles; dependencies point down the layers below).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const root = dirname(fileURLToPath(import.meta.url));

// The layers of src/, top to bottom: a part may import its own layer's
// neighbours only where `sideways` allows, and any layer below it, never above.
// The entry points (src/cli.ts, src/cli/guest-agent-main.ts) sit in the top layer.
const LAYERS = [
  ['src/cli', 'src/cli.ts'],
  ['src/tui', 'src/agent', 'src/balancer', 'src/guest-agent'],
  ['src/api', 'src/link'],
  ['src/libvirt', 'src/common'],
];
// Sideways imports that are allowed: the agent runs the balancer's pure level-1
// logic and the dashboard its level-2 and evacuation planners; libvirt uses common's error types; the typed client joins api's
// declarations to a link, whichever side it sits on (no-cycle still applies).
const SIDEWAYS = new Set(['src/agent>src/balancer', 'src/tui>src/balancer', 'src/libvirt>src/common', 'src/link>src/api', 'src/api>src/link']);

const zones = [];
LAYERS.forEach((layer, i) => {
  const above = LAYERS.slice(0, i).flat();
  for (const target of layer) {
    if (target.endsWith('.ts')) continue;
    const sideways = layer.filter((p) => p !== target && !p.endsWith('.ts') && !SIDEWAYS.has(`${target}>${p}`));
    const from = [...above, ...sideways];
    if (from.length === 0) continue;
    zones.push({
      target,
      from,
      message: `dependencies point down: cli -> tui/agent/balancer/guest-agent -> api/link -> libvirt/common (see eslint.config.js); move the shared code down instead`,
    });
  }
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // import-x reads .ts dependencies (for no-cycle) only with these; its typescript preset's, without its rules.
      'import-x/extensions': importX.flatConfigs.typescript.settings['import-x/extensions'],
      'import-x/parsers': importX.flatConfigs.typescript.settings['import-x/parsers'],
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: join(root, 'tsconfig.json') })],
    },
    rules: {
      // Type-only imports are erased at build time and do not count as a cycle;
      // nor does a lazy import() (the CLI's command table loads each command on
      // demand, and a command reads its usage back from the table).
      'import-x/no-cycle': ['error', { ignoreExternal: true, allowUnsafeDynamicCyclicDependency: true }],
      'import-x/no-restricted-paths': ['error', { basePath: root, zones }],
    },
  },
);
