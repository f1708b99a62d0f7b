/** `vem call (--agent URL | NODE) METHOD [ARG ...]`: one XML-RPC call through the transport, the result as JSON. */
import { readFileSync } from 'node:fs';
import { UsageError, VemError } from '../common/errors.js';
import { formatResultJson, parseCliArgs } from '../common/xmlrpc/cli.js';
import { XmlRpcFault } from '../common/xmlrpc/codec.js';
import { loadClusterFile, openDirectLink, openLink, terminalPassphrase, type NodeLink } from '../link/index.js';
import { parseCommandArgs, stringOpt } from './args.js';

const OPTIONS = {
  agent: { type: 'string' },
  cluster: { type: 'string' },
  'token-file': { type: 'string' },
} as const;

const VALUE_OPTIONS = new Set(Object.keys(OPTIONS).map((k) => `--${k}`));

/** Options come before the method; everything after METHOD is an argument, even when it starts with '-'. */
export function splitCallArgs(args: string[]): { opts: string[]; rest: string[] } {
  const opts: string[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || /^-\d/.test(a)) break;
    opts.push(a);
    if (VALUE_OPTIONS.has(a) && i + 1 < args.length) opts.push(args[++i] as string);
  }
  return { opts, rest: args.slice(i) };
}

export async function run(args: string[]): Promise<number> {
  const { opts, rest } = splitCallArgs(args);
  const p = parseCommandArgs('call', opts, OPTIONS, false);
  const agentUrl = stringOpt(p, 'agent');
  const tokenFile = stringOpt(p, 'token-file');
  let token: string | undefined;
  if (tokenFile !== undefined) {
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
    } catch (e) {
      throw new VemError(`vem call: cannot read --token-file ${tokenFile}: ${(e as Error).message}`);
    }
  }
  let link: NodeLink;
  let method: string | undefined;
  let params: string[];
  if (agentUrl !== undefined) {
    [method, ...params] = rest;
    link = openDirectLink('agent', agentUrl, token);
  } else {
    const [nodeName, m, ...ps] = rest;
    if (nodeName === undefined) throw new UsageError('vem call: which node? (NODE from the cluster file, or --agent URL)', "see 'vem call --help'");
    method = m;
    params = ps;
    const cluster = loadClusterFile(stringOpt(p, 'cluster'));
    const node = cluster.nodes.find((n) => n.name === nodeName);
    if (!node) throw new UsageError(`vem call: no node '${nodeName}' in ${cluster.path}`, `nodes: ${cluster.nodes.map((n) => n.name).join(', ') || 'none'}`);
    link = openLink(token !== undefined ? { ...node, tokenFile: tokenFile } : node, { askPassphrase: terminalPassphrase() });
  }
  if (method === undefined) throw new UsageError('vem call: which METHOD? (try system.listMethods)', "see 'vem call --help'");
  try {
    const result = await link.call(method, ...parseCliArgs(params));
    process.stdout.write(formatResultJson(result) + '\n');
    return 0;
  } catch (e) {
    if (e instanceof XmlRpcFault) throw new VemError(`vem call: ${method}: fault ${e.code}: ${e.message}`);
    const pending = link.pendingHostKey;
    if (pending) throw new VemError(`vem call: ${(e as Error).message}`, `check ${pending.fingerprint} with the node's admin, then trust it in 'vem tui' or add this line to ~/.ssh/known_hosts: ${pending.knownHostsLine}`);
    throw e instanceof VemError ? e : new VemError(`vem call: ${(e as Error).message}`);
  } finally {
    await link.close();
  }
}
