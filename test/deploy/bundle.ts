/**
 * Bundles the node agent into one file with no runtime dependencies that runs on
 * Node.js 18+ (Debian 12's own nodejs): `node dist/test/deploy/bundle.js [OUT]`,
 * default dist/vem-agent.mjs. It lives under test/ because it needs esbuild, a dev
 * dependency; `npm pack` runs it (prepack) and ships only its output.
 */
import { build, type Plugin } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'src', 'cli', 'agent.ts'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error('repository root not found');
}

export const agentBundlePath = (): string => join(repoRoot(), 'dist', 'vem-agent.mjs');

/** The oldest Node.js the bundle is built for (esbuild lowers syntax to it). */
export const BUNDLE_NODE_TARGET = 'node18';

/**
 * version.ts reads package.json next to dist/; a single file on a node has none,
 * so the bundle gets the version as a constant instead.
 */
function fixedVersion(v: string): Plugin {
  return {
    name: 'vem-fixed-version',
    setup(b) {
      b.onResolve({ filter: /\/version\.js$/ }, (args) =>
        args.importer.includes(join('src', 'cli')) ? { path: 'vem-version', namespace: 'vem-version' } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'vem-version' }, () => ({
        contents: `export function version() { return ${JSON.stringify(v)}; }`,
        loader: 'js',
      }));
    },
  };
}

export async function bundleAgent(outfile = agentBundlePath()): Promise<string> {
  const root = repoRoot();
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  // The entry is the `vem agent` subcommand with the same error printing as vem itself.
  const entry = [
    "import { run } from './src/cli/agent.ts';",
    "import { UsageError, VemError } from './src/common/errors.ts';",
    'run(process.argv.slice(2)).then((c) => { process.exitCode = c; }, (e) => {',
    '  if (e instanceof VemError) { process.stderr.write(`${e.message}${e.hint ? ` (${e.hint})` : ""}\\n`); process.exitCode = e instanceof UsageError ? 2 : 1; }',
    '  else { process.stderr.write(`vem-agent: ${e && e.stack ? e.stack : String(e)}\\n`); process.exitCode = 1; }',
    '});',
  ].join('\n');
  await build({
    stdin: { contents: entry, resolveDir: root, loader: 'ts', sourcefile: 'vem-agent-entry.ts' },
    bundle: true,
    platform: 'node',
    target: BUNDLE_NODE_TARGET,
    format: 'esm',
    outfile,
    // Some CommonJS dependencies call require(); ESM output needs one made for it.
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __vemCreateRequire } from 'node:module';\nconst require = __vemCreateRequire(import.meta.url);",
    },
    plugins: [fixedVersion(pkg.version)],
    legalComments: 'none',
    logLevel: 'warning',
  });
  return outfile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  bundleAgent(process.argv[2]).then(
    (f) => process.stdout.write(`${f}\n`),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}

let fresh: Promise<string> | undefined;
/**
 * The bundle built from this tree's source, once per test process. A test that runs
 * `vem deploy` must not rely on an earlier test (or an older tree) having left
 * dist/vem-agent.mjs behind: on a clean clone the first such test found none.
 */
export function ensureAgentBundle(): Promise<string> {
  fresh ??= bundleAgent();
  return fresh;
}
