/**
 * An agentless node (`agent: none`): nothing of vem runs on it. Its libvirt socket is
 * reached through the node's one SSH connection (a stream-local channel per libvirt
 * connection), and the agent's own code runs in this process for it, serving on a
 * private unix socket; calls and consoles go there, so the node answers the same
 * typed API as a resident agent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { existsSync } from 'node:fs';
import type { Client as SshClient } from 'ssh2';
import { VemError } from '../common/errors.js';
import type { XmlRpcValue } from '../common/xmlrpc/value.js';
import { agentlessNote, DEFAULT_NODE_URI, libvirtSocketCandidates, localAgentRunner, relayedUri, type LocalAgent } from './agentless-host.js';
import { listenUnixRelay, type UnixRelay } from './agentless-relay.js';
import { backoffDelay } from './backoff.js';
import { DirectLink } from './direct-link.js';
import { listenForward } from './forward.js';
import { appendKnownHost } from './known-hosts.js';
import { LinkDownError, StatefulLink } from './link-base.js';
import { connectChain, SshConnectError, type SshChain } from './ssh-connect.js';
import { parseSshConfig, readSshConfig, resolveSshChain, type SshHop } from './ssh-config.js';
import type { SshLinkOptions } from './ssh-link.js';
import type { LocalForward, NodeConfig, NodeLink, PendingHostKey } from './types.js';

export class AgentlessLink extends StatefulLink implements NodeLink {
  readonly name: string;
  readonly agentless = true;
  pendingHostKey?: PendingHostKey;
  private chain?: SshChain;
  /** The node's libvirt socket that answered on this SSH connection. */
  private remoteSocket?: string;
  private attempt = 0;
  private timer?: NodeJS.Timeout;
  private connecting = false;
  private closed = false;
  private dir?: string;
  private readonly relays = new Map<string, UnixRelay>();
  private agent?: LocalAgent;
  private inner?: DirectLink;
  private startedAt = Date.now();
  private readonly forwards = new Set<LocalForward>();
  private readonly home: string;
  private readonly uri: string;
  private readonly o: SshLinkOptions;

  constructor(
    readonly node: NodeConfig,
    opts: SshLinkOptions = {},
  ) {
    super(node.name);
    this.name = node.name;
    this.o = opts;
    this.home = opts.home ?? homedir();
    this.uri = node.uri ?? DEFAULT_NODE_URI;
    if (!node.ssh) throw new VemError(`node ${node.name}: an agentless node needs an ssh: entry`);
    queueMicrotask(() => void this.connect());
  }

  private hops(): SshHop[] {
    const cfgPath = this.o.sshConfigPath ?? join(this.home, '.ssh', 'config');
    const config = parseSshConfig(readSshConfig(cfgPath, this.home));
    return resolveSshChain(this.node.ssh ?? '', config, { home: this.home, localUser: safeUser(), identity: this.node.identity, exists: existsSync });
  }

  private async connect(): Promise<void> {
    if (this.closed || this.connecting || this.chain) return;
    this.connecting = true;
    this.st.set('connecting', this.attempt > 0 ? `attempt ${this.attempt + 1}` : undefined);
    let chain: SshChain;
    try {
      let hops: SshHop[];
      try {
        hops = this.hops();
      } catch (e) {
        this.st.set('down', (e as Error).message);
        return;
      }
      try {
        chain = await connectChain(hops, {
          knownHostsPath: this.o.knownHostsPath,
          agentSocket: this.o.agentSocket === null ? undefined : (this.o.agentSocket ?? process.env['SSH_AUTH_SOCK']),
          askPassphrase: this.o.askPassphrase,
          keepaliveMs: this.o.keepaliveMs ?? 15_000,
          keepaliveCountMax: this.o.keepaliveCountMax ?? 3,
          readyTimeoutMs: this.o.readyTimeoutMs ?? 20_000,
        });
      } catch (e) {
        if (this.closed) return;
        const err = e instanceof SshConnectError ? e : new SshConnectError('network', (e as Error).message);
        if (err.kind === 'hostkey-unknown') {
          this.pendingHostKey = err.pendingHostKey;
          this.st.set('hostkey-unknown', err.message);
        } else if (err.kind === 'hostkey-refused') this.st.set('hostkey-refused', err.message);
        else {
          this.st.set(err.kind === 'auth' ? 'auth-failed' : 'down', err.message);
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
    await this.findLibvirt(chain);
  }

  /** SSH alone is not the node: it is up once one of libvirt's sockets opens through it and the local agent serves. */
  private async findLibvirt(chain: SshChain): Promise<void> {
    const tried: string[] = [];
    for (const path of libvirtSocketCandidates(this.uri)) {
      try {
        const ch = await this.streamLocal(chain.client, path);
        ch.destroy();
        this.remoteSocket = path;
        break;
      } catch (e) {
        tried.push(`${path} (${(e as Error).message})`);
      }
    }
    if (this.chain !== chain || this.closed) return;
    if (!this.remoteSocket) {
      this.st.set('down', `SSH is up but no libvirt socket opens on the node: ${tried.join(', ')}; is libvirtd (or virtqemud) running, and may ${hopUser(this.hops())} open it?`);
      this.schedule(false);
      return;
    }
    try {
      await this.ensureAgent();
    } catch (e) {
      if (this.closed) return;
      this.st.set('down', `the agent for this node did not start here: ${(e as Error).message}`);
      this.schedule(true);
      return;
    }
    if (this.chain !== chain || this.closed) return;
    this.attempt = 0;
    this.st.set('up', agentlessNote(this.startedAt));
  }

  /** The in-process agent is started once and outlives SSH reconnects (its own libvirt link retries). */
  private async ensureAgent(): Promise<void> {
    if (this.agent) return;
    const runner = await localAgentRunner();
    const base = process.env['XDG_RUNTIME_DIR'] && existsSync(process.env['XDG_RUNTIME_DIR']) ? process.env['XDG_RUNTIME_DIR'] : tmpdir();
    this.dir ??= mkdtempSync(join(base, `vem-agentless-${this.name}-`)); // mode 0700
    const libvirtRelay = this.relay('libvirt', () => this.openRemote(this.remoteSocket ?? ''));
    this.startedAt = Date.now();
    const agent = await runner({
      node: this.name,
      libvirtUri: relayedUri(this.uri, libvirtRelay.path),
      dir: this.dir,
      resolveChannelPath: (path) => this.relay(`guest-${this.relays.size}`, () => this.openRemote(path), path).path,
    });
    if (this.closed) {
      await agent.close();
      return;
    }
    this.agent = agent;
    this.inner = new DirectLink(this.name, `unix:${agent.socketPath}`, undefined, { callTimeoutMs: this.o.callTimeoutMs ?? 30_000 });
  }

  /** One relay socket per remote path, made on first use. */
  private relay(name: string, open: () => Promise<Duplex>, key = name): UnixRelay {
    let r = this.relays.get(key);
    if (!r) {
      r = listenUnixRelay(join(this.dir ?? tmpdir(), `${name}.sock`), open);
      this.relays.set(key, r);
    }
    return r;
  }

  private openRemote(path: string): Promise<Duplex> {
    const c = this.chain?.client;
    if (!c) return Promise.reject(new LinkDownError(this.name, this.st.state, this.st.detail));
    return this.streamLocal(c, path);
  }

  private streamLocal(c: SshClient, path: string): Promise<Duplex> {
    return new Promise((resolve, reject) => c.openssh_forwardOutStreamLocal(path, (err, ch) => (err ? reject(err) : resolve(ch))));
  }

  private lost(chain: SshChain, why?: string): void {
    if (this.chain !== chain) return;
    this.chain = undefined;
    this.remoteSocket = undefined;
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
    const chain = this.chain;
    this.timer = setTimeout(() => void (chain && this.chain === chain ? this.findLibvirt(chain) : this.connect()), delay);
    this.timer.unref();
  }

  reconnect(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.attempt = 0;
    const chain = this.chain;
    void (chain ? this.findLibvirt(chain) : this.connect());
  }

  async trustHostKey(): Promise<void> {
    const p = this.pendingHostKey;
    if (!p) throw new VemError(`node ${this.name}: no host key waiting to be trusted`);
    appendKnownHost(p.knownHostsFile, p.knownHostsLine);
    this.pendingHostKey = undefined;
    this.reconnect();
  }

  private async ready(): Promise<DirectLink> {
    await this.st.whenUp((this.o.readyTimeoutMs ?? 20_000) + 10_000);
    if (!this.inner) throw new LinkDownError(this.name, this.st.state, this.st.detail);
    return this.inner;
  }

  async call(method: string, ...params: XmlRpcValue[]): Promise<XmlRpcValue> {
    return (await this.ready()).call(method, ...params);
  }

  async openConsole(vm: string, opts?: { force?: boolean }): Promise<Duplex> {
    return (await this.ready()).openConsole(vm, opts);
  }

  async forwardLocal(remoteHost: string, remotePort: number): Promise<LocalForward> {
    return this.forward((c, cb) => c.forwardOut('127.0.0.1', 0, remoteHost, remotePort, cb));
  }

  async forwardLocalSocket(path: string): Promise<LocalForward> {
    return this.forward((c, cb) => c.openssh_forwardOutStreamLocal(path, cb));
  }

  private async forward(openOn: (c: SshClient, cb: (err: Error | undefined, ch: Duplex) => void) => void): Promise<LocalForward> {
    await this.ready();
    const open = (): Promise<Duplex> =>
      new Promise((resolve, reject) => {
        const c = this.chain?.client;
        if (!c) reject(new LinkDownError(this.name, this.st.state, this.st.detail));
        else openOn(c, (err, ch) => (err ? reject(err) : resolve(ch)));
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
    await this.inner?.close();
    await this.agent?.close().catch(() => undefined);
    for (const r of this.relays.values()) r.close();
    this.relays.clear();
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
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.st.set('down', 'closed');
  }
}

function hopUser(hops: SshHop[]): string {
  return hops[hops.length - 1]?.user ?? 'this user';
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? 'root';
  }
}
