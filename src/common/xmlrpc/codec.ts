/**
 * XML-RPC encoding and decoding (pure). Numbers: integers within int32 are sent
 * as <int>, every other number as <double> (so 64-bit counters survive for any
 * client, exactly up to 2^53); <i4>/<int>/<i8> decode to number.
 */
import { VemError } from '../errors.js';
import { XmlReader, XmlRpcParseError } from './xml.js';
import { INT32_MAX, INT32_MIN, isStruct, type XmlRpcValue } from './value.js';

export { XmlRpcParseError } from './xml.js';

/** A fault the peer answered with (or one we send). */
export class XmlRpcFault extends VemError {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A value that XML-RPC cannot carry (NaN, a control character in a string...). */
export class XmlRpcEncodeError extends VemError {}

/** Standard fault codes (the xmlrpc-epi interoperability list). */
export const FaultCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  APPLICATION_ERROR: -32500,
  SYSTEM_ERROR: -32400,
  TRANSPORT_ERROR: -32300,
} as const;

export const DEFAULT_MAX_BYTES = 1024 * 1024;

export interface DecodeOptions {
  maxBytes?: number;
  maxDepth?: number;
}

// XML 1.0 cannot carry these characters at all, even as references.
// eslint-disable-next-line no-control-regex
const INVALID_XML_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

