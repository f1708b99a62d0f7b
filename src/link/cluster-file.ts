/** The cluster file (~/.config/vem/cluster.yaml): which nodes exist and how to reach each one's agent. */
import { migrateUriProblem } from './migrate-uri.js';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isScalar, isSeq, type Node as YamlNode, type YAMLMap } from 'yaml';
import { VemError } from '../common/errors.js';
import { splitUserinfo } from '../common/xmlrpc/auth.js';
import { parseLibvirtUri, type LibvirtUri } from '../libvirt/uri.js';
import type { AgentAddress, ClusterConfig, NodeConfig } from './types.js';

/** Where `vem agent` listens when given neither --listen nor --socket. */
export const DEFAULT_AGENT: AgentAddress = { kind: 'unix', path: '/run/vem/agent.sock' };

export function defaultClusterPath(): string {
  return join(homedir(), '.config', 'vem', 'cluster.yaml');
}

export function expandHome(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return join(homedir(), p.slice(2));
  return p;
}

/** A cluster file problem: names the file, line and field so the admin can fix it in one go. */
export class ClusterFileError extends VemError {}

const NODE_KEYS = new Set(['name', 'ssh', 'identity', 'agent', 'labels', 'url', 'token-file', 'ca-file', 'migrate-uri', 'uri']);
const TOP_KEYS = new Set(['name', 'nodes']);

/** `user@host[:port]`, `host[:port]`, `[v6]:port` or a bare alias; null when it cannot be any of them. */
export function parseSshSpec(s: string): { user?: string; host: string; port?: number } | null {
  if (s.length === 0 || /\s/.test(s)) return null;
  let rest = s;
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (user.length === 0 || user.includes('@')) return null;
  }
  let host = rest;
  let port: number | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (v6) {
    host = v6[1] ?? '';
    if (v6[2] !== undefined) port = Number(v6[2]);
  } else if (rest.includes(':')) {
    const i = rest.lastIndexOf(':');
    host = rest.slice(0, i);
    const p = rest.slice(i + 1);
    if (!/^\d+$/.test(p) || host.includes(':')) return null;
    port = Number(p);
  }
  if (host.length === 0 || !/^[A-Za-z0-9._:%-]+$/.test(host)) return null;
  if (port !== undefined && (port < 1 || port > 65535)) return null;
  return { ...(user !== undefined ? { user } : {}), host, ...(port !== undefined ? { port } : {}) };
}

/** `unix:/abs/path` or `127.0.0.1:PORT` (`host:port`, `[v6]:port`); null if neither. */
export function parseAgentAddress(s: string): AgentAddress | null {
  if (s.startsWith('unix:')) {
    const path = s.slice(5);
    return path.startsWith('/') ? { kind: 'unix', path } : null;
  }
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(s);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { kind: 'tcp', host: m[1] ?? m[2] ?? '', port };
}

