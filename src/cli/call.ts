/** `vem call (--agent URL | NODE) METHOD [ARG ...]`: one XML-RPC call through the transport, the result as JSON. */
import { readFileSync } from 'node:fs';
import { UsageError, VemError } from '../common/errors.js';
import { isLoopbackHost, redactUrls, splitUserinfo } from '../common/xmlrpc/auth.js';
import { formatResultJson, parseCliArgs } from '../common/xmlrpc/cli.js';
import { XmlRpcHttpError } from '../common/xmlrpc/client.js';
import { XmlRpcFault } from '../common/xmlrpc/codec.js';
import type { XmlRpcValue } from '../common/xmlrpc/value.js';
import { loadClusterFile, openDirectLink, openLink, terminalPassphrase, type NodeLink } from '../link/index.js';
import { parseCommandArgs, stringOpt, boolOpt } from './args.js';

const OPTIONS = {
  agent: { type: 'string' },
  cluster: { type: 'string' },
  'token-file': { type: 'string' },
  'ca-file': { type: 'string' },
  raw: { type: 'boolean' },
} as const;

const VALUE_OPTIONS = new Set(Object.entries(OPTIONS).filter(([, o]) => o.type === 'string').map(([k]) => `--${k}`));
const ALL_OPTIONS = new Set(Object.keys(OPTIONS).map((k) => `--${k}`));

/**
 * Options anywhere (as `--help` shows them: `vem call n1 --cluster F node.info` works), up to a `--`.
 * An unknown dash word before METHOD is a mistake; after METHOD it is an argument, as are negative numbers.
 */
export function splitCallArgs(args: string[]): { opts: string[]; rest: string[] } {
  const opts: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') {
      rest.push(...args.slice(i + 1));
      break;
    }
    const flag = a.split('=')[0] as string;
    if (ALL_OPTIONS.has(flag)) {
      opts.push(a);
      if (VALUE_OPTIONS.has(a) && i + 1 < args.length) opts.push(args[++i] as string);
    } else if (a.startsWith('-') && !/^-\d/.test(a) && rest.length < 2) {
      opts.push(a); // the parser names it as an unknown option
    } else rest.push(a);
  }
  return { opts, rest };
}

/**
 * An --agent address in any form the cluster file takes: http(s)://HOST:PORT/, HOST:PORT
 * (plain HTTP on loopback; HTTPS elsewhere, since the agent only serves TLS there), unix:/path or /path.
 */
export function agentAddress(spec: string): string {
  const s = spec.trim();
  if (s.startsWith('unix:')) return s;
  if (s.startsWith('/')) return `unix:${s}`;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return s;
  const m = /^(\[[^\]]+\]|[^:/@\s[\]]+):(\d{1,5})\/?$/.exec(s);
  if (m && Number(m[2]) <= 65535) return `${isLoopbackHost(m[1] as string) ? 'http' : 'https'}://${m[1] as string}:${m[2] as string}/`;
  throw new UsageError(`vem call: --agent wants http(s)://HOST:PORT/, HOST:PORT or unix:/path, got '${redactUrls(s)}'`);
}

