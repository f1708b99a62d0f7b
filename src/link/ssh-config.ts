/** Resolves a node's `ssh:` value through ~/.ssh/config the way ssh does: HostName, User, Port, IdentityFile, ProxyJump. */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import SSHConfig from 'ssh-config';
import { VemError } from '../common/errors.js';
import { parseSshSpec } from './cluster-file.js';

/** One SSH connection to make; a node's chain is its jump hosts in order, then the node itself. */
export interface SshHop {
  /** What the admin wrote (alias or host), for messages. */
  alias: string;
  host: string;
  port: number;
  user: string;
  /** Identity files to try, in order, already expanded. */
  identityFiles: string[];
  /** Whether these came from config/cluster file (true) or are ssh's defaults (false). */
  identitiesConfigured: boolean;
  identitiesOnly: boolean;
  /** Seconds between keepalives (ServerAliveInterval), if set. */
  serverAliveInterval?: number;
  serverAliveCountMax?: number;
  connectTimeout?: number;
  /** UserKnownHostsFile (expanded); read in order, the first one is where trusted keys go. */
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  /** StrictHostKeyChecking as written (lower case): only 'accept-new' changes what vem does. */
  strictHostKeyChecking?: string;
}

export interface ResolveEnv {
  home: string;
  localUser: string;
  /** The cluster file's `identity:`, tried before IdentityFile like `ssh -i`. */
  identity?: string;
  /** A file that does not exist is dropped from the defaults (ssh skips them silently). */
  exists?: (path: string) => boolean;
}

