/**
 * XDR (RFC 4506) encoding into a growable buffer. The first bytes can be
 * reserved for the RPC length word and header, so a message is built in one pass.
 */
export class XdrWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v | 0, this.pos);
    this.pos += 4;
    return this;
  }

  uint(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  bool(v: boolean): this {
    return this.int(v ? 1 : 0);
  }

  hyper(v: number | bigint): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(BigInt(typeof v === 'number' ? Math.trunc(v) : v), this.pos);
    this.pos += 8;
    return this;
  }

  uhyper(v: number | bigint): this {
    this.ensure(8);
    this.buf.writeBigUInt64BE(BigInt(typeof v === 'number' ? Math.trunc(v) : v), this.pos);
    this.pos += 8;
    return this;
  }

  double(v: number): this {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
    return this;
  }

  private pad(n: number): void {
    const p = (4 - (n & 3)) & 3;
    if (p) {
      this.ensure(p);
      this.buf.fill(0, this.pos, this.pos + p);
      this.pos += p;
    }
  }

  string(s: string): this {
    const n = Buffer.byteLength(s, 'utf8');
    this.uint(n);
    this.ensure(n);
    this.buf.write(s, this.pos, 'utf8');
    this.pos += n;
    this.pad(n);
    return this;
  }

  optString(s: string | null | undefined): this {
    if (s === null || s === undefined) return this.int(0);
    return this.int(1).string(s);
  }

  opaque(b: Uint8Array): this {
    this.uint(b.length);
    return this.fixedOpaque(b);
  }

  fixedOpaque(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    this.pad(b.length);
    return this;
  }

  array<T>(items: readonly T[], item: (w: XdrWriter, v: T) => void): this {
    this.uint(items.length);
    for (const v of items) item(this, v);
    return this;
  }

  /** Overwrite a 32-bit unsigned value already written (the length word). */
  patchUint(at: number, v: number): void {
    this.buf.writeUInt32BE(v >>> 0, at);
  }

  /** A copy-free view of what was written. */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