// One scan decides whether a string needs any work at all (most do not).
// eslint-disable-next-line no-control-regex
const NEEDS_WORK = /[&<>\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

function escapeText(s: string): string {
  if (!NEEDS_WORK.test(s)) return s;
  if (INVALID_XML_CHARS.test(s)) {
    throw new XmlRpcEncodeError('a string holds control characters XML cannot carry; send it as base64');
  }
  // \r is escaped so XML end-of-line normalisation does not turn it into \n.
  return s.replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** The classic XML-RPC form (as Python writes it), in UTC: 20261125T15:04:05. */
export function formatDateTime(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new XmlRpcEncodeError('invalid Date');
  return `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** Accepts 20261125T15:04:05, 2026-11-25T15:04:05, optional fraction and Z/±hh:mm; no zone means UTC. */
export function parseDateTime(s: string): Date {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s.trim());
  if (!m) throw new XmlRpcParseError(`bad dateTime.iso8601 value '${s.slice(0, 40)}'`);
  const [, y, mo, d, h, mi, se, frac, zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se), frac ? Math.round(Number(frac) * 1000) : 0);
  if (zone && zone !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
    if (z) ms -= (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3])) * 60000;
  }
  return new Date(ms);
}

// Built by string concatenation: V8 joins the pieces once, when the text is sent.
function encodeValue(v: XmlRpcValue, depth: number): string {
  if (depth > 64) throw new XmlRpcEncodeError('value nested deeper than 64 levels');
  if (v === null || v === undefined) return '<value><nil/></value>';
  switch (typeof v) {
    case 'string':
      return '<value><string>' + escapeText(v) + '</string></value>';
    case 'number':
      if (!Number.isFinite(v)) throw new XmlRpcEncodeError(`number ${v} cannot be sent over XML-RPC`);
      if (Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX) return '<value><int>' + v + '</int></value>';
      return '<value><double>' + (Number.isInteger(v) && Math.abs(v) < 1e21 ? v.toFixed(0) : String(v)) + '</double></value>';
    case 'boolean':
      return v ? '<value><boolean>1</boolean></value>' : '<value><boolean>0</boolean></value>';
    case 'object':
      break;
    default:
      throw new XmlRpcEncodeError(`cannot encode a ${typeof v}`);
  }
  if (v instanceof Date) return '<value><dateTime.iso8601>' + formatDateTime(v) + '</dateTime.iso8601></value>';
  if (Buffer.isBuffer(v)) return '<value><base64>' + v.toString('base64') + '</base64></value>';
  if (Array.isArray(v)) {
    let s = '<value><array><data>';
    for (const x of v) s += encodeValue(x, depth + 1);
    return s + '</data></array></value>';
  }
  if (isStruct(v)) {
    let s = '<value><struct>';
    for (const k in v) {
      if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
      const x = v[k];
      if (x === undefined) continue; // optional fields left unset are simply absent
      s += '<member><name>' + escapeText(k) + '</name>' + encodeValue(x, depth + 1) + '</member>';
    }
    return s + '</struct></value>';
  }
  throw new XmlRpcEncodeError(`cannot encode a ${typeof v}`);
}

/** One value as its <value> element (used by tests and by multicall). */
export function encodeValueXml(v: XmlRpcValue): string {
  return encodeValue(v, 0);
}

export function encodeCall(method: string, params: XmlRpcValue[]): string {
  let s = '<?xml version="1.0"?>\n<methodCall><methodName>' + escapeText(method) + '</methodName><params>';
  for (const p of params) s += '<param>' + encodeValue(p, 0) + '</param>';
  return s + '</params></methodCall>\n';
}

export function encodeResponse(value: XmlRpcValue): string {
  return '<?xml version="1.0"?>\n<methodResponse><params><param>' + encodeValue(value, 0) + '</param></params></methodResponse>\n';
}

export function encodeFault(code: number, message: string): string {
  // Control characters in a message (e.g. from libvirt) must not make the fault itself unsendable.
  // eslint-disable-next-line no-control-regex
  const v = encodeValue({ faultCode: code, faultString: message.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '?') }, 0);
  return '<?xml version="1.0"?>\n<methodResponse><fault>' + v + '</fault></methodResponse>\n';
}

function scalar(r: XmlReader, name: string, empty: boolean): string {
  return empty ? '' : r.textContent(name);
}

/** Reads one typed element (the child of <value>). */
function readTyped(r: XmlReader): XmlRpcValue {
  const { name, empty } = r.open();
  switch (name) {
    case 'string':
      return scalar(r, name, empty);
    case 'int':
    case 'i4':
    case 'i8':
    case 'ex:i8': {
      const s = scalar(r, name, empty).trim();
      if (!/^[+-]?\d{1,20}$/.test(s)) throw new XmlRpcParseError(`bad <${name}> value '${s.slice(0, 40)}'`);
      return Number(s);
    }
    case 'boolean': {
      const s = scalar(r, name, empty).trim();
      if (s === '1' || s === 'true') return true;
      if (s === '0' || s === 'false') return false;
      throw new XmlRpcParseError(`bad <boolean> value '${s.slice(0, 40)}'`);
    }
    case 'double': {
      const s = scalar(r, name, empty).trim();
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new XmlRpcParseError(`bad <double> value '${s.slice(0, 40)}'`);
      return Number(s);
    }
    case 'dateTime.iso8601':
      return parseDateTime(scalar(r, name, empty));
    case 'base64': {
      const s = scalar(r, name, empty).replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new XmlRpcParseError('bad <base64> value');
      return Buffer.from(s, 'base64');
    }
    case 'nil':
    case 'ex:nil':
      if (!empty) {
        r.between(name);
        r.close(name);
      }
      return null;
    case 'array': {
      if (empty) throw new XmlRpcParseError('<array> must hold one <data>');
      r.between('array');
      const d = r.open();
      if (d.name !== 'data') throw new XmlRpcParseError('<array> must hold one <data>');
      const out: XmlRpcValue[] = [];
      if (!d.empty) {
        for (;;) {
          r.between('data');
          if (r.atClose() || r.atEnd()) break;
          out.push(readValue(r));
        }
        r.close('data');
      }
      r.between('array');
      if (r.peekOpen() !== undefined) throw new XmlRpcParseError('<array> must hold one <data>');
      r.close('array');
      return out;
    }
    case 'struct': {
      const o: { [k: string]: XmlRpcValue } = {};
      if (empty) return o;
      for (;;) {
        r.between('struct');
        if (r.atClose() || r.atEnd()) break;
        const me = r.open();
        if (me.name !== 'member') throw new XmlRpcParseError(`expected <member> in <struct>, found <${me.name}>`);
        let key: string | undefined;
        let value: XmlRpcValue | undefined;
        let seenValue = false;
        if (!me.empty) {
          for (;;) {
            r.between('member');
            if (r.atClose() || r.atEnd()) break;
            const part = r.peekOpen();
            if (part === 'name' && key === undefined) {
              const ne = r.open();
              key = ne.empty ? '' : r.textContent('name');
            } else if (part === 'value' && !seenValue) {
              value = readValue(r);
              seenValue = true;
            } else throw new XmlRpcParseError('<member> must hold one <name> and one <value>');
          }
          r.close('member');
        }
        if (key === undefined || !seenValue) throw new XmlRpcParseError('<member> must hold one <name> and one <value>');
        // a member called __proto__ stays data, never the object's prototype
        if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
        else o[key] = value as XmlRpcValue;
      }
      r.close('struct');
      return o;
    }
    default:
      throw new XmlRpcParseError(`unknown value type <${name}>`);
  }
}

/** Reads <value>...</value>: text alone is a string, else one typed element. */
function readValue(r: XmlReader): XmlRpcValue {
  const { name, empty } = r.open();
  if (name !== 'value') throw new XmlRpcParseError(`expected <value>, found <${name}>`);
  if (empty) return '';
  const text = r.text_();
  if (r.peekOpen() === undefined) {
    r.close('value');
    return text;
  }
  if (text.trim() !== '') throw new XmlRpcParseError('<value> must hold text or exactly one typed element');
  const v = readTyped(r);
  r.between('value');
  if (r.peekOpen() !== undefined) throw new XmlRpcParseError('<value> must hold exactly one typed element');
  r.close('value');
  return v;
}

function openRoot(xml: string, opts: DecodeOptions, defaultMax: number, want: string): { r: XmlReader; empty: boolean } {
  const max = opts.maxBytes ?? defaultMax;
  if (xml.length > max) throw new XmlRpcParseError(`document larger than ${max} bytes`);
  const r = new XmlReader(xml, opts.maxDepth ?? 64);
  r.skipMisc();
  if (r.atEnd() || r.peekOpen() === undefined) r.fail('expected the root element');
  const root = r.open();
  if (root.name !== want) throw new XmlRpcParseError(`expected <${want}>, found <${root.name}>`);
  return { r, empty: root.empty };
}

function closeRoot(r: XmlReader, name: string): void {
  r.close(name);
  r.skipMisc();
  if (!r.atEnd()) r.fail('content after the root element');
}

/** Reads <params><param><value/></param>...</params> (just opened: not yet). */
function readParams(r: XmlReader): XmlRpcValue[] {
  const p = r.open();
  const out: XmlRpcValue[] = [];
  if (p.empty) return out;
  for (;;) {
    r.between('params');
    const n = r.peekOpen();
    if (n === undefined) break;
    if (n !== 'param') throw new XmlRpcParseError(`expected <param>, found <${n}>`);
    const pe = r.open();
    if (pe.empty) throw new XmlRpcParseError('<param> must hold one <value>');
    r.between('param');
    if (r.peekOpen() !== 'value') throw new XmlRpcParseError('<param> must hold one <value>');
    out.push(readValue(r));
    r.between('param');
    r.close('param');
  }
  r.close('params');
  return out;
}

export function decodeCall(xml: string, opts: DecodeOptions = {}): { method: string; params: XmlRpcValue[] } {
  const { r, empty } = openRoot(xml, opts, DEFAULT_MAX_BYTES, 'methodCall');
  let method: string | undefined;
  let params: XmlRpcValue[] = [];
  if (!empty) {
    for (;;) {
      r.between('methodCall');
      const n = r.peekOpen();
      if (n === undefined) break;
      if (n === 'methodName' && method === undefined) {
        const e = r.open();
        method = e.empty ? '' : r.textContent('methodName').trim();
      } else if (n === 'params') {
        params = readParams(r);
      } else throw new XmlRpcParseError(`unexpected <${n}> in <methodCall>`);
    }
  }
  if (!empty) closeRoot(r, 'methodCall');
  if (method === undefined) throw new XmlRpcParseError('<methodCall> has no <methodName>');
  if (!/^[A-Za-z0-9_.:/-]{1,200}$/.test(method)) throw new XmlRpcParseError('bad method name');
  return { method, params };
}

/** Decodes a response; a <fault> becomes a thrown XmlRpcFault. */
export function decodeResponse(xml: string, opts: DecodeOptions = {}): XmlRpcValue {
  const { r, empty } = openRoot(xml, opts, 256 * 1024 * 1024, 'methodResponse');
  if (empty) throw new XmlRpcParseError('<methodResponse> must hold <params> or <fault>');
  r.between('methodResponse');
  const kind = r.peekOpen();
  let result: XmlRpcValue = null;
  let fault: XmlRpcValue | undefined;
  if (kind === 'params') {
    const ps = readParams(r);
    result = ps.length > 0 ? (ps[0] as XmlRpcValue) : null;
  } else if (kind === 'fault') {
    r.open();
    r.between('fault');
    if (r.peekOpen() !== 'value') throw new XmlRpcParseError('<fault> without a value');
    fault = readValue(r);
    r.between('fault');
    r.close('fault');
  } else throw new XmlRpcParseError('<methodResponse> must hold <params> or <fault>');
  r.between('methodResponse');
  if (r.peekOpen() !== undefined) throw new XmlRpcParseError('<methodResponse> must hold one <params> or <fault>');
  closeRoot(r, 'methodResponse');
  if (fault !== undefined) {
    if (!isStruct(fault)) throw new XmlRpcParseError('<fault> value is not a struct');
    throw new XmlRpcFault(typeof fault.faultCode === 'number' ? fault.faultCode : 0, typeof fault.faultString === 'string' ? fault.faultString : 'fault');
  }
  return result;
}