function readFileOpt(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new VemError(`vem call: cannot read ${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** A transport failure in words: what was reached, what it said, and what to check. */
export function explainCallError(e: unknown, where: string): VemError {
  if (e instanceof XmlRpcHttpError) {
    const what = `vem call: ${where} answered ${e.message}`;
    if (e.status === 401 || e.status === 403) return new VemError(what, 'the agent refused the token: check --token-file (or the node\'s token-file) against the agent\'s');
    if (e.html) return new VemError(`${what}, not XML-RPC`, 'that is a web server, not a vem agent: check the port (vem agent prints the URL it serves)');
    if (e.status === 404) return new VemError(`${what}: nothing answers XML-RPC at that path`, 'a vem agent serves at /; check the URL and the port');
    return new VemError(what, 'is that a vem agent? (vem agent prints the URL it serves)');
  }
  const msg = tidy(redactUrls(e instanceof Error ? e.message : String(e)));
  const hint = hintFor(msg);
  return new VemError(`vem call: ${msg}`, hint ?? (e instanceof VemError ? e.hint : undefined));
}

/** OpenSSL's multi-line record dump down to its reason (`TLS error: wrong version number`), on one line. */
function tidy(msg: string): string {
  return msg
    .replace(/(?:write |read )?EPROTO\s+[0-9A-F]+:error:[0-9A-F]+:SSL routines:[^:]*:([^:]+):\S*/g, 'TLS error: $1')
    .replace(/\s+/g, ' ')
    .trim();
}

function hintFor(msg: string): string | undefined {
  if (/wrong version number|packet length too long|EPROTO/i.test(msg)) {
    return 'the TLS handshake failed: the agent there speaks plain HTTP; use http:// (the agent serves HTTPS only with --tls-cert/--tls-key)';
  }
  if (/self[- ]signed|unable to (verify|get local issuer)|UNABLE_TO_VERIFY|DEPTH_ZERO|CERT_UNTRUSTED/i.test(msg)) {
    return "the agent's certificate is not signed by a CA this machine trusts: give --ca-file CA.pem (or the cluster file's ca-file)";
  }
  if (/ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate|altnames/i.test(msg)) return "the certificate does not name this host: use the name it was issued for";
  if (/ECONNREFUSED/.test(msg)) return 'nothing listens there: is vem agent running, and on this address? (it prints the URL it serves)';
  if (/socket hang up|ECONNRESET/.test(msg)) return 'the connection was closed before an answer: an HTTPS agent reached with http://? try https://';
  if (/ENOENT/.test(msg)) return 'no socket at that path: is vem agent running with --socket PATH?';
  if (/EACCES/.test(msg)) return 'permission denied: the agent socket is 0600, owned by the user running the agent';
  if (/ETIMEDOUT|no answer within/.test(msg)) return 'no answer in time: a firewall, or the wrong host';
  return undefined;
}

function output(result: XmlRpcValue, raw: boolean): string {
  if (raw && typeof result === 'string') return result.endsWith('\n') ? result : `${result}\n`;
  if (raw && Buffer.isBuffer(result)) return result.toString('utf8');
  return formatResultJson(result) + '\n';
}

export async function run(args: string[]): Promise<number> {
  const { opts, rest } = splitCallArgs(args);
  const p = parseCommandArgs('call', opts, OPTIONS, false);
  const agentSpec = stringOpt(p, 'agent');
  const tokenFile = stringOpt(p, 'token-file');
  const caFile = stringOpt(p, 'ca-file');
  const token = tokenFile !== undefined ? readFileOpt('--token-file', tokenFile).trim() : undefined;
  let link: NodeLink;
  let where: string;
  let method: string | undefined;
  let params: string[];
  if (agentSpec !== undefined) {
    [method, ...params] = rest;
    // A token in the URL (any characters, even '/ + =') travels in the header like --token-file's.
    const split = splitUserinfo(agentAddress(agentSpec));
    where = split.url;
    link = openDirectLink('agent', split.url, token ?? split.token, caFile !== undefined ? { ca: readFileOpt('--ca-file', caFile) } : {});
  } else {
    const [nodeName, m, ...ps] = rest;
    if (nodeName === undefined) throw new UsageError('vem call: which node? (NODE from the cluster file, or --agent URL)', "see 'vem call --help'");
    method = m;
    params = ps;
    const cluster = loadClusterFile(stringOpt(p, 'cluster'));
    const node = cluster.nodes.find((n) => n.name === nodeName);
    if (!node) throw new UsageError(`vem call: no node '${nodeName}' in ${cluster.path}`, `nodes: ${cluster.nodes.map((n) => n.name).join(', ') || 'none'}`);
    where = `node ${node.name}`;
    link = openLink({ ...node, ...(tokenFile !== undefined ? { tokenFile } : {}), ...(caFile !== undefined ? { caFile } : {}) }, { askPassphrase: terminalPassphrase() });
  }
  if (method === undefined) throw new UsageError('vem call: which METHOD? (try system.listMethods)', "see 'vem call --help'");
  try {
    const result = await link.call(method, ...parseCliArgs(params));
    process.stdout.write(output(result, boolOpt(p, 'raw')));
    return 0;
  } catch (e) {
    if (e instanceof XmlRpcFault) throw new VemError(`vem call: ${method}: fault ${e.code}: ${redactUrls(e.message)}`);
    const pending = link.pendingHostKey;
    if (pending) throw new VemError(`vem call: ${redactUrls((e as Error).message)}`, `check ${pending.fingerprint} with the node's admin, then trust it in 'vem tui' or add this line to ~/.ssh/known_hosts: ${pending.knownHostsLine}`);
    throw explainCallError(e, where);
  } finally {
    await link.close();
  }
}
