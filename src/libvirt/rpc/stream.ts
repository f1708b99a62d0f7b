import { Duplex } from 'node:stream';
import { MessageStatus, STREAM_CHUNK_MAX } from './constants.js';
import type { RpcConnection } from './connection.js';

/**
 * A libvirt data stream (console, channel) as a Node Duplex. Reading: when the
 * consumer stops reading, the connection stops reading its socket, so the
 * daemon is held back by TCP/unix flow control (libvirt streams have no window
 * of their own). Writing: data goes out in packets of at most 256 KiB and the
 * write callback waits for the socket, so a fast writer is held back too.
 */
export class LibvirtStream extends Duplex {
  private finished = false;

  constructor(
    private readonly rpc: RpcConnection,
    private readonly procedure: number,
    readonly serial: number,
  ) {
    super({ allowHalfOpen: false, highWaterMark: 64 * 1024 });
    rpc.attachStream(serial, {
      data: (chunk) => this.push(chunk),
      // The readable side ends; our writable side then ends too (no half-open), which sends the
      // finish the daemon waits for, and its OK answer arrives as end().
      eof: () => this.endReadable(),
      end: () => {
        this.finished = true;
        this.endReadable();
        this.settleFinal();
      },
      error: (e) => {
        this.finished = true;
        this.settleFinal(e);
        this.destroy(e);
      },
    });
  }

  private readableDone = false;
  /** Our finish, sent and waiting for the daemon's OK (an upload is only done once it says so). */
  private finalCb: ((err?: Error | null) => void) | undefined;

  private settleFinal(err?: Error): void {
    const cb = this.finalCb;
    this.finalCb = undefined;
    cb?.(err ?? null);
  }

  private endReadable(): void {
    if (this.readableDone) return;
    this.readableDone = true;
    this.push(null);
  }

  /** Drop a stream whose open call failed: nothing to tell the daemon. */
  discard(): void {
    this.finished = true;
    this.destroy();
  }

  override _read(): void {
    this.rpc.resumeFor(this.serial);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.finished) return cb(new Error('stream already ended by the daemon'));
    let off = 0;
    const sendNext = (): void => {
      while (off < chunk.length) {
        const piece = chunk.subarray(off, Math.min(chunk.length, off + STREAM_CHUNK_MAX));
        off += piece.length;
        const last = off >= chunk.length;
        const ok = this.rpc.sendStream(this.procedure, this.serial, MessageStatus.CONTINUE, piece, last ? (e) => cb(e ?? null) : undefined);
        if (!ok && !last) {
          // socket buffer full: continue once it drains
          this.rpc.whenDrained(sendNext);
          return;
        }
      }
    };
    if (chunk.length === 0) return cb();
    sendNext();
  }

  /**
   * Tell the daemon we are done sending; 'finish' waits for its OK packet (which also ends the
   * readable side), so an upload has finished only once the daemon has taken everything.
   */
  override _final(cb: (err?: Error | null) => void): void {
    if (this.finished) return cb();
    this.finalCb = cb;
    this.rpc.sendStream(this.procedure, this.serial, MessageStatus.OK, Buffer.alloc(0), (e) => {
      if (e) this.settleFinal(e);
    });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.finished && this.rpc.alive) {
      // abort: an ERROR packet with no body
      this.rpc.sendStream(this.procedure, this.serial, MessageStatus.ERROR, Buffer.alloc(0));
    }
    this.finished = true;
    this.rpc.detachStream(this.serial);
    cb(err);
  }
}

/**
 * Calls a procedure that answers with a stream (console, volume download/upload). The stream is
 * attached before the reply is awaited: libvirtd sends data packets right after it.
 */
export async function openStream(rpc: RpcConnection, proc: number, args: Parameters<RpcConnection['callRaw']>[1]): Promise<LibvirtStream> {
  const { serial, reply } = rpc.callRaw(proc, args);
  const stream = new LibvirtStream(rpc, proc, serial);
  try {
    await reply;
  } catch (e) {
    stream.discard();
    throw e;
  }
  return stream;
}
