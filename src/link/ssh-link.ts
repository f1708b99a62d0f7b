/** A node reached through SSH: one connection (maybe via jump hosts) shared by every call, console and forward. */
import type { Duplex } from 'node:stream';
import { VemError } from '../common/errors.js';
import { XmlRpcHttpError } from '../common/xmlrpc/client.js';
import { XmlRpcFault } from '../common/xmlrpc/codec.js';
import type { XmlRpcValue } from '../common/xmlrpc/value.js';
import { callOver, StreamAgent, upgradeConsole } from './http-over.js';
import { readNodeFiles } from './cluster-file.js';
import { LinkDownError } from './link-base.js';
import type { SshChain } from './ssh-connect.js';
import { SshNodeLink, type SshLinkOptions } from './ssh-node-link.js';
import type { NodeConfig, NodeLink } from './types.js';

export type { SshLinkOptions } from './ssh-node-link.js';

export class SshLink extends SshNodeLink implements NodeLink {
  private rpc?: StreamAgent;
  private readonly token?: string;

  constructor(node: NodeConfig, opts: SshLinkOptions = {}) {
    const files = readNodeFiles(node);
    super(node, { keepaliveMs: 15_000, keepaliveCountMax: 3, readyTimeoutMs: 20_000, callTimeoutMs: 30_000, maxChannels: 16, ...opts }, files.problem);
    this.token = opts.token ?? files.token;
  }

  /** SSH alone is not the node: the link is up once the agent behind it answers. */
  protected async behind(chain: SshChain): Promise<void> {
    if (this.chain !== chain || this.closed) return;
    this.rpc ??= new StreamAgent(() => this.openAgentStream(), this.o.maxChannels);
    const rpc = this.rpc;
    try {
      await callOver(rpc, 'system.listMethods', [], { token: this.token, timeoutMs: this.readyTimeoutMs });
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
    this.succeeded();
    this.st.set('up');
  }

  protected dropped(): void {
    this.rpc?.destroy();
    this.rpc = undefined;
  }

  protected whenReady(): Promise<void> {
    return this.st.whenUp(this.readyTimeoutMs + 1000);
  }

  protected async release(): Promise<void> {
    this.rpc?.destroy();
  }

  /** A fresh channel to the agent: streamlocal for unix:, direct-tcpip for host:port. */
  private async openAgentStream(): Promise<Duplex> {
    const a = this.node.agent;
    const where = a.kind === 'unix' ? `unix:${a.path}` : `${a.host}:${a.port}`;
    const c = this.client();
    try {
      if (a.kind === 'unix') return await this.streamLocal(a.path, c);
      return await new Promise<Duplex>((resolve, reject) => c.forwardOut('127.0.0.1', 0, a.host, a.port, (err, ch) => (err ? reject(err) : resolve(ch))));
    } catch (e) {
      throw new VemError(`node ${this.name}: the agent at ${where} is not reachable through SSH: ${(e as Error).message}`, 'is `vem agent` running on the node, with that address?');
    }
  }

  async call(method: string, ...params: XmlRpcValue[]): Promise<XmlRpcValue> {
    await this.whenReady();
    const rpc = this.rpc;
    if (!rpc) throw new LinkDownError(this.name, this.st.state, this.st.detail);
    return callOver(rpc, method, params, { token: this.token, timeoutMs: this.o.callTimeoutMs ?? 30_000 });
  }

  async openConsole(vm: string, opts?: { force?: boolean }): Promise<Duplex> {
    await this.whenReady();
    return upgradeConsole(() => this.openAgentStream(), vm, { token: this.token, timeoutMs: this.o.callTimeoutMs ?? 30_000, force: opts?.force === true });
  }
}
