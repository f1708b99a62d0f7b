/**
 * `vem deploy [--cluster F] [--dry-run] [--remove] NODE...`: turns nodes into fully
 * managed ones (the one-file agent, its token and hardened unit, over each node's own
 * SSH link), upgrades them in place with a rollback, or removes it all again. Nodes go
 * in parallel, one progress line each; the exit status is the number that failed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { UsageError, VemError } from '../common/errors.js';
import { defaultClusterPath, expandHome, loadClusterFile, withNodeFields } from '../link/cluster-file.js';
import { terminalPassphrase } from '../link/ssh-auth.js';
import type { NodeConfig } from '../link/types.js';
import { boolOpt, parseCommandArgs, stringOpt } from './args.js';
import { deployPaths, type DeployPaths } from './deploy-plan.js';
import { deployNode, type AgentBundle, type NodeDeployOutcome } from './deploy-run.js';

/** Where the packed package keeps the bundle and the unit (dist/src/cli/deploy.js -> dist/vem-agent.mjs, src/agent/vem-agent.service). */
export function shippedBundlePath(): string {
  return fileURLToPath(new URL('../../vem-agent.mjs', import.meta.url));
}

export function shippedUnitPath(): string {
  return fileURLToPath(new URL('../../../src/agent/vem-agent.service', import.meta.url));
}