/** Parses cluster-file text. Pure: `fileName` only appears in messages. */
export function parseClusterFile(text: string, fileName = 'cluster.yaml'): ClusterConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const lineOf = (n: YamlNode | null | undefined): number | undefined => (n?.range ? lc.linePos(n.range[0]).line : undefined);
  const fail = (n: YamlNode | null | undefined, field: string, msg: string): never => {
    const line = lineOf(n);
    throw new ClusterFileError(`${fileName}${line !== undefined ? ` line ${line}` : ''}: ${field}: ${msg}`, 'see the cluster file format in README.md');
  };
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0].line ?? lc.linePos(first.pos[0]).line;
    throw new ClusterFileError(`${fileName}${line !== undefined ? ` line ${line}` : ''}: not valid YAML: ${first.message.split('\n')[0]}`);
  }
  const root = doc.contents;
  if (!isMap(root)) fail(root, 'top level', "expected a mapping with a 'nodes:' list");
  const top = root as YAMLMap;
  let clusterName: string | undefined;
  let nodesNode: YamlNode | null = null;
  for (const pair of top.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!TOP_KEYS.has(key)) fail(pair.key as YamlNode, key || 'key', `unknown field (expected: ${[...TOP_KEYS].join(', ')})`);
    if (key === 'name') clusterName = scalarString(pair.value as YamlNode, 'name', fail);
    if (key === 'nodes') nodesNode = pair.value as YamlNode;
  }
  if (!isSeq(nodesNode)) return fail(nodesNode ?? root, 'nodes', 'expected a list of nodes');
  const nodes: NodeConfig[] = [];
  const seen = new Map<string, number>();
  nodesNode.items.forEach((item, i) => {
    const where = `nodes[${i}]`;
    const n = item as YamlNode;
    if (!isMap(n)) return fail(n, where, 'expected a mapping (name, ssh, agent, ...)');
    const fields = new Map<string, YamlNode>();
    for (const pair of n.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!NODE_KEYS.has(key)) fail(pair.key as YamlNode, `${where}.${key || 'key'}`, `unknown field (expected: ${[...NODE_KEYS].join(', ')})`);
      fields.set(key, pair.value as YamlNode);
    }
    const nameNode = fields.get('name');
    if (!nameNode) return fail(n, `${where}.name`, 'missing (every node needs a name)');
    const name = scalarString(nameNode, `${where}.name`, fail);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) fail(nameNode, `${where}.name`, 'letters, digits, ".", "_" and "-" only');
    const prev = seen.get(name);
    if (prev !== undefined) fail(nameNode, `${where}.name`, `'${name}' is already the name of nodes[${prev}]`);
    seen.set(name, i);
    const node: NodeConfig = { name, agent: DEFAULT_AGENT, labels: [] };
    const sshNode = fields.get('ssh');
    const urlNode = fields.get('url');
    if (sshNode && urlNode) fail(urlNode, `${where}.url`, "a node is reached either by 'ssh' or by 'url', not both");
    if (!sshNode && !urlNode) fail(n, where, "needs 'ssh' (user@host[:port] or an ~/.ssh/config alias) or 'url' (https://...)");
    if (sshNode) {
      const ssh = scalarString(sshNode, `${where}.ssh`, fail);
      if (!parseSshSpec(ssh)) fail(sshNode, `${where}.ssh`, 'expected user@host[:port] or an ~/.ssh/config alias');
      node.ssh = ssh;
    }
    if (urlNode) {
      const url = scalarString(urlNode, `${where}.url`, fail);
      let u: URL | undefined;
      try {
        // A token in the userinfo may hold '/ + =' (base64): it is sent in a header, so only the rest must parse.
        u = new URL(splitUserinfo(url).url);
      } catch {
        u = undefined;
      }
      if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) fail(urlNode, `${where}.url`, 'expected an http:// or https:// URL');
      node.url = url;
    }
    const idNode = fields.get('identity');
    if (idNode) node.identity = expandHome(scalarString(idNode, `${where}.identity`, fail));
    const tokNode = fields.get('token-file');
    if (tokNode) node.tokenFile = expandHome(scalarString(tokNode, `${where}.token-file`, fail));
    const caNode = fields.get('ca-file');
    if (caNode) node.caFile = expandHome(scalarString(caNode, `${where}.ca-file`, fail));
    const agentNode = fields.get('agent');
    if (agentNode) {
      const text = scalarString(agentNode, `${where}.agent`, fail);
      if (text === 'none') {
        if (!sshNode) fail(agentNode, `${where}.agent`, "an agentless node ('agent: none') is reached through 'ssh', not 'url'");
        node.agentless = true;
      } else {
        const a = parseAgentAddress(text);
        if (!a) fail(agentNode, `${where}.agent`, "expected unix:/path/to/agent.sock, 127.0.0.1:PORT (as seen on the node), or none (no resident agent)");
        else node.agent = a;
      }
    }
    const uriNode = fields.get('uri');
    if (uriNode) {
      const uri = scalarString(uriNode, `${where}.uri`, fail);
      const problem = nodeUriProblem(uri);
      if (problem) fail(uriNode, `${where}.uri`, problem);
      node.uri = uri;
    }
    const muNode = fields.get('migrate-uri');
    if (muNode) {
      const mu = scalarString(muNode, `${where}.migrate-uri`, fail);
      const problem = migrateUriProblem(mu);
      if (problem) fail(muNode, `${where}.migrate-uri`, problem);
      node.migrateUri = mu;
    }
    const labelsNode = fields.get('labels');
    if (labelsNode) {
      if (!isSeq(labelsNode)) fail(labelsNode, `${where}.labels`, 'expected a list, e.g. [rack1, ssd]');
      else node.labels = labelsNode.items.map((l, j) => scalarString(l as YamlNode, `${where}.labels[${j}]`, fail));
    }
    nodes.push(node);
  });
  return { path: fileName, ...(clusterName !== undefined ? { name: clusterName } : {}), nodes };
}

/** A node's own libvirt URI must be one the node opens locally (qemu:///system, lxc:///, test:///PATH): the SSH link is the transport. */
export function nodeUriProblem(uri: string): string | undefined {
  let u: LibvirtUri;
  try {
    u = parseLibvirtUri(uri);
  } catch (e) {
    return (e as Error).message;
  }
  if (u.host !== null || u.transport !== 'unix') return `expected a URI as seen on the node, without host or transport (e.g. qemu:///system), not ${uri}`;
  return undefined;
}

