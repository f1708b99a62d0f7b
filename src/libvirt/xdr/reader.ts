import { ProtocolError } from '../errors.js';

/**
 * XDR (RFC 4506) decoding over one received message. Every read is bounds-checked
 * and every variable length is checked against the limit the protocol declares,
 * so a garbled or hostile frame can only ever raise ProtocolError.
 */
export class XdrReader {
  private pos: number;
  private readonly end: number;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  get offset(): number {
    return this.pos;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  /** Raise unless the whole message was consumed (trailing bytes mean we misread it). */
  done(what: string): void {
    if (this.pos !== this.end) throw new ProtocolError(`${what}: ${this.end - this.pos} unexpected trailing bytes`);
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) throw new ProtocolError(`truncated message reading ${what}`);
  }

  int(): number {
    this.need(4, 'int');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint(): number {
    this.need(4, 'unsigned int');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  bool(): boolean {
    const v = this.int();
    if (v !== 0 && v !== 1) throw new ProtocolError(`bad XDR bool ${v}`);
    return v === 1;
  }

  /** 64-bit signed as a JS number (exact below 2^53; see hypervisor.ts). */
  hyper(): number {
    this.need(8, 'hyper');
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi * 4294967296 + lo;
  }

  uhyper(): number {
    this.need(8, 'unsigned hyper');
    const hi = this.buf.readUInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi * 4294967296 + lo;
  }

  /** 64-bit unsigned exactly, for values that must round-trip (flags, ids). */
  uhyperBig(): bigint {
    this.need(8, 'unsigned hyper');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  double(): number {
    this.need(8, 'double');
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  private length(max: number, what: string): number {
    const n = this.uint();
    if (n > max) throw new ProtocolError(`${what} length ${n} exceeds limit ${max}`);
    return n;
  }

  string(max = 4194304): string {
    const n = this.length(max, 'string');
    const padded = (n + 3) & ~3;
    this.need(padded, 'string body');
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += padded;
    return s;
  }

  /** remote_string: an optional (pointer) string. */
  optString(max = 4194304): string | null {
    return this.bool() ? this.string(max) : null;
  }

  opaque(max: number): Buffer {
    const n = this.length(max, 'opaque');
    const padded = (n + 3) & ~3;
    this.need(padded, 'opaque body');
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += padded;
    return out;
  }

  fixedOpaque(n: number): Buffer {
    const padded = (n + 3) & ~3;
    this.need(padded, 'fixed opaque');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += padded;
    return out;
  }

  /** Variable-length array: count checked against max and against the bytes left (each item is >= minItemBytes). */
  array<T>(max: number, item: (r: XdrReader) => T, minItemBytes = 4): T[] {
    const n = this.length(max, 'array');
    if (n * minItemBytes > this.end - this.pos) throw new ProtocolError(`array of ${n} items cannot fit in ${this.end - this.pos} bytes`);
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = item(this);
    return out;
  }

  optional<T>(item: (r: XdrReader) => T): T | null {
    return this.bool() ? item(this) : null;
  }

  /** The raw buffer (for fast paths that decode in place). */
  get buffer(): Buffer {
    return this.buf;
  }

  skip(n: number): void {
    this.need(n, 'skip');
    this.pos += n;
  }
}