export function readBundle(path: string): AgentBundle {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new VemError(`vem deploy: no agent bundle at ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'npm run bundle:agent makes it in a clone (a packed vem ships it), or pass --bundle FILE');
  }
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The jump host's copy of a node's token, beside the cluster file (0600 in a 0700 folder). */
export function tokenPath(clusterFile: string, node: string): string {
  return join(dirname(clusterFile), 'tokens', `${node}.token`);
}

function localToken(path: string): string {
  try {
    const t = readFileSync(path, 'utf8').trim();
    if (t.length >= 16) return t;
  } catch {
    // none yet
  }
  return randomBytes(32).toString('hex');
}

function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.vem-tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

/** One line per node: rewritten in place on a terminal, appended otherwise (upload percentages only on a terminal). */
class Progress {
  private readonly names: string[];
  private readonly text = new Map<string, string>();
  private readonly tty: boolean;

  constructor(names: string[], private readonly out: NodeJS.WriteStream) {
    this.names = names;
    this.tty = out.isTTY === true;
    const width = Math.max(...names.map((n) => n.length));
    this.pad = (n) => n.padEnd(width);
    if (this.tty) for (const n of names) out.write(`${this.pad(n)}  waiting\n`);
  }

  private readonly pad: (n: string) => string;

  set(node: string, text: string): void {
    if (this.text.get(node) === text) return;
    const wasUpload = /^uploading \d/.test(this.text.get(node) ?? '');
    this.text.set(node, text);
    if (this.tty) {
      const up = this.names.length - this.names.indexOf(node);
      this.out.write(`\x1b[${up}A\r\x1b[2K${this.pad(node)}  ${text.split('\n')[0] ?? ''}\x1b[${up}B\r`);
    } else if (!/^uploading \d/.test(text) || !wasUpload) {
      this.out.write(`${node}: ${text}\n`);
    }
  }
}

export interface DeployOptions {
  cluster: string;
  nodes: string[];
  remove: boolean;
  dryRun: boolean;
  bundlePath: string;
  paths: DeployPaths;
  waitMs: number;
  knownHostsPath?: string;
  out?: NodeJS.WriteStream;
  /** Tests cut the link mid-upload here. */
  onUpload?: (node: string, sent: number, total: number) => void;
}

/** The whole command, callable from tests: returns each node's outcome (the exit status is the count of failed ones). */
export async function deploy(o: DeployOptions): Promise<NodeDeployOutcome[]> {
  const out = o.out ?? process.stdout;
  const cluster = loadClusterFile(o.cluster);
  const missing = o.nodes.filter((n) => !cluster.nodes.some((c) => c.name === n));
  if (missing.length > 0) throw new UsageError(`vem deploy: no node named ${missing.join(', ')} in ${cluster.path}`, 'vem node list shows the names; vem node add NAME --ssh USER@HOST adds one');
  const nodes = o.nodes.map((n) => cluster.nodes.find((c) => c.name === n) as NodeConfig);
  const bundle = o.remove ? { bytes: Buffer.alloc(0), sha256: '' } : readBundle(o.bundlePath);
  let unitTemplate = '';
  if (!o.remove) {
    try {
      unitTemplate = readFileSync(shippedUnitPath(), 'utf8');
    } catch (e) {
      throw new VemError(`vem deploy: the unit template ${shippedUnitPath()} is missing (${(e as Error).message})`, 'reinstall vem; the package ships src/agent/vem-agent.service');
    }
  }
  const progress = new Progress(nodes.map((n) => n.name), out);
  const ask = process.stdin.isTTY ? terminalPassphrase() : undefined;
  // One token per node for the whole run: the one the jump host already keeps, or a new one.
  const tokens = new Map(nodes.map((n) => [n.name, o.remove ? '' : localToken(n.tokenFile ?? tokenPath(cluster.path, n.name))]));
  const outcomes = await Promise.all(
    nodes.map(async (node): Promise<NodeDeployOutcome> => {
      try {
        const r = await deployNode({
          node,
          paths: o.paths,
          bundle,
          unitTemplate,
          token: tokens.get(node.name) ?? '',
          remove: o.remove,
          dryRun: o.dryRun,
          waitMs: o.waitMs,
          ssh: { ...(o.knownHostsPath ? { knownHostsPath: o.knownHostsPath } : {}), ...(ask ? { askPassphrase: ask } : {}) },
          onStep: (t) => progress.set(node.name, t),
          ...(o.onUpload ? { onUpload: (s: number, t: number) => o.onUpload?.(node.name, s, t) } : {}),
        });
        progress.set(node.name, r.ok ? 'done' : 'FAILED');
        return r;
      } catch (e) {
        progress.set(node.name, 'FAILED');
        return { node: node.name, ok: false, line: `${node.name}: ${(e as Error).message}` };
      }
    }),
  );
  // The cluster file is written once, after every node is done (never two writers).
  let text = readFileSync(cluster.path, 'utf8');
  const entries: string[] = [];
  for (const r of outcomes) {
    const node = nodes.find((n) => n.name === r.node) as NodeConfig;
    if (o.dryRun || !r.ok) continue;
    const tokFile = node.tokenFile ?? tokenPath(cluster.path, node.name);
    if (r.mode === 'remove') {
      text = withNodeFields(text, node.name, { agent: 'none', 'token-file': undefined }, cluster.path);
      if (!node.tokenFile || node.tokenFile === tokenPath(cluster.path, node.name)) rmSync(tokFile, { force: true });
    } else if (r.socket) {
      writeAtomically(tokFile, `${tokens.get(node.name) ?? ''}\n`);
      text = withNodeFields(text, node.name, { agent: `unix:${r.socket}`, 'token-file': tokFile }, cluster.path);
      const entry = { name: node.name, ssh: node.ssh, ...(node.identity ? { identity: node.identity } : {}), agent: `unix:${r.socket}`, 'token-file': tokFile, ...(node.uri ? { uri: node.uri } : {}) };
      entries.push(stringify([entry]).trimEnd().split('\n').map((l) => `  ${l}`).join('\n'));
    }
  }
  if (!o.dryRun && outcomes.some((r) => r.ok && (r.mode === 'remove' || r.socket))) writeAtomically(cluster.path, text);
  for (const r of outcomes) out.write(`${r.line}\n`);
  if (entries.length > 0) out.write(`cluster file ${cluster.path} now has:\nnodes:\n${entries.join('\n')}\n`);
  return outcomes;
}

export async function run(args: string[]): Promise<number> {
  const p = parseCommandArgs('deploy', args, {
    cluster: { type: 'string' },
    'dry-run': { type: 'boolean' },
    remove: { type: 'boolean' },
    bundle: { type: 'string' },
    'node-prefix': { type: 'string' },
    'node-path': { type: 'string' },
    wait: { type: 'string' },
  });
  if (p.positionals.length === 0) throw new UsageError('vem deploy: which NODE? (one or more names from the cluster file)', "see 'vem deploy --help'");
  const prefix = stringOpt(p, 'node-prefix');
  if (prefix !== undefined && !prefix.startsWith('/')) throw new UsageError(`vem deploy: --node-prefix ${prefix}: an absolute path on the node, please`);
  const wait = Number(stringOpt(p, 'wait') ?? '20');
  if (!Number.isFinite(wait) || wait < 1 || wait > 600) throw new UsageError('vem deploy: --wait takes seconds, 1 to 600');
  const np = stringOpt(p, 'node-path');
  const outcomes = await deploy({
    cluster: resolve(expandHome(stringOpt(p, 'cluster') ?? defaultClusterPath())),
    nodes: [...new Set(p.positionals)],
    remove: boolOpt(p, 'remove'),
    dryRun: boolOpt(p, 'dry-run'),
    bundlePath: resolve(stringOpt(p, 'bundle') ?? shippedBundlePath()),
    paths: deployPaths({ ...(prefix !== undefined ? { prefix } : {}), ...(np !== undefined ? { searchPath: np } : {}) }),
    waitMs: wait * 1000,
  });
  return Math.min(125, outcomes.filter((r) => !r.ok).length);
}
