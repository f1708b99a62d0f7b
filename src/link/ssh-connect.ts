/** Opens the SSH connection for a chain of hops (ProxyJump chained in-process) with host keys checked against known_hosts. */
import ssh2 from 'ssh2';
import type { Client as SshClient, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import type { Duplex } from 'node:stream';
import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { VemError } from '../common/errors.js';
import { appendKnownHost, checkHostKey, fingerprintSha256, hostPattern, keyTypeOfBlob, knownHostsLine, preferredHostKeyAlgorithms, readKnownHosts } from './known-hosts.js';
import { makeAuthHandler, type AskPassphrase } from './ssh-auth.js';
import { parseSshConfig, readSshConfig, resolveSshChain, type SshHop } from './ssh-config.js';
import type { NodeConfig, PendingHostKey } from './types.js';

export interface ConnectOptions {
  /** Overrides the hops' UserKnownHostsFile (tests, or a front end with its own file). */
  knownHostsPath?: string;
  agentSocket?: string;
  askPassphrase?: AskPassphrase;
  keepaliveMs: number;
  keepaliveCountMax: number;
  readyTimeoutMs: number;
}

/** Why a connection attempt failed, sorted into the link states the admin sees. */
export class SshConnectError extends VemError {
  constructor(
    readonly kind: 'network' | 'auth' | 'hostkey-unknown' | 'hostkey-refused',
    message: string,
    readonly pendingHostKey?: PendingHostKey,
    hint?: string,
  ) {
    super(message, hint);
  }
}

export interface SshChain {
  /** The last hop: the node itself. */
  client: SshClient;
  /** Every connection of the chain, first hop first. */
  clients: SshClient[];
  end(): void;
}

const SUPPORTED_HOST_KEY_ALGOS: string[] = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

function connectOne(hop: SshHop, o: ConnectOptions, sock: Duplex | undefined): Promise<SshClient> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    const userFiles = o.knownHostsPath !== undefined ? [o.knownHostsPath] : hop.userKnownHostsFiles;
    const trustFile = userFiles[0] ?? '~/.ssh/known_hosts';
    const entries = [...userFiles, ...hop.globalKnownHostsFiles].flatMap((f) => readKnownHosts(f));
    let verdict: SshConnectError | undefined;
    const notes: string[] = [];
    // For people, as ssh writes it: brackets only around an IPv6 address (hostPattern is known_hosts syntax).
    const where = `${hop.user}@${hop.host.includes(':') ? `[${hop.host}]` : hop.host}${hop.port === 22 ? '' : `:${hop.port}`}`;
    const cfg: ConnectConfig = {
      host: hop.host,
      port: hop.port,
      username: hop.user,
      keepaliveInterval: hop.serverAliveInterval !== undefined ? hop.serverAliveInterval * 1000 : o.keepaliveMs,
      keepaliveCountMax: hop.serverAliveCountMax ?? o.keepaliveCountMax,
      readyTimeout: hop.connectTimeout !== undefined ? hop.connectTimeout * 1000 : o.readyTimeoutMs,
      authHandler: makeAuthHandler(hop, { agentSocket: o.agentSocket, ask: o.askPassphrase, notes }),
      hostVerifier: (key: Buffer) => {
        const v = checkHostKey(entries, hop.host, hop.port, key);
        const fp = fingerprintSha256(key);
        const type = keyTypeOfBlob(key);
        if (v.kind === 'known') return true;
        if (v.kind === 'unknown' && hop.strictHostKeyChecking === 'accept-new') {
          // The admin's ssh config says: remember new hosts on first contact (changed keys are still refused).
          appendKnownHost(trustFile, knownHostsLine(hop.host, hop.port, key));
          return true;
        }
        if (v.kind === 'unknown') {
          const other = v.otherTypes.length > 0 ? ` (known_hosts has only ${v.otherTypes.join(', ')} keys for it)` : '';
          verdict = new SshConnectError(
            'hostkey-unknown',
            `host key of ${hostPattern(hop.host, hop.port)} is not in ${trustFile}${other}: ${type} ${fp}`,
            { hostPattern: hostPattern(hop.host, hop.port), keyType: type, fingerprint: fp, knownHostsLine: knownHostsLine(hop.host, hop.port, key), knownHostsFile: trustFile },
            'check the fingerprint with the node admin, then trust it',
          );
        } else if (v.kind === 'changed') {
          verdict = new SshConnectError(
            'hostkey-refused',
            `HOST KEY CHANGED for ${hostPattern(hop.host, hop.port)}: it now shows ${type} ${fp}, not the key on line ${v.line} of ${v.file}. Someone could be intercepting the connection; it was refused.`,
            undefined,
            `if the node was reinstalled, remove line ${v.line} of ${v.file} (ssh-keygen -R '${hostPattern(hop.host, hop.port)}')`,
          );
        } else {
          verdict = new SshConnectError('hostkey-refused', `host key of ${hostPattern(hop.host, hop.port)} (${type} ${fp}) is marked @revoked on line ${v.line} of ${v.file}; refused`);
        }
        return false;
      },
    };
    // Ask for the key type known_hosts already holds, as ssh does, so a second key type is not mistaken for a new host.
    const prefer = preferredHostKeyAlgorithms(entries, hop.host, hop.port).filter((a): a is ServerHostKeyAlgorithm => SUPPORTED_HOST_KEY_ALGOS.includes(a));
    if (prefer.length > 0) cfg.algorithms = { serverHostKey: { remove: prefer, prepend: prefer, append: [] } };
    if (sock) cfg.sock = sock;
    let settled = false;
    client.once('ready', () => {
      settled = true;
      // XML-RPC is small request/response traffic: Nagle plus delayed ACKs would add tens of ms per call.
      client.setNoDelay(true);
      resolve(client);
    });
    client.on('error', (err: Error & { level?: string }) => {
      if (settled) return; // after ready, the link watches 'close'
      settled = true;
      client.end();
      if (verdict) reject(verdict);
      else if (err.level === 'client-authentication') {
        reject(new SshConnectError('auth', `authentication as ${where} failed${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`, undefined, 'load a key into ssh-agent (ssh-add) or set identity: in the cluster file'));
      } else reject(new SshConnectError('network', `${where}: ${err.message}`));
    });
    client.once('close', () => {
      if (settled) return;
      settled = true;
      reject(verdict ?? new SshConnectError('network', `${where}: connection closed during the handshake`));
    });
    try {
      client.connect(cfg);
    } catch (e) {
      settled = true;
      reject(new SshConnectError('network', `${where}: ${(e as Error).message}`));
    }
  });
}

