/**
 * The XML-RPC HTTP server: TCP (loopback unless TLS + token), and/or a unix
 * socket (mode 0600). Bodies are capped, slow and idle connections timed out,
 * tokens compared in constant time. Extra GET routes and upgrades (metrics,
 * console) plug in through `routes` and get the same authentication.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';
import { VemError } from '../errors.js';
import { isLoopbackHost, parseListen, tokenFromHeader, tokensEqual } from './auth.js';
import { DEFAULT_MAX_BYTES, decodeCall, encodeFault, encodeResponse, FaultCode, XmlRpcEncodeError } from './codec.js';
import { toFault, type MethodRegistry } from './registry.js';

export interface ServerRoutes {
  /** A GET (or other non-POST) request; return false when the path is not yours. */
  request?(req: http.IncomingMessage, res: http.ServerResponse, caller: string): boolean | Promise<boolean>;
  /** An HTTP upgrade; return false when the path is not yours. */
  upgrade?(req: http.IncomingMessage, socket: Duplex, head: Buffer, caller: string): boolean | Promise<boolean>;
}

export interface XmlRpcServerOptions {
  registry: MethodRegistry;
  /** "127.0.0.1:PORT" (port 0 picks one). Non-loopback needs tls and token. */
  listen?: string;
  /** A unix socket path; its folder is created 0700 when missing, the socket made 0600. */
  socket?: string;
  token?: string;
  /** PEM text or file paths. */
  tls?: { cert: string; key: string };
  readOnly?: boolean;
  maxBodyBytes?: number;
  /** Whole headers must arrive within this (slowloris). */
  headersTimeoutMs?: number;
  /** A whole request (headers + body) must arrive within this. */
  requestTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this. */
  idleTimeoutMs?: number;
  routes?: ServerRoutes;
  /**
   * For reads whose answer only changes at known moments (e.g. once per collection): a key
   * for this call, or undefined. Calls with the same key get the same encoded answer.
   */
  cacheKey?(method: string, params: import('./value.js').XmlRpcValue[]): string | undefined;
}

export interface RunningXmlRpcServer {
  /** http(s)://HOST:PORT/ when listening on TCP, else unix:PATH. */
  url: string;
  tcpUrl?: string;
  socketPath?: string;
  close(): Promise<void>;
}

function pem(v: string): string {
  return v.includes('-----BEGIN') ? v : readFileSync(v, 'utf8');
}

async function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

