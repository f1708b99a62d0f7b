/** A node reached without SSH: plain HTTP on loopback (`vem demo`), a unix socket, or HTTPS with a token. */
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { VemError } from '../common/errors.js';
import { redactUrls, splitUserinfo } from '../common/xmlrpc/auth.js';
import { XmlRpcClient, XmlRpcHttpError } from '../common/xmlrpc/client.js';
import { XmlRpcFault } from '../common/xmlrpc/codec.js';
import type { XmlRpcValue } from '../common/xmlrpc/value.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { upgradeConsole } from './http-over.js';
import { LinkDownError, StatefulLink } from './link-base.js';
import type { NodeLink } from './types.js';

export interface DirectLinkOptions {
  /** PEM of the CA that signed the agent's certificate (self-signed agents). */
  ca?: string;
  callTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** A reason the link cannot work (e.g. an unreadable token file): it stays down with it. */
  problem?: string;
}

export class DirectLink extends StatefulLink implements NodeLink {
  private readonly rpc: XmlRpcClient;
  private readonly target: { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number; tls: boolean };
  private attempt = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    readonly name: string,
    readonly url: string,
    private readonly token?: string,
    private readonly o: DirectLinkOptions = {},
  ) {
    super(name);
    if (url.startsWith('unix:')) {
      this.target = { kind: 'unix', path: url.replace(/^unix:(\/\/)?/, '') };
    } else {
      let u: URL;
      try {
        u = new URL(splitUserinfo(url).url);
      } catch {
        throw new VemError(`node ${name}: '${redactUrls(url)}' is not a URL`, 'expected http://127.0.0.1:PORT, https://HOST:PORT or unix:/path');
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new VemError(`node ${name}: unsupported URL ${redactUrls(url)}`, 'use http://, https:// or unix:PATH');
      const isTls = u.protocol === 'https:';
      this.target = { kind: 'tcp', host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || (isTls ? 443 : 80)), tls: isTls };
    }
    this.rpc = new XmlRpcClient({ url, token, timeoutMs: o.callTimeoutMs ?? 30_000, ...(o.ca ? { ca: o.ca } : {}) });
    queueMicrotask(() => void this.probe());
  }

  /** There is no standing connection: the link is up while calls get answers; when down, it probes with backoff. */
  private async probe(): Promise<void> {
    if (this.closed) return;
    if (this.o.problem) {
      this.st.set('down', this.o.problem);
      return;
    }
    try {
      await this.send('system.listMethods', []);
    } catch {
      // send() has set the state
    }
  }

  private async send(method: string, params: XmlRpcValue[]): Promise<XmlRpcValue> {
    try {
      const v = await this.rpc.call(method, ...params);
      this.markUp();
      return v;
    } catch (e) {
      if (e instanceof XmlRpcFault) {
        this.markUp(); // the agent answered
      } else if (e instanceof XmlRpcHttpError && (e.status === 401 || e.status === 403)) {
        if (!this.closed) this.st.set('auth-failed', `${redactUrls(this.url)}: the agent refused the token (HTTP ${e.status})`);
      } else if (!(e instanceof XmlRpcHttpError) && !this.closed) {
        const detail = redactUrls(`${this.url}: ${(e as Error).message}`);
        this.st.set('down', detail);
        this.schedule();
        // The caller learns which node is down and why, not a bare socket error.
        throw new LinkDownError(this.name, 'down', detail);
      }
      throw e;
    }
  }

  private markUp(): void {
    this.attempt = 0;
    clearTimeout(this.timer);
    if (!this.closed) this.st.set('up');
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.probe(), backoffDelay(this.attempt++, this.o.backoff ?? { minMs: 1000, maxMs: 30_000 }));
    this.timer.unref();
  }

  reconnect(): void {
    this.attempt = 0;
    void this.probe();
  }

  call(method: string, ...params: XmlRpcValue[]): Promise<XmlRpcValue> {
    if (this.closed) return Promise.reject(new VemError(`node ${this.name}: link closed`));
    if (this.o.problem) return Promise.reject(new LinkDownError(this.name, 'down', this.o.problem));
    return this.send(method, params);
  }

  private openStream(): Promise<Duplex> {
    const t = this.target;
    return new Promise((resolve, reject) => {
      const s: net.Socket =
        t.kind === 'unix'
          ? net.connect(t.path)
          : t.tls
            ? tls.connect({ host: t.host, port: t.port, servername: net.isIP(t.host) ? undefined : t.host, ...(this.o.ca ? { ca: this.o.ca } : {}) })
            : net.connect({ host: t.host, port: t.port });
      s.once(t.kind === 'tcp' && t.tls ? 'secureConnect' : 'connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
  }

  openConsole(vm: string, opts?: { force?: boolean }): Promise<Duplex> {
    return upgradeConsole(() => this.openStream(), vm, { token: this.token, timeoutMs: this.o.callTimeoutMs ?? 30_000, force: opts?.force === true });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.rpc.close();
    this.st.set('down', 'closed');
  }
}
