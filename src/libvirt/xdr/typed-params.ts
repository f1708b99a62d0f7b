import { ProtocolError } from '../errors.js';
import type { XdrReader } from './reader.js';
import type { XdrWriter } from './writer.js';

/** virTypedParameterType, as on the wire. */
export const TypedParamType = {
  INT: 1,
  UINT: 2,
  LLONG: 3,
  ULLONG: 4,
  DOUBLE: 5,
  BOOLEAN: 6,
  STRING: 7,
} as const;
export type TypedParamTypeCode = (typeof TypedParamType)[keyof typeof TypedParamType];

export type TypedValue = number | string | boolean;

/** A parameter to send: the type must be the one the daemon expects for that field. */
export interface TypedParam {
  field: string;
  type: TypedParamTypeCode;
  value: TypedValue;
}

/** VIR_TYPED_PARAM_FIELD_LENGTH: libvirt refuses longer names. */
const FIELD_MAX = 80;

/** Decode one typed parameter's value (after its field name). */
export function readTypedValue(r: XdrReader, stringMax: number): TypedValue {
  const type = r.int();
  switch (type) {
    case 1:
      return r.int();
    case 2:
      return r.uint();
    case 3:
      return r.hyper();
    case 4:
      return r.uhyper();
    case 5:
      return r.double();
    case 6:
      return r.int() !== 0;
    case 7:
      return r.string(stringMax);
    default:
      throw new ProtocolError(`unknown typed parameter type ${type}`);
  }
}

/** Decode remote_typed_param params<max> into a plain object (later duplicates win). */
export function readTypedParams(r: XdrReader, max: number, stringMax = 4194304): Record<string, TypedValue> {
  const n = r.uint();
  if (n > max) throw new ProtocolError(`typed parameter list of ${n} exceeds limit ${max}`);
  // Each parameter takes at least 12 bytes (empty name, type, 4-byte value).
  if (n * 12 > r.remaining()) throw new ProtocolError(`typed parameter list of ${n} cannot fit in ${r.remaining()} bytes`);
  const out: Record<string, TypedValue> = {};
  for (let i = 0; i < n; i++) {
    const field = r.string(FIELD_MAX);
    out[field] = readTypedValue(r, stringMax);
  }
  return out;
}

/** Decode into an ordered list, keeping the wire types (used to learn a driver's types before a set call). */
export function readTypedParamList(r: XdrReader, max: number): TypedParam[] {
  return r.array(max, (rr) => {
    const field = rr.string(FIELD_MAX);
    const type = rr.int() as TypedParamTypeCode;
    let value: TypedValue;
    switch (type) {
      case 1: value = rr.int(); break;
      case 2: value = rr.uint(); break;
      case 3: value = rr.hyper(); break;
      case 4: value = rr.uhyper(); break;
      case 5: value = rr.double(); break;
      case 6: value = rr.int() !== 0; break;
      case 7: value = rr.string(); break;
      default: throw new ProtocolError(`unknown typed parameter type ${String(type)}`);
    }
    return { field, type, value };
  }, 12);
}

export function writeTypedParams(w: XdrWriter, params: readonly TypedParam[]): void {
  w.uint(params.length);
  for (const p of params) {
    if (p.field.length === 0 || p.field.length >= FIELD_MAX) throw new RangeError(`typed parameter name "${p.field}" is empty or too long`);
    w.string(p.field);
    w.int(p.type);
    const v = p.value;
    switch (p.type) {
      case 1: w.int(Number(v)); break;
      case 2: w.uint(Number(v)); break;
      case 3: w.hyper(Number(v)); break;
      case 4: w.uhyper(Number(v)); break;
      case 5: w.double(Number(v)); break;
      case 6: w.int(v ? 1 : 0); break;
      case 7: w.string(String(v)); break;
    }
  }
}
