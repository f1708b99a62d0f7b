/**
 * What every link over a node's SSH connection shares, whatever answers behind it (a
 * resident agent, or libvirt's socket for an agentless node): connecting with backoff,
 * the host-key and auth states, reconnects, trusting a key, port forwards and close.
 */
import type { Duplex } from 'node:stream';
import type { Client as SshClient } from 'ssh2';
import { VemError } from '../common/errors.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { listenForward } from './forward.js';
import { appendKnownHost } from './known-hosts.js';
import { LinkDownError, StatefulLink } from './link-base.js';
import { connectNode, endChain, nodeHops, SshConnectError, type NodeSshOptions, type SshChain } from './ssh-connect.js';
import type { SshHop } from './ssh-config.js';
import type { LocalForward, NodeConfig, PendingHostKey } from './types.js';

export interface SshLinkOptions extends NodeSshOptions {
  backoff?: BackoffOptions;
  callTimeoutMs?: number;
  /** Bearer token, when the node's agent asks for one even on loopback. */
  token?: string;
  /** Most SSH channels kept open to the agent for concurrent calls. */
  maxChannels?: number;
}

export abstract class SshNodeLink extends StatefulLink {
  readonly name: string;
  pendingHostKey?: PendingHostKey;
  protected chain?: SshChain;
  protected closed = false;
  private attempt = 0;
  private timer?: NodeJS.Timeout;
  private connecting = false;
  private readonly forwards = new Set<LocalForward>();

  constructor(
    readonly node: NodeConfig,
    protected readonly o: SshLinkOptions,
    /** A configuration mistake found up front (an unreadable token file): reported, never retried. */
    private readonly configProblem?: string,
  ) {
    super(node.name);
    this.name = node.name;
    if (!node.ssh) throw new VemError(`node ${node.name} has no ssh: entry`, 'use openDirectLink for url: nodes');
    queueMicrotask(() => void this.connect());
  }

  /** SSH alone is not the node: find what answers behind it, and set the state. Called again on each retry while SSH stays up. */
  protected abstract behind(chain: SshChain): Promise<void>;
  /** The chain went: forget what belonged to it. */
  protected abstract dropped(): void;
  /** Resolves once the link can be used (or throws why not). */
  protected abstract whenReady(): Promise<void>;
  /** Ends what the subclass holds, before the SSH connection itself is ended. */
  protected abstract release(): Promise<void>;

  /** The hops, resolved afresh on each attempt so edits to ~/.ssh/config apply without a restart. */
  hops(): SshHop[] {
    return nodeHops(this.node, this.o);
  }

  protected get readyTimeoutMs(): number {
    return this.o.readyTimeoutMs ?? 20_000;
  }

  /** The first attempt's success: a later failure backs off from the start again. */
  protected succeeded(): void {
    this.attempt = 0;
  }

  private async connect(): Promise<void> {
    if (this.closed || this.connecting || this.chain) return;
    this.connecting = true;
    this.st.set('connecting', this.attempt > 0 ? `attempt ${this.attempt + 1}` : undefined);
    let chain: SshChain;
    try {
      let hops: SshHop[];
      try {
        if (this.configProblem) throw new VemError(this.configProblem);
        hops = this.hops();
      } catch (e) {
        // A configuration mistake will not mend itself: no retry until reconnect().
        this.st.set('down', (e as Error).message);
        return;
      }
      try {
        chain = await connectNode(this.node, this.o, hops);
      } catch (e) {
        if (this.closed) return;
        const err = e instanceof SshConnectError ? e : new SshConnectError('network', (e as Error).message);
        if (err.kind === 'hostkey-unknown') {
          this.pendingHostKey = err.pendingHostKey;
          this.st.set('hostkey-unknown', err.message);
        } else if (err.kind === 'hostkey-refused') {
          this.st.set('hostkey-refused', err.message);
        } else {
          this.st.set(err.kind === 'auth' ? 'auth-failed' : 'down', err.message);
          // Keys may be added to ssh-agent later: an auth failure is tried again, slowly.
          this.schedule(err.kind === 'auth');
        }
        return;
      }
      if (this.closed) {
        chain.end();
        return;
      }
      this.chain = chain;
      this.pendingHostKey = undefined;
      let why: string | undefined;
      for (const c of chain.clients) c.on('error', (e: Error) => (why = e.message));
      chain.client.on('close', () => this.lost(chain, why));
    } finally {
      this.connecting = false;
    }
    await this.behind(chain);
  }

  private lost(chain: SshChain, why?: string): void {
    if (this.chain !== chain) return;
    this.chain = undefined;
    this.dropped();
    chain.end();
    if (this.closed) return;
    this.st.set('down', `SSH connection lost${why ? ` (${why})` : ''}`);
    this.schedule(false);
  }

  protected schedule(slow: boolean): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    const b = this.o.backoff ?? { minMs: 1000, maxMs: 30_000 };
    const delay = slow ? b.maxMs : backoffDelay(this.attempt++, b);
    // With SSH still up only what is behind it is asked again; otherwise a whole new connection.
    const chain = this.chain;
    this.timer = setTimeout(() => void (chain && this.chain === chain ? this.behind(chain) : this.connect()), delay);
    this.timer.unref();
  }

  reconnect(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.attempt = 0;
    const chain = this.chain;
    void (chain ? this.behind(chain) : this.connect());
  }

  async trustHostKey(): Promise<void> {
    const p = this.pendingHostKey;
    if (!p) throw new VemError(`node ${this.name}: no host key waiting to be trusted`);
    appendKnownHost(p.knownHostsFile, p.knownHostsLine);
    this.pendingHostKey = undefined;
    this.reconnect();
  }

  protected client(): SshClient {
    const c = this.chain?.client;
    if (!c) throw new LinkDownError(this.name, this.st.state, this.st.detail);
    return c;
  }

  /** A stream-local channel to a unix socket on the node. */
  protected streamLocal(path: string, c: SshClient = this.client()): Promise<Duplex> {
    return new Promise((resolve, reject) => c.openssh_forwardOutStreamLocal(path, (err, ch) => (err ? reject(err) : resolve(ch))));
  }

  async forwardLocal(remoteHost: string, remotePort: number): Promise<LocalForward> {
    return this.forward((c, cb) => c.forwardOut('127.0.0.1', 0, remoteHost, remotePort, cb));
  }

  /** Same for a unix socket on the node (a display with <listen type='socket'>). */
  async forwardLocalSocket(path: string): Promise<LocalForward> {
    return this.forward((c, cb) => c.openssh_forwardOutStreamLocal(path, cb));
  }

  private async forward(openOn: (c: SshClient, cb: (err: Error | undefined, ch: Duplex) => void) => void): Promise<LocalForward> {
    await this.whenReady();
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
    await this.release();
    const chain = this.chain;
    this.chain = undefined;
    if (chain) await endChain(chain);
    this.st.set('down', 'closed');
  }
}
