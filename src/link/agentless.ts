/**
 * An agentless node (`agent: none`): nothing of vem runs on it. Its libvirt socket is
 * reached through the node's one SSH connection (a stream-local channel per libvirt
 * connection), and the agent's own code runs in this process for it, serving on a
 * private unix socket; calls and consoles go there, so the node answers the same
 * typed API as a resident agent.
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { XmlRpcValue } from '../common/xmlrpc/value.js';
import { ackEachBurst } from './agentless-ack.js';
import { agentlessNote, DEFAULT_NODE_URI, libvirtSocketCandidates, localAgentRunner, relayedUri, type LocalAgent } from './agentless-host.js';
import { listenUnixRelay, type UnixRelay } from './agentless-relay.js';
import { DirectLink } from './direct-link.js';
import { LinkDownError } from './link-base.js';
import type { SshChain } from './ssh-connect.js';
import { SshNodeLink, type SshLinkOptions } from './ssh-node-link.js';
import type { NodeConfig, NodeLink } from './types.js';

export class AgentlessLink extends SshNodeLink implements NodeLink {
  readonly agentless = true;
  /** The node's libvirt socket that answered on this SSH connection. */
  private remoteSocket?: string;
  private dir?: string;
  private readonly relays = new Map<string, UnixRelay>();
  private agent?: LocalAgent;
  private inner?: DirectLink;
  private startedAt = Date.now();
  private readonly uri: string;
  private readonly ackBursts: boolean;

  /** `ackBursts: false` leaves libvirt's channel as ssh2 makes it (agentless-ack.ts; for the bench's A/B). */
  constructor(node: NodeConfig, opts: SshLinkOptions & { ackBursts?: boolean } = {}) {
    super(node, opts);
    this.uri = node.uri ?? DEFAULT_NODE_URI;
    this.ackBursts = opts.ackBursts ?? true;
  }

  /** SSH alone is not the node: it is up once one of libvirt's sockets opens through it and the local agent serves. */
  protected async behind(chain: SshChain): Promise<void> {
    const tried: string[] = [];
    for (const path of libvirtSocketCandidates(this.uri)) {
      try {
        const ch = await this.streamLocal(path, chain.client);
        ch.destroy();
        this.remoteSocket = path;
        break;
      } catch (e) {
        tried.push(`${path} (${(e as Error).message})`);
      }
    }
    if (this.chain !== chain || this.closed) return;
    if (!this.remoteSocket) {
      this.st.set('down', `SSH is up but no libvirt socket opens on the node: ${tried.join(', ')}; is libvirtd (or virtqemud) running, and may ${this.hops().at(-1)?.user ?? 'this user'} open it?`);
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
    this.succeeded();
    this.st.set('up', agentlessNote(this.startedAt));
  }

  protected dropped(): void {
    this.remoteSocket = undefined;
  }

  /** The in-process agent is started once and outlives SSH reconnects (its own libvirt link retries). */
  private async ensureAgent(): Promise<void> {
    if (this.agent) return;
    const runner = await localAgentRunner();
    const base = process.env['XDG_RUNTIME_DIR'] && existsSync(process.env['XDG_RUNTIME_DIR']) ? process.env['XDG_RUNTIME_DIR'] : tmpdir();
    this.dir ??= mkdtempSync(join(base, `vem-agentless-${this.name}-`)); // mode 0700
    // libvirt replies to concurrent calls back to back: without an ACK at once, the node's
    // sshd holds the second one up to 40 ms (agentless-ack.ts).
    const libvirtRelay = this.relay('libvirt', async () => {
      const ch = await this.openRemote(this.remoteSocket ?? '');
      return this.ackBursts ? ackEachBurst(ch) : ch;
    });
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
    try {
      return this.streamLocal(path);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  protected async whenReady(): Promise<void> {
    await this.st.whenUp(this.readyTimeoutMs + 10_000);
  }

  private async ready(): Promise<DirectLink> {
    await this.whenReady();
    if (!this.inner) throw new LinkDownError(this.name, this.st.state, this.st.detail);
    return this.inner;
  }

  async call(method: string, ...params: XmlRpcValue[]): Promise<XmlRpcValue> {
    return (await this.ready()).call(method, ...params);
  }

  async openConsole(vm: string, opts?: { force?: boolean }): Promise<Duplex> {
    return (await this.ready()).openConsole(vm, opts);
  }

  protected async release(): Promise<void> {
    await this.inner?.close();
    await this.agent?.close().catch(() => undefined);
    for (const r of this.relays.values()) r.close();
    this.relays.clear();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
