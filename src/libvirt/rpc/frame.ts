import { LibvirtError, ProtocolError } from '../errors.js';
import { XdrReader } from '../xdr/reader.js';
import { XdrWriter } from '../xdr/writer.js';
import { HEADER_BYTES, MESSAGE_MAX, MessageStatus, MessageType, STRING_MAX } from './constants.js';

/** virNetMessageHeader. */
export interface Header {
  program: number;
  version: number;
  procedure: number;
  type: number;
  serial: number;
  status: number;
}

/** One whole message: header plus the undecoded body (a view into the received bytes). */
export interface Frame {
  header: Header;
  body: Buffer;
}

/** Build one message: length word, header, then whatever `body` writes. */
export function encodeMessage(h: Header, body?: (w: XdrWriter) => void, sizeHint = 256): Buffer {
  const w = new XdrWriter(sizeHint);
  w.uint(0);
  w.uint(h.program).uint(h.version).int(h.procedure).int(h.type).uint(h.serial).int(h.status);
  if (body) body(w);
  if (w.length - 4 > MESSAGE_MAX) throw new RangeError(`message of ${w.length} bytes exceeds libvirt's limit`);
  w.patchUint(0, w.length);
  return w.finish();
}

/** A message with a raw byte payload (stream data). */
export function encodeRaw(h: Header, payload: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(4 + HEADER_BYTES + payload.length);
  buf.writeUInt32BE(buf.length, 0);
  buf.writeUInt32BE(h.program >>> 0, 4);
  buf.writeUInt32BE(h.version >>> 0, 8);
  buf.writeInt32BE(h.procedure | 0, 12);
  buf.writeInt32BE(h.type | 0, 16);
  buf.writeUInt32BE(h.serial >>> 0, 20);
  buf.writeInt32BE(h.status | 0, 24);
  buf.set(payload, 28);
  return buf;
}

function decodeHeader(buf: Buffer): Header {
  const h: Header = {
    program: buf.readUInt32BE(4),
    version: buf.readUInt32BE(8),
    procedure: buf.readInt32BE(12),
    type: buf.readInt32BE(16),
    serial: buf.readUInt32BE(20),
    status: buf.readInt32BE(24),
  };
  if (h.type < MessageType.CALL || h.type > MessageType.STREAM_HOLE) throw new ProtocolError(`unknown message type ${h.type}`);
  if (h.status < MessageStatus.OK || h.status > MessageStatus.CONTINUE) throw new ProtocolError(`unknown message status ${h.status}`);
  return h;
}

/**
 * Splits a byte stream into frames. Memory is bounded: at most one frame of at
 * most `maxMessage` bytes is buffered, and a length outside [28, max] is refused
 * before anything is allocated for it.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: ProtocolError | null = null;

  constructor(private readonly maxMessage = MESSAGE_MAX + 4) {}

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.buffered;
  }

  /** Feed bytes; calls onFrame for each complete frame. Throws ProtocolError (and stays failed) on a bad frame. */
  push(chunk: Buffer, onFrame: (f: Frame) => void): void {
    if (this.failed) throw this.failed;
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    try {
      for (;;) {
        if (this.buffered < 4) return;
        const len = this.peekLength();
        if (len < 4 + HEADER_BYTES || len > this.maxMessage) throw new ProtocolError(`bad message length ${len}`);
        if (this.buffered < len) return;
        const buf = this.take(len);
        onFrame({ header: decodeHeader(buf), body: buf.subarray(4 + HEADER_BYTES) });
      }
    } catch (e) {
      if (e instanceof ProtocolError) {
        this.failed = e;
        this.chunks = [];
        this.buffered = 0;
      }
      throw e;
    }
  }

  private peekLength(): number {
    const first = this.chunks[0] as Buffer;
    if (first.length >= 4) return first.readUInt32BE(0);
    const four = Buffer.alloc(4);
    let got = 0;
    for (const c of this.chunks) {
      const n = Math.min(4 - got, c.length);
      c.copy(four, got, 0, n);
      got += n;
      if (got === 4) break;
    }
    return four.readUInt32BE(0);
  }

  /** Remove `len` bytes from the front, copying only when the frame spans chunks. */
  private take(len: number): Buffer {
    const first = this.chunks[0] as Buffer;
    this.buffered -= len;
    if (first.length >= len) {
      if (first.length === len) this.chunks.shift();
      else this.chunks[0] = first.subarray(len);
      return first.subarray(0, len);
    }
    const out = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const c = this.chunks[0] as Buffer;
      const n = Math.min(len - got, c.length);
      c.copy(out, got, 0, n);
      got += n;
      if (n === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(n);
    }
    return out;
  }
}

/** remote_error → LibvirtError (code, domain, message, level). */
export function decodeRemoteError(body: Buffer): LibvirtError {
  const r = new XdrReader(body);
  const code = r.int();
  const domain = r.int();
  const message = r.optString(STRING_MAX);
  const level = r.int();
  // dom, str1..3, int1, int2, net follow; the message already carries what a person needs.
  return new LibvirtError(message ?? `libvirt error ${code}`, code, domain, level);
}