function send(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export async function startXmlRpcServer(o: XmlRpcServerOptions): Promise<RunningXmlRpcServer> {
  const maxBody = o.maxBodyBytes ?? DEFAULT_MAX_BYTES;
  if (!o.listen && !o.socket) throw new VemError('the XML-RPC server needs a listen address or a socket path');
  let tcp: { host: string; port: number } | undefined;
  if (o.listen) {
    try {
      tcp = parseListen(o.listen);
    } catch (e) {
      throw new VemError((e as Error).message);
    }
    if (!isLoopbackHost(tcp.host) && !(o.tls && o.token)) {
      throw new VemError(`refusing to listen on non-loopback address ${tcp.host} without TLS and a token`, 'pass --tls-cert, --tls-key and --token-file, or listen on 127.0.0.1');
    }
  }

  const authorized = (req: http.IncomingMessage): boolean => {
    if (o.token === undefined) return true;
    const given = tokenFromHeader(req.headers.authorization);
    return given !== undefined && tokensEqual(given, o.token);
  };
  const callerOf = (req: http.IncomingMessage, kind: 'tcp' | 'unix'): string =>
    kind === 'unix' ? `unix:${o.socket}` : `tcp:${req.socket.remoteAddress}:${req.socket.remotePort}`;

  const handle = (kind: 'tcp' | 'unix') => (req: http.IncomingMessage, res: http.ServerResponse) => {
    const caller = callerOf(req, kind);
    if (!authorized(req)) {
      req.resume();
      send(res, 401, 'missing or wrong token\n', { 'WWW-Authenticate': 'Basic realm="vem", Bearer' });
      return;
    }
    if (req.method !== 'POST') {
      void Promise.resolve(o.routes?.request?.(req, res, caller) ?? false).then(
        (done) => {
          if (!done) send(res, req.method === 'GET' ? 404 : 405, 'XML-RPC: POST a methodCall\n', { Allow: 'POST' });
        },
        (e: unknown) => send(res, 500, `${(e as Error).message}\n`),
      );
      return;
    }
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > maxBody) {
      send(res, 413, `request body larger than ${maxBody} bytes\n`, { Connection: 'close' });
      req.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      if (tooBig) return;
      size += c.length;
      if (size > maxBody) {
        tooBig = true;
        send(res, 413, `request body larger than ${maxBody} bytes\n`, { Connection: 'close' });
        setImmediate(() => req.destroy());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (tooBig) return;
      void answer(Buffer.concat(chunks).toString('utf8'), caller).then((xml) => {
        if (res.headersSent || res.destroyed) return;
        res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8', 'Content-Length': Buffer.byteLength(xml) });
        res.end(xml);
      });
    });
    req.on('error', () => req.destroy());
  };

  const cache = new Map<string, string>();
  const answer = async (body: string, caller: string): Promise<string> => {
    let call;
    try {
      call = decodeCall(body, { maxBytes: maxBody });
    } catch (e) {
      return encodeFault(FaultCode.PARSE_ERROR, (e as Error).message);
    }
    const key = o.cacheKey?.(call.method, call.params);
    if (key !== undefined) {
      const hit = cache.get(key);
      if (hit !== undefined) return hit;
    }
    try {
      const v = await o.registry.dispatch(call.method, call.params, { caller, readOnly: o.readOnly === true });
      const xml = encodeResponse(v);
      if (key !== undefined) {
        if (cache.size >= 64) cache.clear();
        cache.set(key, xml);
      }
      return xml;
    } catch (e) {
      if (e instanceof XmlRpcEncodeError) return encodeFault(FaultCode.INTERNAL_ERROR, `result cannot be encoded: ${e.message}`);
      const f = toFault(e);
      return encodeFault(f.code, f.message);
    }
  };

  const upgraded = new Set<Duplex>();
  const configure = (s: http.Server, kind: 'tcp' | 'unix'): void => {
    s.headersTimeout = o.headersTimeoutMs ?? 10_000;
    s.requestTimeout = o.requestTimeoutMs ?? 30_000;
    s.keepAliveTimeout = o.idleTimeoutMs ?? 30_000;
    s.maxHeadersCount = 100;
    s.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => undefined);
      // Upgraded sockets (consoles) leave http's bookkeeping: tracked here so close() can end them.
      upgraded.add(socket);
      socket.once('close', () => upgraded.delete(socket));
      if (!authorized(req)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      void Promise.resolve(o.routes?.upgrade?.(req, socket, head, callerOf(req, kind)) ?? false).then(
        (done) => {
          if (!done) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        },
        () => socket.destroy(),
      );
    });
    s.on('clientError', (_e, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
  };

  // Node checks request/headers timeouts on this interval; keep it short so slow senders go quickly.
  const httpOpts = { connectionsCheckingInterval: 1000, maxHeaderSize: 16 * 1024 };
  const servers: http.Server[] = [];
  let tcpUrl: string | undefined;
  let socketPath: string | undefined;
  try {
    if (tcp) {
      const s = o.tls
        ? https.createServer({ ...httpOpts, cert: pem(o.tls.cert), key: pem(o.tls.key) }, handle('tcp'))
        : http.createServer(httpOpts, handle('tcp'));
      configure(s, 'tcp');
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(tcp.port, tcp.host, () => resolve());
      });
      const addr = s.address() as net.AddressInfo;
      const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      tcpUrl = `${o.tls ? 'https' : 'http'}://${host}:${addr.port}/`;
    }
    if (o.socket) {
      const path = o.socket;
      if (!existsSync(dirname(path))) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      if (existsSync(path)) {
        if (await socketInUse(path)) throw new VemError(`${path} is in use by another process`, 'is an agent already running?');
        unlinkSync(path);
      }
      const s = http.createServer(httpOpts, handle('unix'));
      configure(s, 'unix');
      servers.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(path, () => resolve());
      });
      chmodSync(path, 0o600);
      socketPath = path;
    }
  } catch (e) {
    for (const s of servers) s.close();
    throw e;
  }
  return {
    url: tcpUrl ?? `unix:${socketPath}`,
    tcpUrl,
    socketPath,
    close: async () => {
      // Consoles first: a server does not finish closing while an upgraded socket is open.
      for (const u of upgraded) u.destroy();
      upgraded.clear();
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
      if (socketPath && existsSync(socketPath)) {
        try {
          unlinkSync(socketPath);
        } catch {
          /* already gone */
        }
      }
    },
  };
}
