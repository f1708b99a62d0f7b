/**
 * Numeric columns packed as base64 of little-endian typed arrays (plain XML-RPC
 * <base64>): one element per number instead of a <member><name>..<value><double>
 * per field per VM, which is what made decoding vm.list the dashboard's cost.
 */
const LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function packInt32(xs: ArrayLike<number>): Buffer {
  const b = Buffer.allocUnsafe(xs.length * 4);
  for (let i = 0; i < xs.length; i++) b.writeInt32LE(xs[i] as number, i * 4);
  return b;
}

export function packFloat32(xs: ArrayLike<number>): Buffer {
  const b = Buffer.allocUnsafe(xs.length * 4);
  for (let i = 0; i < xs.length; i++) b.writeFloatLE(xs[i] as number, i * 4);
  return b;
}

/** Throws a RangeError naming the column when its length is not whole 4-byte elements. */
function check(b: Buffer, what: string): number {
  if (b.length % 4 !== 0) throw new RangeError(`packed column ${what} is ${b.length} bytes, not whole 4-byte elements`);
  return b.length / 4;
}

export function unpackInt32(b: Buffer, what = 'int32'): Int32Array {
  const n = check(b, what);
  if (LE && b.byteOffset % 4 === 0) return new Int32Array(b.buffer, b.byteOffset, n);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = b.readInt32LE(i * 4);
  return out;
}

export function unpackFloat32(b: Buffer, what = 'float32'): Float32Array {
  const n = check(b, what);
  if (LE && b.byteOffset % 4 === 0) return new Float32Array(b.buffer, b.byteOffset, n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = b.readFloatLE(i * 4);
  return out;
}