function scalarString(n: YamlNode | null | undefined, field: string, fail: (n: YamlNode | null | undefined, f: string, m: string) => never): string {
  if (!isScalar(n) || n.value === null || typeof n.value === 'object') return fail(n, field, 'expected a value');
  return String(n.value);
}

/** Reads a node's secret-ish side files (token, CA); a problem is returned, not thrown, so one bad node does not stop the others. */
export function readNodeFiles(node: NodeConfig): { token?: string; ca?: string; problem?: string } {
  const out: { token?: string; ca?: string; problem?: string } = {};
  for (const [key, path] of [['token', node.tokenFile], ['ca', node.caFile]] as const) {
    if (path === undefined) continue;
    try {
      const text = readFileSync(path, 'utf8');
      if (key === 'token') out.token = text.trim();
      else out.ca = text;
    } catch (e) {
      out.problem = `cannot read ${key === 'token' ? 'token-file' : 'ca-file'} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    }
  }
  return out;
}

/** Reads and parses the cluster file; a missing file gets a message saying how to make one. */
export function loadClusterFile(path?: string): ClusterConfig {
  const p = resolve(expandHome(path ?? defaultClusterPath()));
  let text: string;
  try {
    text = readFileSync(p, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ClusterFileError(`no cluster file at ${p}`, "create it with a 'nodes:' list (name, ssh, agent), or pass --cluster FILE; 'vem demo' needs none");
    }
    throw new ClusterFileError(`cannot read the cluster file ${p}: ${(e as Error).message}`);
  }
  const cfg = parseClusterFile(text, p);
  return cfg;
}

/** A new node's entry as `vem node add` writes it. */
export interface NewNodeEntry {
  name: string;
  ssh: string;
  identity?: string;
  agentless?: boolean;
  uri?: string;
}

/**
 * The cluster file's text with one node appended (a new file when `text` is undefined);
 * comments and layout of the rest are kept. The result is parsed again, so a bad
 * entry is refused before anything is written.
 */
export function withNodeAdded(text: string | undefined, e: NewNodeEntry, fileName = 'cluster.yaml'): string {
  const doc = parseDocument(text ?? 'nodes: []\n');
  if (text !== undefined) parseClusterFile(text, fileName); // refuse to edit a file that is already wrong
  let nodes = doc.get('nodes');
  if (!isSeq(nodes)) {
    doc.set('nodes', doc.createNode([]));
    nodes = doc.get('nodes');
  }
  const seq = nodes as YAMLSeqLike;
  if (seq.items.some((n) => isMap(n) && String((n as YAMLMap).get('name')) === e.name)) throw new ClusterFileError(`${fileName}: a node named '${e.name}' is already there`, `vem node remove ${e.name} first, or pick another name`);
  const entry: Record<string, string> = { name: e.name, ssh: e.ssh };
  if (e.identity !== undefined) entry['identity'] = e.identity;
  if (e.agentless) entry['agent'] = 'none';
  if (e.uri !== undefined) entry['uri'] = e.uri;
  seq.flow = false;
  seq.items.push(doc.createNode(entry));
  const out = doc.toString();
  parseClusterFile(out, fileName);
  return out;
}

/** The cluster file's text without the named node; throws when there is no such node. */
export function withNodeRemoved(text: string, name: string, fileName = 'cluster.yaml'): string {
  parseClusterFile(text, fileName);
  const doc = parseDocument(text);
  const seq = doc.get('nodes') as YAMLSeqLike;
  const i = seq.items.findIndex((n) => isMap(n) && String((n as YAMLMap).get('name')) === name);
  if (i < 0) throw new ClusterFileError(`${fileName}: no node named '${name}'`, 'vem node list shows the names');
  seq.items.splice(i, 1);
  return doc.toString();
}

/**
 * The cluster file's text with fields of one node set (a string) or dropped (undefined),
 * the rest kept as it was; `vem deploy` points a node at the agent it installed this way.
 */
export function withNodeFields(text: string, name: string, fields: Record<string, string | undefined>, fileName = 'cluster.yaml'): string {
  parseClusterFile(text, fileName);
  const doc = parseDocument(text);
  const seq = doc.get('nodes') as YAMLSeqLike;
  const n = seq.items.find((x) => isMap(x) && String((x as YAMLMap).get('name')) === name) as YAMLMap | undefined;
  if (!n) throw new ClusterFileError(`${fileName}: no node named '${name}'`, 'vem node list shows the names');
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) n.delete(k);
    else n.set(k, v);
  }
  const out = doc.toString();
  parseClusterFile(out, fileName);
  return out;
}

interface YAMLSeqLike {
  items: unknown[];
  flow?: boolean;
}
