/**
 * `vem node add|list|remove`: the cluster file edited from the shell. `add` connects to
 * the node first and shows its host key's fingerprint: an unknown key is trusted only
 * when the admin says so (at the prompt, or --trust FINGERPRINT), as the dashboard's T does.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { dirname, resolve } from 'node:path';
import { UsageError, VemError } from '../common/errors.js';
import { defaultClusterPath, expandHome, loadClusterFile, parseSshSpec, withNodeAdded, withNodeRemoved } from '../link/cluster-file.js';
import { openLink, terminalPassphrase, type NodeLink, type LinkState } from '../link/index.js';
import { boolOpt, parseCommandArgs, stringOpt } from './args.js';

function clusterPath(p: string | undefined): string {
  return resolve(expandHome(p ?? defaultClusterPath()));
}

/** Written beside and renamed over, so a crash leaves the old file or the new one, never half. */
function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.vem-tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

function settle(link: NodeLink, ms: number): Promise<LinkState> {
  if (link.state !== 'connecting') return Promise.resolve(link.state);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(link.state), ms);
    const cb = (s: LinkState): void => {
      if (s === 'connecting') return;
      clearTimeout(t);
      link.off?.('state', cb);
      resolve(s);
    };
    link.on('state', cb);
  });
}

async function add(args: string[]): Promise<number> {
  const p = parseCommandArgs('node', args, { cluster: { type: 'string' }, ssh: { type: 'string' }, identity: { type: 'string' }, agent: { type: 'string' }, uri: { type: 'string' }, trust: { type: 'string' } }, true);
  const [name] = p.positionals;
  const ssh = stringOpt(p, 'ssh');
  if (name === undefined || ssh === undefined) throw new UsageError('vem node add: NAME and --ssh USER@HOST[:PORT] are needed', "see 'vem node --help'");
  if (!parseSshSpec(ssh)) throw new UsageError(`vem node add: --ssh ${ssh}: expected user@host[:port] or an ~/.ssh/config alias`);
  const agent = stringOpt(p, 'agent');
  if (agent !== undefined && agent !== 'none') throw new UsageError('vem node add: --agent takes only none (an agentless node); without it the node is expected to run vem agent (README: Install, Nodes)');
  const path = clusterPath(stringOpt(p, 'cluster'));
  const old = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  const identity = stringOpt(p, 'identity');
  const entry = { name, ssh, ...(identity !== undefined ? { identity: resolve(expandHome(identity)) } : {}), agentless: agent === 'none', ...(stringOpt(p, 'uri') !== undefined ? { uri: stringOpt(p, 'uri') as string } : {}) };
  const text = withNodeAdded(old, entry, path); // refused here, before any connection, if the entry is wrong
  // The host key is checked before the node is written: an agentless link needs nothing on the node.
  const link = openLink({ name, ssh, labels: [], agent: { kind: 'unix', path: '/run/vem/agent.sock' }, agentless: true, ...(entry.identity ? { identity: entry.identity } : {}), ...(entry.uri ? { uri: entry.uri } : {}) }, { askPassphrase: terminalPassphrase() });
  try {
    let st = await settle(link, 30_000);
    const pending = link.pendingHostKey;
    if (st === 'hostkey-unknown' && pending) {
      process.stdout.write(`node ${name}: host key ${pending.keyType} ${pending.fingerprint} (${pending.hostPattern}) is not known.\n`);
      const given = stringOpt(p, 'trust');
      let ok = given !== undefined && given === pending.fingerprint;
      if (given !== undefined && !ok) throw new VemError(`vem node add: ${name}: the host key is ${pending.fingerprint}, not ${given}; nothing written`, 'check the fingerprint with the node\'s admin (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the node)');
      if (given === undefined && process.stdin.isTTY) {
        const rl = createInterface({ input: process.stdin, output: process.stdout });
        ok = /^y(es)?$/i.test((await rl.question('Trust it and add the node? [y/N] ')).trim());
        rl.close();
      }
      if (!ok) throw new VemError(`vem node add: ${name}: host key not trusted; nothing written`, `compare ${pending.fingerprint} with the node's, then run again (at a terminal, or with --trust ${pending.fingerprint})`);
      await link.trustHostKey?.();
      st = await settle(link, 30_000);
    }
    if (st === 'hostkey-refused' || st === 'auth-failed') throw new VemError(`vem node add: ${name}: ${link.detail ?? st}; nothing written`);
    writeAtomically(path, text);
    const how = st === 'up' ? 'SSH and libvirt answer' : `SSH answers; ${link.detail ?? st}`;
    process.stdout.write(`node ${name} added to ${path} (${agent === 'none' ? 'agentless' : 'resident agent expected: install dist/vem-agent.mjs there, README: Install'}); ${how}\n`);
    return 0;
  } finally {
    await link.close();
  }
}

function list(args: string[]): number {
  const p = parseCommandArgs('node', args, { cluster: { type: 'string' }, json: { type: 'boolean' } }, false);
  const c = loadClusterFile(clusterPath(stringOpt(p, 'cluster')));
  if (boolOpt(p, 'json')) {
    process.stdout.write(JSON.stringify(c.nodes.map((n) => ({ name: n.name, ssh: n.ssh ?? null, url: n.url ?? null, agent: n.agentless ? 'none' : n.agent, uri: n.uri ?? null })), null, 2) + '\n');
    return 0;
  }
  for (const n of c.nodes) {
    const via = n.ssh ? `ssh ${n.ssh}` : `url ${n.url ?? '?'}`;
    const agent = n.agentless ? `agentless (${n.uri ?? 'qemu:///system'}; history only while vem runs, no level-1 balancing without it)` : `agent ${n.agent.kind === 'unix' ? `unix:${n.agent.path}` : `${n.agent.host}:${n.agent.port}`}`;
    process.stdout.write(`${n.name}\t${via}\t${agent}\n`);
  }
  return 0;
}

function remove(args: string[]): number {
  const p = parseCommandArgs('node', args, { cluster: { type: 'string' } }, true);
  const [name] = p.positionals;
  if (name === undefined) throw new UsageError('vem node remove: which NAME?');
  const path = clusterPath(stringOpt(p, 'cluster'));
  loadClusterFile(path);
  writeAtomically(path, withNodeRemoved(readFileSync(path, 'utf8'), name, path));
  process.stdout.write(`node ${name} removed from ${path} (nothing on the node was touched: a resident agent there keeps running until you stop it)\n`);
  return 0;
}

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'add') return add(rest);
  if (sub === 'list') return list(rest);
  if (sub === 'remove') return remove(rest);
  throw new UsageError(`vem node: ${sub === undefined ? 'add, list or remove?' : `unknown subcommand '${sub}'`}`, "see 'vem node --help'");
}
