/**
 * XML-RPC client over HTTP(S), a unix socket, or any Duplex a caller opens
 * (an SSH channel): the transport is a detail, the calls are the same.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { VemError } from '../errors.js';
import { redactUrls, splitUserinfo } from './auth.js';
import { decodeResponse, encodeCall } from './codec.js';
import type { XmlRpcValue } from './value.js';

export interface XmlRpcClientOptions {
  /** http://HOST:PORT/PATH, https://..., or unix:/path/to.sock */
  url?: string;
  socketPath?: string;
  token?: string;
  /** Opens a fresh byte stream for one request (e.g. an SSH direct-streamlocal channel). */
  createConnection?: () => Duplex;
  timeoutMs?: number;
  /** For https: the CA (PEM) that signed the agent's certificate. */
  ca?: string;
  maxResponseBytes?: number;
}

/** The agent answered with an HTTP error instead of an XML-RPC response (401, 413, ...). */
export class XmlRpcHttpError extends VemError {
  /** The body was an HTML page (a web server or proxy, not an agent). */
  readonly html: boolean;
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}${describeBody(body)}`);
    this.html = /^\s*(<!doctype html|<html)/i.test(body);
  }
}

/** An HTTP error body in a few words: its text, an HTML page's title, or that it was empty. */
function describeBody(body: string): string {
  const t = body.trim();
  if (t === '') return ' with an empty body';
  if (/^(<!doctype html|<html)/i.test(t)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(t)?.[1]?.trim() ?? /<h1[^>]*>([^<]*)<\/h1>/i.exec(t)?.[1]?.trim();
    return ` with an HTML page${title ? ` ("${title.slice(0, 80)}")` : ''}`;
  }
  return `: ${t.replace(/\s+/g, ' ').slice(0, 200)}`;
}

export class XmlRpcTimeoutError extends VemError {}

export class XmlRpcClient {
  private readonly target: { protocol: 'http:' | 'https:'; host?: string; port?: number; path: string; socketPath?: string };
  private readonly agent?: http.Agent;

  constructor(private readonly opts: XmlRpcClientOptions) {
    const url = opts.url;
    if (opts.socketPath || url?.startsWith('unix:')) {
      const p = opts.socketPath ?? (url as string).replace(/^unix:(\/\/)?/, '');
      this.target = { protocol: 'http:', socketPath: p, path: '/RPC2' };
    } else if (url) {
      // The token may come in the userinfo, with any characters: it goes into the header, never into a message.
      const split = splitUserinfo(url);
      let u: URL;
      try {
        u = new URL(split.url);
      } catch {
        throw new VemError(`agent URL ${redactUrls(url)} is not a URL`, 'expected http://127.0.0.1:PORT/, https://HOST:PORT/ or unix:/path');
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new VemError(`unsupported agent URL ${redactUrls(url)}`, 'use http://, https:// or unix:PATH');
      this.target = { protocol: u.protocol, host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)), path: u.pathname || '/' };
      if (!opts.token && split.token !== undefined) this.opts = { ...opts, token: split.token };
    } else if (opts.createConnection) {
      this.target = { protocol: 'http:', path: '/RPC2' };
    } else {
      throw new VemError('XmlRpcClient needs a url, a socketPath or createConnection');
    }
    if (!opts.createConnection) {
      const agentOpts = { keepAlive: true, maxSockets: 32 };
      this.agent = this.target.protocol === 'https:' ? new https.Agent({ ...agentOpts, ca: opts.ca }) : new http.Agent(agentOpts);
    }
  }

  call(method: string, ...params: XmlRpcValue[]): Promise<XmlRpcValue> {
    const body = encodeCall(method, params);
    return this.post(body).then((xml) => decodeResponse(xml, { maxBytes: this.opts.maxResponseBytes }));
  }

  /** Sends raw XML and returns the raw response text (tests of malformed input use it). */
  post(body: string, extraHeaders: Record<string, string> = {}): Promise<string> {
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    const headers: Record<string, string | number> = {
      'Content-Type': 'text/xml',
      'Content-Length': Buffer.byteLength(body),
      'User-Agent': 'vem',
      ...extraHeaders,
    };
    if (this.opts.token !== undefined) headers.Authorization = `Bearer ${this.opts.token}`;
    const t = this.target;
    const reqOpts: https.RequestOptions = {
      method: 'POST',
      path: t.path,
      headers,
      agent: this.agent ?? false,
      host: t.host ?? 'localhost',
      port: t.port,
      socketPath: t.socketPath,
    };
    if (this.opts.createConnection) {
      const open = this.opts.createConnection;
      reqOpts.createConnection = () => open() as unknown as import('node:net').Socket;
    }
    if (t.protocol === 'https:' && this.opts.ca) reqOpts.ca = this.opts.ca;
    const mod = t.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(reqOpts, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const max = this.opts.maxResponseBytes ?? 256 * 1024 * 1024;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > max) {
            req.destroy(new VemError(`response larger than ${max} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) reject(new XmlRpcHttpError(res.statusCode ?? 0, text));
          else resolve(text);
        });
        res.on('error', reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(new XmlRpcTimeoutError(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent?.destroy();
  }
}
