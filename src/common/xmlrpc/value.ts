/**
 * XML-RPC values as JS values. Large integers (bytes, nanoseconds) travel as
 * <double>, integers within int32 as <int>; <i8>/<i4>/<int> decode to number;
 * dateTime.iso8601 <-> Date (UTC); base64 <-> Buffer; <nil/> <-> null.
 */
export type XmlRpcValue = null | boolean | number | string | Date | Buffer | XmlRpcValue[] | { [key: string]: XmlRpcValue };

export type XmlRpcStruct = { [key: string]: XmlRpcValue };

/** Type names as XML-RPC introspection (system.methodSignature) spells them. */
export type XmlRpcTypeName = 'int' | 'i4' | 'i8' | 'double' | 'boolean' | 'string' | 'dateTime.iso8601' | 'base64' | 'struct' | 'array' | 'nil' | 'undef';

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

export function isStruct(v: XmlRpcValue | undefined): v is XmlRpcStruct {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v);
}

/** The XML-RPC type a value would be encoded as. */
export function typeOf(v: XmlRpcValue): XmlRpcTypeName {
  if (v === null) return 'nil';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX ? 'int' : 'double';
  if (typeof v === 'string') return 'string';
  if (v instanceof Date) return 'dateTime.iso8601';
  if (Buffer.isBuffer(v)) return 'base64';
  if (Array.isArray(v)) return 'array';
  return 'struct';
}

/**
 * Whether a value fits a declared parameter type. Numbers are lenient the way
 * callers need: a 'double' parameter takes an int, an 'int' parameter takes any
 * integral number (a large count arrives as <double> from clients without i8).
 */
export function fitsType(v: XmlRpcValue, t: string): boolean {
  switch (t) {
    case 'undef':
      return true;
    case 'int':
    case 'i4':
    case 'i8':
      return typeof v === 'number' && Number.isInteger(v);
    case 'double':
      return typeof v === 'number' && Number.isFinite(v);
    case 'nil':
      return v === null;
    default:
      return typeOf(v) === t;
  }
}

/** A JSON-friendly copy: Buffer -> base64 string, Date -> ISO text. */
export function toJsonValue(v: XmlRpcValue): unknown {
  if (v instanceof Date) return v.toISOString();
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (isStruct(v)) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[k] = toJsonValue(x);
    return o;
  }
  return v;
}

/** Converts parsed JSON (or any plain data) into an XML-RPC value; undefined members are dropped. */
export function fromJsonValue(v: unknown): XmlRpcValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (v instanceof Date || Buffer.isBuffer(v)) return v;
  if (Array.isArray(v)) return v.map(fromJsonValue);
  if (typeof v === 'object') {
    const o: XmlRpcStruct = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) o[k] = fromJsonValue(x);
    return o;
  }
  return String(v);
}
