/** A node reached through SSH: one connection (maybe via jump hosts) shared by every call, console and forward. */
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Client as SshClient } from 'ssh2';
import { VemError } from '../common/errors.js';
import { XmlRpcHttpError } from '../common/xmlrpc/client.js';
import { XmlRpcFault } from '../common/xmlrpc/codec.js';
import type { XmlRpcValue } from '../common/xmlrpc/value.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { callOver, StreamAgent, upgradeConsole } from './http-over.js';
import { readNodeFiles } from './cluster-file.js';
import { appendKnownHost } from './known-hosts.js';
import { listenForward } from './forward.js';
import { LinkDownError, StatefulLink } from './link-base.js';
import type { AskPassphrase } from './ssh-auth.js';
import { connectChain, SshConnectError, type SshChain } from './ssh-connect.js';
import { parseSshConfig, readSshConfig, resolveSshChain, type SshHop } from './ssh-config.js';
import { existsSync } from 'node:fs';
import type { LocalForward, NodeConfig, NodeLink, PendingHostKey } from './types.js';

export interface SshLinkOptions {
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
  backoff?: BackoffOptions;
  callTimeoutMs?: number;
  /** Bearer token, when the node's agent asks for one even on loopback. */
  token?: string;
  /** Most SSH channels kept open to the agent for concurrent calls. */
  maxChannels?: number;
}

export class SshLink extends StatefulLink implements NodeLink {
  readonly name: string;
  pendingHostKey?: PendingHostKey;
  private chain?: SshChain;
  private rpc?: StreamAgent;
  private attempt = 0;
  private timer?: NodeJS.Timeout;
  private connecting = false;
  private closed = false;
  private readonly forwards = new Set<LocalForward>();
  private readonly o: Required<Pick<SshLinkOptions, 'keepaliveMs' | 'keepaliveCountMax' | 'readyTimeoutMs' | 'callTimeoutMs' | 'maxChannels'>> & SshLinkOptions;
  private readonly home: string;
  private readonly knownHostsPath?: string;
  private readonly token?: string;
  private readonly fileProblem?: string;

  constructor(
    readonly node: NodeConfig,
    opts: SshLinkOptions = {},
  ) {
    super(node.name);
    this.name = node.name;
    this.o = { keepaliveMs: 15_000, keepaliveCountMax: 3, readyTimeoutMs: 20_000, callTimeoutMs: 30_000, maxChannels: 16, ...opts };
    this.home = opts.home ?? homedir();
    this.knownHostsPath = opts.knownHostsPath;
    const files = readNodeFiles(node);
    this.token = opts.token ?? files.token;
    this.fileProblem = files.problem;
    if (!node.ssh) throw new VemError(`node ${node.name} has no ssh: entry`, 'use openDirectLink for url: nodes');
    queueMicrotask(() => void this.connect());
  }

  /** The hops, resolved afresh on each attempt so edits to ~/.ssh/config apply without a restart. */
  hops(): SshHop[] {
    const cfgPath = this.o.sshConfigPath ?? join(this.home, '.ssh', 'config');
    const config = parseSshConfig(readSshConfig(cfgPath, this.home));
    return resolveSshChain(this.node.ssh ?? '', config, { home: this.home, localUser: safeUser(), identity: this.node.identity, exists: existsSync });
  }

  private async connect(): Promise<void> {
    if (this.closed || this.connecting || this.chain) return;
    this.connecting = true;
    this.st.set('connecting', this.attempt > 0 ? `attempt ${this.attempt + 1}` : undefined);
    try {
      let hops: SshHop[];
      try {
        if (this.fileProblem) throw new VemError(this.fileProblem);
        hops = this.hops();
      } catch (e) {
        // A configuration mistake will not mend itself: no retry until reconnect().
        this.st.set('down', (e as Error).message);
        return;
      }
      let chain: SshChain;
      try {
        chain = await connectChain(hops, {
          knownHostsPath: this.knownHostsPath,
          agentSocket: this.o.agentSocket === null ? undefined : (this.o.agentSocket ?? process.env['SSH_AUTH_SOCK']),
          askPassphrase: this.o.askPassphrase,
          keepaliveMs: this.o.keepaliveMs,
          keepaliveCountMax: this.o.keepaliveCountMax,
          readyTimeoutMs: this.o.readyTimeoutMs,
        });
      } catch (e) {
        if (this.closed) return;
        const err = e instanceof SshConnectError ? e : new SshConnectError('network', (e as Error).message);
        if (err.kind === 'hostkey-unknown') {
          this.pendingHostKey = err.pendingHostKey;
          this.st.set('hostkey-unknown', err.message);
        } else if (err.kind === 'hostkey-refused') {
          this.st.set('hostkey-refused', err.message);
        } else if (err.kind === 'auth') {
          this.st.set('auth-failed', err.message);
          // Keys may be added to ssh-agent later: try again, slowly.
          this.schedule(true);
        } else {
          this.st.set('down', err.message);
          this.schedule(false);
        }
        return;
      }
      if (this.closed) {
        chain.end();
        return;
      }
      this.chain = chain;
      this.pendingHostKey = undefined;
      this.rpc = new StreamAgent(() => this.openAgentStream(), this.o.maxChannels);
      let why: string | undefined;
      for (const c of chain.clients) c.on('error', (e: Error) => (why = e.message));
      chain.client.on('close', () => this.lost(chain, why));
    } finally {
      this.connecting = false;
    }
    await this.probeAgent(this.chain);
  }

