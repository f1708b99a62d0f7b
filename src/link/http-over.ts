/** XML-RPC and the console upgrade over streams the link opens (SSH channels), pooled with keep-alive. */
import http from 'node:http';
import type { ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import { VemError } from '../common/errors.js';
import { decodeResponse, encodeCall } from '../common/xmlrpc/codec.js';
import { XmlRpcHttpError, XmlRpcTimeoutError } from '../common/xmlrpc/client.js';
import type { XmlRpcValue } from '../common/xmlrpc/value.js';

export type OpenStream = () => Promise<Duplex>;

function noop(): void {}

/** http wants a few socket methods an SSH channel lacks; keep-alive and timeouts are the SSH link's job. */
function asSocket(s: Duplex): Duplex {
  const d = s as Duplex & Record<string, unknown>;
  for (const m of ['setKeepAlive', 'setNoDelay', 'setTimeout', 'ref', 'unref']) if (typeof d[m] !== 'function') d[m] = noop;
  if (typeof d['destroySoon'] !== 'function') d['destroySoon'] = () => s.destroy();
  return s;
}

/** Idle channels are closed before the agent's own keep-alive timeout (30 s) would cut them mid-reuse. */
const IDLE_MS = 20_000;

/** An http.Agent whose connections are streams from `open` (one SSH channel per pooled connection). */
export class StreamAgent extends http.Agent {
  private readonly idle = new WeakMap<Duplex, NodeJS.Timeout>();

  constructor(
    private readonly open: OpenStream,
    maxSockets = 16,
  ) {
    super({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' });
  }

  override createConnection(_o: ClientRequestArgs, cb?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    this.open().then(
      (s) => cb?.(null, asSocket(s)),
      (e: unknown) => cb?.(e instanceof Error ? e : new Error(String(e)), undefined as unknown as Duplex),
    );
    return undefined;
  }

  override keepSocketAlive(socket: Duplex): boolean {
    if (!(super.keepSocketAlive(socket) as unknown as boolean)) return false;
    const t = setTimeout(() => socket.destroy(), IDLE_MS);
    t.unref();
    this.idle.set(socket, t);
    return true;
  }

  override reuseSocket(socket: Duplex, req: http.ClientRequest): void {
    super.reuseSocket(socket, req); // drops the free-socket error listener
    const t = this.idle.get(socket);
    if (t) clearTimeout(t);
  }
}

export interface PostOptions {
  token?: string;
  timeoutMs: number;
  maxResponseBytes?: number;
}

/** One XML-RPC call through an agent-managed pool of streams. */
export function callOver(agent: http.Agent, method: string, params: XmlRpcValue[], o: PostOptions): Promise<XmlRpcValue> {
  const body = encodeCall(method, params);
  const headers: Record<string, string | number> = { 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(body), 'User-Agent': 'vem', Host: 'agent' };
  if (o.token !== undefined) headers['Authorization'] = `Bearer ${o.token}`;
  const max = o.maxResponseBytes ?? 256 * 1024 * 1024;
  return new Promise<string>((resolve, reject) => {
    const req = http.request({ method: 'POST', path: '/RPC2', headers, agent, host: 'agent' }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) req.destroy(new VemError(`response larger than ${max} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new XmlRpcHttpError(res.statusCode ?? 0, text));
        else resolve(text);
      });
      res.on('error', reject);
    });
    req.setTimeout(o.timeoutMs, () => req.destroy(new XmlRpcTimeoutError(`no answer within ${o.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  }).then((xml) => decodeResponse(xml, { maxBytes: max }));
}

/** `GET /console/<vm>` with `Upgrade: vem-console` on a fresh stream: resolves to the raw console bytes both ways. */
export function upgradeConsole(open: OpenStream, vm: string, o: { token?: string; timeoutMs: number; force?: boolean }): Promise<Duplex> {
  const headers: Record<string, string> = { Connection: 'Upgrade', Upgrade: 'vem-console', Host: 'agent', 'User-Agent': 'vem' };
  if (o.token !== undefined) headers['Authorization'] = `Bearer ${o.token}`;
  return new Promise((resolve, reject) => {
    const req = http.request({
      method: 'GET',
      path: `/console/${encodeURIComponent(vm)}${o.force ? '?force=1' : ''}`,
      headers,
      host: 'agent',
      // No agent at all: with one, http would ignore createConnection (agent:false means a fresh default Agent).
      createConnection: ((_opts: ClientRequestArgs, cb: (err: Error | null, s?: Duplex) => void) => {
        open().then((s) => cb(null, asSocket(s)), (e: unknown) => cb(e instanceof Error ? e : new Error(String(e))));
        return undefined;
      }) as unknown as ClientRequestArgs['createConnection'],
    });
    const timer = setTimeout(() => req.destroy(new XmlRpcTimeoutError(`console of ${vm}: no answer within ${o.timeoutMs} ms`)), o.timeoutMs);
    req.on('upgrade', (_res, socket: Duplex, head: Buffer) => {
      clearTimeout(timer);
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    req.on('response', (res) => {
      clearTimeout(timer);
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => reject(new XmlRpcHttpError(res.statusCode ?? 0, `console of ${vm}: ${Buffer.concat(chunks).toString('utf8')}`)));
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end();
  });
}
