/**
 * Framing of XML-RPC over the virtio-serial byte stream (pure).
 *
 * A virtio-serial port is a bare byte pipe that outlives host connections, so
 * each message travels in a frame the reader can find again after garbage or
 * a half-written frame from a previous host connection:
 *
 *   offset size  field
 *   0      4     magic "VGA1" (0x56 0x47 0x41 0x31)
 *   4      4     request id, unsigned big-endian; the reply carries the same id
 *   8      4     body length n, unsigned big-endian, at most MAX_FRAME_BYTES
 *   12     n     body: an XML-RPC <methodCall> (host to guest) or
 *                <methodResponse> (guest to host), UTF-8
 *
 * Resynchronisation: bytes that do not start with the magic are skipped up to
 * the next magic; a header announcing more than MAX_FRAME_BYTES is treated as
 * garbage (its magic is skipped). The id lets the host drop a late reply to a
 * call it already gave up on (timeout), so one stale answer never answers the
 * next question. Requests may be pipelined; replies may come in any order.
 */

export const FRAME_MAGIC = Buffer.from('VGA1', 'latin1');
export const FRAME_HEADER_BYTES = 12;
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

export interface Frame {
  id: number;
  body: Buffer;
}

export function encodeFrame(id: number, body: string | Buffer): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (b.length > MAX_FRAME_BYTES) throw new RangeError(`frame body of ${b.length} bytes exceeds ${MAX_FRAME_BYTES}`);
  const h = Buffer.alloc(FRAME_HEADER_BYTES);
  FRAME_MAGIC.copy(h, 0);
  h.writeUInt32BE(id >>> 0, 4);
  h.writeUInt32BE(b.length, 8);
  return Buffer.concat([h, b]);
}

export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes skipped while looking for a frame (garbage, oversized headers). */
  garbageBytes = 0;

  constructor(private readonly maxBytes = MAX_FRAME_BYTES) {}

  /** Forget any partial frame (the peer reconnected). */
  reset(): void {
    this.buf = Buffer.alloc(0);
  }

  get pendingBytes(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Frame[] = [];
    for (;;) {
      const at = this.buf.indexOf(FRAME_MAGIC);
      if (at < 0) {
        // Keep a tail that may be the start of a magic split across chunks.
        const keep = Math.min(this.buf.length, FRAME_MAGIC.length - 1);
        this.garbageBytes += this.buf.length - keep;
        this.buf = this.buf.subarray(this.buf.length - keep);
        if (keep > 0 && !FRAME_MAGIC.subarray(0, keep).equals(this.buf)) {
          this.garbageBytes += keep;
          this.buf = Buffer.alloc(0);
        }
        return out;
      }
      if (at > 0) {
        this.garbageBytes += at;
        this.buf = this.buf.subarray(at);
      }
      if (this.buf.length < FRAME_HEADER_BYTES) return out;
      const id = this.buf.readUInt32BE(4);
      const len = this.buf.readUInt32BE(8);
      if (len > this.maxBytes) {
        this.garbageBytes += FRAME_MAGIC.length;
        this.buf = this.buf.subarray(FRAME_MAGIC.length);
        continue;
      }
      if (this.buf.length < FRAME_HEADER_BYTES + len) return out;
      out.push({ id, body: Buffer.from(this.buf.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + len)) });
      this.buf = this.buf.subarray(FRAME_HEADER_BYTES + len);
    }
  }
}
