import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { CallTimeoutError, ConnectionClosedError, LibvirtError, ProtocolError } from '../errors.js';
import { XdrReader } from '../xdr/reader.js';
import type { XdrWriter } from '../xdr/writer.js';
import {
  KEEPALIVE_PROGRAM,
  KeepaliveProc,
  MESSAGE_MAX,
  MessageStatus,
  MessageType,
  PROTOCOL_VERSION,
  REMOTE_PROGRAM,
  procName,
} from './constants.js';
import { decodeRemoteError, encodeMessage, encodeRaw, FrameDecoder, type Frame } from './frame.js';

export type Endpoint = { path: string } | { host: string; port: number };

export interface RpcOptions {
  /** Used in error messages. */
  uri: string;
  /** Default per-call timeout. */
  timeoutMs?: number;
  /** Send a keepalive PING after this much silence; 0 disables keepalive. */
  keepaliveMs?: number;
  /** Declare the peer dead after this many silent keepalive intervals. */
  keepaliveCount?: number;
  connectTimeoutMs?: number;
  maxMessage?: number;
}

export interface CallOptions {
  timeoutMs?: number;
  program?: number;
  version?: number;
}

/** Receives the data of one stream (console): return false to ask for a pause. */
export interface StreamSink {
  data(chunk: Buffer): boolean;
  /** The daemon has no more data (an empty CONTINUE packet); it still waits for our finish. */
  eof(): void;
  /** The daemon ended the stream (its OK packet, e.g. the answer to our finish). */
  end(): void;
  error(e: Error): void;
}

interface Pending {
  name: string;
  resolve(body: Buffer): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** Serials of calls that timed out: a late reply to them is expected, not a violation. */
const LATE_MAX = 1024;

/**
 * One libvirt RPC connection: many calls in flight keyed by serial, event
 * messages, stream packets, keepalive. Anything that ends it rejects every
 * pending call at once, so nothing waits forever.
 */
export class RpcConnection extends EventEmitter {
  private serial = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly late = new Set<number>();
  private readonly streams = new Map<number, StreamSink>();
  private readonly pausedBy = new Set<number>();
  private readonly decoder: FrameDecoder;
  private closedWith: Error | null = null;
  private lastRx = Date.now();
  private keepaliveTimer: NodeJS.Timeout | null = null;
  readonly timeoutMs: number;

  private constructor(
    private readonly socket: net.Socket,
    private readonly opts: RpcOptions,
  ) {
    super();
    this.timeoutMs = opts.timeoutMs ?? 30000;
    this.decoder = new FrameDecoder(opts.maxMessage ?? MESSAGE_MAX + 4);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.shutdown(new ConnectionClosedError(opts.uri, e.message)));
    socket.on('close', () => this.shutdown(new ConnectionClosedError(opts.uri, 'socket closed')));
    const ka = opts.keepaliveMs ?? 5000;
    if (ka > 0) {
      const count = opts.keepaliveCount ?? 5;
      this.keepaliveTimer = setInterval(() => {
        // a stream reader that is full pauses the socket on purpose: that silence is ours, not the daemon's
        if (this.pausedBy.size > 0) this.lastRx = Date.now();
        const silent = Date.now() - this.lastRx;
        if (silent >= ka * (count + 1)) this.shutdown(new ConnectionClosedError(opts.uri, `no answer to keepalive for ${silent} ms`));
        else if (silent >= ka) this.sendKeepalive(KeepaliveProc.PING);
      }, ka);
      this.keepaliveTimer.unref();
    }
  }