function forwardOut(client: SshClient, host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, host, port, (err, ch) => (err ? reject(err) : resolve(ch)));
  });
}

/** Connects hop by hop: each later hop's TCP stream is a direct-tcpip channel of the previous one. */
export async function connectChain(hops: SshHop[], o: ConnectOptions): Promise<SshChain> {
  const clients: SshClient[] = [];
  const end = (): void => {
    for (const c of [...clients].reverse()) c.end();
  };
  try {
    let sock: Duplex | undefined;
    for (const [i, hop] of hops.entries()) {
      if (i > 0) {
        const prev = clients[i - 1] as SshClient;
        try {
          sock = await forwardOut(prev, hop.host, hop.port);
        } catch (e) {
          throw new SshConnectError('network', `jump host ${hops[i - 1]?.alias} could not reach ${hostPattern(hop.host, hop.port)}: ${(e as Error).message}`);
        }
      }
      clients.push(await connectOne(hop, o, sock));
    }
  } catch (e) {
    end();
    throw e;
  }
  const client = clients[clients.length - 1];
  if (!client) throw new SshConnectError('network', 'no hop to connect to');
  // When a jump host's connection dies, the hops through it die too: close them so the link notices.
  for (const [i, c] of clients.entries()) {
    c.on('close', () => {
      for (const later of clients.slice(i + 1)) later.end();
    });
  }
  return { client, clients, end };
}

/** How a node's SSH connection is made: the same for a resident agent's link, an agentless node and `vem deploy`. */
export interface NodeSshOptions {
  /** Defaults to os.homedir() (follows $HOME): ~/.ssh/config and ~/.ssh/known_hosts live there. */
  home?: string;
  sshConfigPath?: string;
  knownHostsPath?: string;
  /** ssh-agent socket; defaults to $SSH_AUTH_SOCK; null: do not use an agent. */
  agentSocket?: string | null;
  /** Asked once per encrypted key (the TUI's prompt; `terminalPassphrase()` on a terminal). */
  askPassphrase?: AskPassphrase;
  keepaliveMs?: number;
  keepaliveCountMax?: number;
  readyTimeoutMs?: number;
}

function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? 'root';
  }
}

/** A node's hops, resolved afresh on each call so edits to ~/.ssh/config apply without a restart. */
export function nodeHops(node: NodeConfig, o: NodeSshOptions): SshHop[] {
  const home = o.home ?? homedir();
  const cfgPath = o.sshConfigPath ?? join(home, '.ssh', 'config');
  const config = parseSshConfig(readSshConfig(cfgPath, home));
  return resolveSshChain(node.ssh ?? '', config, { home, localUser: localUser(), identity: node.identity, exists: existsSync });
}

/** Opens a node's SSH connection (ProxyJump hops, known_hosts, ssh-agent and keys) as its cluster-file entry and ~/.ssh/config say. */
export function connectNode(node: NodeConfig, o: NodeSshOptions, hops = nodeHops(node, o)): Promise<SshChain> {
  return connectChain(hops, {
    knownHostsPath: o.knownHostsPath,
    agentSocket: o.agentSocket === null ? undefined : (o.agentSocket ?? process.env['SSH_AUTH_SOCK']),
    askPassphrase: o.askPassphrase,
    keepaliveMs: o.keepaliveMs ?? 15_000,
    keepaliveCountMax: o.keepaliveCountMax ?? 3,
    readyTimeoutMs: o.readyTimeoutMs ?? 20_000,
  });
}

/** Ends a chain and waits (at most 2 s) until the node's connection has closed. */
export function endChain(chain: SshChain): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 2000);
    chain.client.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    chain.end();
  });
}