const DEFAULT_IDENTITIES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk'];
const MAX_HOPS = 8;

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
function all(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** ssh_config's % tokens that matter for the fields we read. */
function expandTokens(s: string, t: { h: string; p: number; r: string; u: string; d: string; n: string }): string {
  let out = s.replace(/%(.)/g, (m, c: string) => {
    switch (c) {
      case '%': return '%';
      case 'h': return t.h;
      case 'p': return String(t.p);
      case 'r': return t.r;
      case 'u': return t.u;
      case 'd': return t.d;
      case 'n': return t.n;
      default: return m;
    }
  });
  if (out === '~') out = t.d;
  else if (out.startsWith('~/')) out = join(t.d, out.slice(2));
  return out;
}

/** Resolves `spec` (user@host[:port] or alias) into the hops to connect through. Pure given the config text. */
export function resolveSshChain(spec: string, config: SSHConfig, env: ResolveEnv, depth = 0): SshHop[] {
  if (depth > MAX_HOPS) throw new VemError(`ssh: too many ProxyJump hops (more than ${MAX_HOPS}) starting from '${spec}'`, 'check ~/.ssh/config for a ProxyJump loop');
  const parsed = parseSshSpec(spec.replace(/^ssh:\/\//, ''));
  if (!parsed) throw new VemError(`ssh: cannot understand '${spec}'`, 'expected user@host[:port] or an ~/.ssh/config alias');
  const c = config.compute(parsed.user !== undefined ? { Host: parsed.host, User: parsed.user } : { Host: parsed.host }, { ignoreCase: true, matchExec: false });
  if (first(c['proxycommand']) !== undefined && first(c['proxycommand'])?.toLowerCase() !== 'none' && first(c['proxyjump']) === undefined) {
    throw new VemError(`ssh: '${spec}' uses ProxyCommand, which vem does not run`, 'use ProxyJump in ~/.ssh/config instead');
  }
  const user = parsed.user ?? first(c['user']) ?? env.localUser;
  const portStr = parsed.port !== undefined ? String(parsed.port) : first(c['port']);
  const port = portStr === undefined ? 22 : Number(portStr);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new VemError(`ssh: '${spec}': bad Port '${portStr}' in ~/.ssh/config`);
  const tok = { h: parsed.host, p: port, r: user, u: env.localUser, d: env.home, n: parsed.host };
  const hostName = first(c['hostname']);
  const host = hostName !== undefined ? expandTokens(hostName, tok) : parsed.host;
  tok.h = host;
  const configured = [...(env.identity !== undefined ? [env.identity] : []), ...all(c['identityfile']).filter((f) => f.toLowerCase() !== 'none').map((f) => expandTokens(f, tok))];
  const exists = env.exists ?? (() => true);
  const identityFiles = configured.length > 0 ? configured : DEFAULT_IDENTITIES.map((f) => join(env.home, '.ssh', f)).filter(exists);
  const num = (k: string): number | undefined => {
    const v = first(c[k]);
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
  };
  const files = (k: string): string[] => all(c[k]).flatMap((v) => v.split(/\s+/)).filter((v) => v !== '' && v.toLowerCase() !== 'none').map((f) => expandTokens(f, tok));
  const userKh = files('userknownhostsfile');
  const globalKh = files('globalknownhostsfile');
  const hop: SshHop = {
    alias: spec,
    userKnownHostsFiles: userKh.length > 0 ? userKh : [join(env.home, '.ssh', 'known_hosts'), join(env.home, '.ssh', 'known_hosts2')],
    globalKnownHostsFiles: globalKh.length > 0 ? globalKh : ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'],
    host,
    port,
    user,
    identityFiles,
    identitiesConfigured: configured.length > 0,
    identitiesOnly: first(c['identitiesonly'])?.toLowerCase() === 'yes',
  };
  const sai = num('serveraliveinterval');
  if (sai !== undefined) hop.serverAliveInterval = sai;
  const sacm = num('serveralivecountmax');
  if (sacm !== undefined) hop.serverAliveCountMax = sacm;
  const shk = first(c['stricthostkeychecking']);
  if (shk !== undefined) hop.strictHostKeyChecking = shk.toLowerCase();
  const ct = num('connecttimeout');
  if (ct !== undefined) hop.connectTimeout = ct;

  const jump = first(c['proxyjump']);
  if (jump === undefined || jump.toLowerCase() === 'none') return [hop];
  const jumps = jump.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const [head, ...rest] = jumps;
  if (head === undefined) return [hop];
  // "ProxyJump a,b": a is reached as its own config says (maybe through its jumps); b and later are reached through the previous hop.
  const chain = resolveSshChain(head, config, { ...env, identity: undefined }, depth + 1);
  for (const j of rest) {
    const sub = resolveSshChain(j, withoutJump(config), { ...env, identity: undefined }, depth + 1);
    chain.push(...sub);
  }
  if (chain.length + 1 > MAX_HOPS) throw new VemError(`ssh: too many ProxyJump hops for '${spec}'`);
  chain.push(hop);
  return chain;
}

/** A view of the config in which a hop's own ProxyJump is not followed (later hops of a list come through the previous one). */
function withoutJump(config: SSHConfig): SSHConfig {
  const text = SSHConfig.stringify(config).split('\n').filter((l) => !/^\s*proxyjump[\s=]/i.test(l)).join('\n');
  return SSHConfig.parse(text);
}

/** Reads ~/.ssh/config with its Include lines inlined (relative to ~/.ssh, `*` and `?` in the last path part). */
export function readSshConfig(path: string, home: string, depth = 0): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new VemError(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (depth > 16) throw new VemError(`${path}: Include nested too deeply`);
  return text
    .split('\n')
    .map((line) => {
      const m = /^\s*include[\s=]+(.+?)\s*$/i.exec(line);
      if (!m?.[1]) return line;
      const parts = m[1].split(/\s+/).map((p) => p.replace(/^"|"$/g, ''));
      const chunks: string[] = [];
      for (let p of parts) {
        if (p.startsWith('~/')) p = join(home, p.slice(2));
        else if (!isAbsolute(p)) p = join(home, '.ssh', p);
        for (const f of expandGlob(p)) chunks.push(readSshConfig(f, home, depth + 1));
      }
      return chunks.join('\n');
    })
    .join('\n');
}

function expandGlob(p: string): string[] {
  const base = basename(p);
  if (!/[*?]/.test(base)) return [p];
  const dir = dirname(p);
  const re = new RegExp('^' + base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  try {
    return readdirSync(dir).filter((f) => re.test(f)).sort().map((f) => join(dir, f));
  } catch {
    return [];
  }
}

export function parseSshConfig(text: string): SSHConfig {
  return SSHConfig.parse(text);
}