  static open(endpoint: Endpoint, opts: RpcOptions): Promise<RpcConnection> {
    return new Promise((resolve, reject) => {
      const socket = 'path' in endpoint ? net.createConnection({ path: endpoint.path }) : net.createConnection({ host: endpoint.host, port: endpoint.port });
      const where = 'path' in endpoint ? endpoint.path : `${endpoint.host}:${endpoint.port}`;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ConnectionClosedError(opts.uri, `connecting to ${where} timed out`));
      }, opts.connectTimeoutMs ?? opts.timeoutMs ?? 30000);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new ConnectionClosedError(opts.uri, `cannot connect to ${where}: ${e.message}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RpcConnection(socket, opts));
      });
    });
  }

  get alive(): boolean {
    return this.closedWith === null;
  }

  get uri(): string {
    return this.opts.uri;
  }

  /** Streams whose full readers currently hold the socket paused (for tests and diagnostics). */
  get pausedStreams(): number {
    return this.pausedBy.size;
  }

  /** In-flight calls (for tests and diagnostics). */
  get inFlight(): number {
    return this.pending.size;
  }

  private nextSerial(): number {
    const s = this.serial;
    this.serial = this.serial >= 0x7fffffff ? 1 : this.serial + 1;
    return s;
  }

  /** Send a call; resolves with the raw reply body. */
  callRaw(procedure: number, args?: (w: XdrWriter) => void, o: CallOptions = {}): { serial: number; reply: Promise<Buffer> } {
    const program = o.program ?? REMOTE_PROGRAM;
    const name = procName(program, procedure);
    if (this.closedWith) return { serial: 0, reply: Promise.reject(this.closedError()) };
    const serial = this.nextSerial();
    let msg: Buffer;
    try {
      msg = encodeMessage({ program, version: o.version ?? PROTOCOL_VERSION, procedure, type: MessageType.CALL, serial, status: MessageStatus.OK }, args);
    } catch (e) {
      return { serial, reply: Promise.reject(e instanceof Error ? e : new Error(String(e))) };
    }
    const timeoutMs = o.timeoutMs ?? this.timeoutMs;
    const reply = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(serial);
        this.rememberLate(serial);
        reject(new CallTimeoutError(name, timeoutMs));
      }, timeoutMs);
      this.pending.set(serial, { name, resolve, reject, timer });
    });
    this.socket.write(msg);
    return { serial, reply };
  }

  /** Call and decode the reply; a reply that does not decode is a ProtocolError for this call. */
  async call<T = void>(procedure: number, args?: (w: XdrWriter) => void, decode?: (r: XdrReader) => T, o?: CallOptions): Promise<T> {
    const body = await this.callRaw(procedure, args, o).reply;
    if (!decode) return undefined as T;
    const r = new XdrReader(body);
    const out = decode(r);
    r.done(procName(o?.program ?? REMOTE_PROGRAM, procedure));
    return out;
  }

  /** Register where the stream packets for a call's serial go (console, channels). */
  attachStream(serial: number, sink: StreamSink): void {
    this.streams.set(serial, sink);
  }

  detachStream(serial: number): void {
    this.streams.delete(serial);
    this.resumeFor(serial);
  }

  /** Send stream data (or end/abort) for the stream opened by call `serial`. */
  sendStream(procedure: number, serial: number, status: number, payload: Uint8Array, cb?: (err?: Error | null) => void): boolean {
    if (this.closedWith) {
      cb?.(this.closedError());
      return false;
    }
    const msg = encodeRaw({ program: REMOTE_PROGRAM, version: PROTOCOL_VERSION, procedure, type: MessageType.STREAM, serial, status }, payload);
    return this.socket.write(msg, cb);
  }

  /** Call `cb` once the socket's write buffer has drained (a writer's backpressure). */
  whenDrained(cb: () => void): void {
    if (this.closedWith || !this.socket.writableNeedDrain) return cb();
    this.socket.once('drain', cb);
  }

  /** A stream's reader is full: stop reading the socket (libvirt has no per-stream window) until it drains. */
  pauseFor(serial: number): void {
    this.pausedBy.add(serial);
    this.socket.pause();
  }

  resumeFor(serial: number): void {
    if (this.pausedBy.delete(serial) && this.pausedBy.size === 0 && !this.closedWith) this.socket.resume();
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closedWith) return resolve();
      this.socket.once('close', () => resolve());
      this.shutdown(new ConnectionClosedError(this.opts.uri, 'closed by client'), true);
    });
  }

  /** What a call made after the end gets: always ConnectionClosedError, whatever ended it. */
  private closedError(): Error {
    const w = this.closedWith;
    if (w instanceof ConnectionClosedError) return w;
    return new ConnectionClosedError(this.opts.uri, w ? w.message : 'closed');
  }

  private rememberLate(serial: number): void {
    this.late.add(serial);
    if (this.late.size > LATE_MAX) {
      const first = this.late.values().next().value;
      if (first !== undefined) this.late.delete(first);
    }
  }

  private sendKeepalive(proc: number): void {
    if (this.closedWith) return;
    this.socket.write(encodeMessage({ program: KEEPALIVE_PROGRAM, version: 1, procedure: proc, type: MessageType.MESSAGE, serial: 0, status: MessageStatus.OK }));
  }

  private onData(chunk: Buffer): void {
    this.lastRx = Date.now();
    try {
      this.decoder.push(chunk, (f) => this.dispatch(f));
    } catch (e) {
      const err = e instanceof ProtocolError ? e : new ProtocolError(`bad message from ${this.opts.uri}: ${(e as Error).message}`);
      this.shutdown(err);
    }
  }

  private dispatch(f: Frame): void {
    const h = f.header;
    if (h.program === KEEPALIVE_PROGRAM) {
      if (h.procedure === KeepaliveProc.PING) this.sendKeepalive(KeepaliveProc.PONG);
      return;
    }
    if (h.type === MessageType.REPLY || h.type === MessageType.REPLY_WITH_FDS) {
      const p = this.pending.get(h.serial);
      if (!p) {
        if (this.late.delete(h.serial)) return;
        throw new ProtocolError(`reply for unknown call serial ${h.serial}`);
      }
      this.pending.delete(h.serial);
      clearTimeout(p.timer);
      if (h.status === MessageStatus.OK) p.resolve(f.body);
      else {
        let err: Error;
        try {
          err = decodeRemoteError(f.body);
        } catch (e) {
          err = e instanceof ProtocolError ? e : new ProtocolError(String(e));
        }
        p.reject(err);
      }
      return;
    }
    if (h.type === MessageType.MESSAGE) {
      this.emit('event', f);
      return;
    }
    if (h.type === MessageType.STREAM) {
      const s = this.streams.get(h.serial);
      if (!s) return; // data still in flight for a stream we already closed
      if (h.status === MessageStatus.CONTINUE) {
        // An empty CONTINUE is libvirt's end of data (a download's EOF), not a packet to skip.
        if (f.body.length === 0) s.eof();
        else if (!s.data(Buffer.from(f.body))) this.pauseFor(h.serial);
      } else if (h.status === MessageStatus.OK) {
        this.streams.delete(h.serial);
        this.resumeFor(h.serial);
        s.end();
      } else {
        this.streams.delete(h.serial);
        this.resumeFor(h.serial);
        let err: Error;
        try {
          err = decodeRemoteError(f.body);
        } catch {
          err = new LibvirtError('stream failed', 1);
        }
        s.error(err);
      }
      return;
    }
    if (h.type === MessageType.STREAM_HOLE) return; // sparse streams are not used here
    throw new ProtocolError(`unexpected message type ${h.type} from server`);
  }

  /** End the connection once: every pending call (and, unless we closed it, every stream) gets `err`. */
  private shutdown(err: Error, byClient = false): void {
    if (this.closedWith) return;
    this.closedWith = err;
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    // our own close ends streams cleanly; anything else is an error for their readers
    for (const s of this.streams.values()) {
      if (byClient) s.end();
      else s.error(err);
    }
    this.streams.clear();
    this.socket.destroy();
    this.emit('close', err);
  }
}