  /** SSH alone is not the node: the link is up once the agent behind it answers. */
  private async probeAgent(chain: SshChain | undefined): Promise<void> {
    const rpc = this.rpc;
    if (!chain || this.chain !== chain || !rpc || this.closed) return;
    try {
      await callOver(rpc, 'system.listMethods', [], { token: this.token, timeoutMs: this.o.readyTimeoutMs });
    } catch (e) {
      if (this.chain !== chain || this.closed) return;
      if (e instanceof XmlRpcHttpError && (e.status === 401 || e.status === 403)) {
        this.st.set('auth-failed', `node ${this.name}: the agent refused the token (HTTP ${e.status})`);
        this.schedule(true);
        return;
      }
      if (!(e instanceof XmlRpcFault)) {
        this.st.set('down', `SSH is up but ${(e as Error).message}`);
        this.schedule(false);
        return;
      }
    }
    if (this.chain !== chain || this.closed) return;
    this.attempt = 0;
    this.st.set('up');
  }

  private lost(chain: SshChain, why?: string): void {
    if (this.chain !== chain) return;
    this.chain = undefined;
    this.rpc?.destroy();
    this.rpc = undefined;
    chain.end();
    if (this.closed) return;
    this.st.set('down', `SSH connection lost${why ? ` (${why})` : ''}`);
    this.schedule(false);
  }

  private schedule(slow: boolean): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    const b = this.o.backoff ?? { minMs: 1000, maxMs: 30_000 };
    const delay = slow ? b.maxMs : backoffDelay(this.attempt++, b);
    // With SSH still up only the agent is asked again; otherwise a whole new connection.
    this.timer = setTimeout(() => void (this.chain ? this.probeAgent(this.chain) : this.connect()), delay);
    this.timer.unref();
  }

  reconnect(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.attempt = 0;
    void (this.chain ? this.probeAgent(this.chain) : this.connect());
  }

  async trustHostKey(): Promise<void> {
    const p = this.pendingHostKey;
    if (!p) throw new VemError(`node ${this.name}: no host key waiting to be trusted`);
    appendKnownHost(p.knownHostsFile, p.knownHostsLine);
    this.pendingHostKey = undefined;
    this.reconnect();
  }

  private client(): SshClient {
    const c = this.chain?.client;
    if (!c) throw new LinkDownError(this.name, this.st.state, this.st.detail);
    return c;
  }

  /** A fresh channel to the agent: streamlocal for unix:, direct-tcpip for host:port. */
  private openAgentStream(): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      let c: SshClient;
      try {
        c = this.client();
      } catch (e) {
        reject(e);
        return;
      }
      const a = this.node.agent;
      const done = (err: Error | undefined, ch: Duplex): void => {
        if (err) reject(new VemError(`node ${this.name}: the agent at ${a.kind === 'unix' ? `unix:${a.path}` : `${a.host}:${a.port}`} is not reachable through SSH: ${err.message}`, 'is `vem agent` running on the node, with that address?'));
        else resolve(ch);
      };
      if (a.kind === 'unix') c.openssh_forwardOutStreamLocal(a.path, done);
      else c.forwardOut('127.0.0.1', 0, a.host, a.port, done);
    });
  }

  async call(method: string, ...params: XmlRpcValue[]): Promise<XmlRpcValue> {
    await this.st.whenUp(this.o.readyTimeoutMs + 1000);
    const rpc = this.rpc;
    if (!rpc) throw new LinkDownError(this.name, this.st.state, this.st.detail);
    return callOver(rpc, method, params, { token: this.token, timeoutMs: this.o.callTimeoutMs });
  }

  async openConsole(vm: string, opts?: { force?: boolean }): Promise<Duplex> {
    await this.st.whenUp(this.o.readyTimeoutMs + 1000);
    return upgradeConsole(() => this.openAgentStream(), vm, { token: this.token, timeoutMs: this.o.callTimeoutMs, force: opts?.force === true });
  }

  async forwardLocal(remoteHost: string, remotePort: number): Promise<LocalForward> {
    return this.forward((c, cb) => c.forwardOut('127.0.0.1', 0, remoteHost, remotePort, cb));
  }

  /** Same for a unix socket on the node (a display with <listen type='socket'>). */
  async forwardLocalSocket(path: string): Promise<LocalForward> {
    return this.forward((c, cb) => c.openssh_forwardOutStreamLocal(path, cb));
  }

  private async forward(openOn: (c: SshClient, cb: (err: Error | undefined, ch: Duplex) => void) => void): Promise<LocalForward> {
    await this.st.whenUp(this.o.readyTimeoutMs + 1000);
    const open = (): Promise<Duplex> =>
      new Promise((resolve, reject) => {
        try {
          openOn(this.client(), (err, ch) => (err ? reject(err) : resolve(ch)));
        } catch (e) {
          reject(e);
        }
      });
    const f = await listenForward(open, () => this.forwards.delete(f));
    this.forwards.add(f);
    return f;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    for (const f of [...this.forwards]) f.close();
    this.rpc?.destroy();
    const chain = this.chain;
    this.chain = undefined;
    if (chain) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000);
        chain.client.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        chain.end();
      });
    }
    this.st.set('down', 'closed');
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? 'root';
  }
}
