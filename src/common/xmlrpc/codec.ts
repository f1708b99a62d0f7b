/**
 * XML-RPC encoding and decoding (pure). Numbers: integers within int32 are sent
 * as <int>, every other number as <double> (so 64-bit counters survive for any
 * client, exactly up to 2^53); <i4>/<int>/<i8> decode to number.
 */
import { VemError } from '../errors.js';
import { elementChildren, parseXml, textOf, XmlRpcParseError, type XmlElement } from './xml.js';
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

function escapeText(s: string): string {
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

function encodeValue(v: XmlRpcValue, out: string[], depth: number): void {
  if (depth > 64) throw new XmlRpcEncodeError('value nested deeper than 64 levels');
  if (v === null || v === undefined) {
    out.push('<value><nil/></value>');
  } else if (typeof v === 'string') {
    out.push('<value><string>', escapeText(v), '</string></value>');
  } else if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new XmlRpcEncodeError(`number ${v} cannot be sent over XML-RPC`);
    if (Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX) out.push('<value><int>', String(v), '</int></value>');
    else out.push('<value><double>', Number.isInteger(v) && Math.abs(v) < 1e21 ? v.toFixed(0) : String(v), '</double></value>');
  } else if (typeof v === 'boolean') {
    out.push('<value><boolean>', v ? '1' : '0', '</boolean></value>');
  } else if (v instanceof Date) {
    out.push('<value><dateTime.iso8601>', formatDateTime(v), '</dateTime.iso8601></value>');
  } else if (Buffer.isBuffer(v)) {
    out.push('<value><base64>', v.toString('base64'), '</base64></value>');
  } else if (Array.isArray(v)) {
    out.push('<value><array><data>');
    for (const x of v) encodeValue(x, out, depth + 1);
    out.push('</data></array></value>');
  } else if (isStruct(v)) {
    out.push('<value><struct>');
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) continue; // optional fields left unset are simply absent
      out.push('<member><name>', escapeText(k), '</name>');
      encodeValue(x, out, depth + 1);
      out.push('</member>');
    }
    out.push('</struct></value>');
  } else {
    throw new XmlRpcEncodeError(`cannot encode a ${typeof v}`);
  }
}

/** One value as its <value> element (used by tests and by multicall). */
export function encodeValueXml(v: XmlRpcValue): string {
  const out: string[] = [];
  encodeValue(v, out, 0);
  return out.join('');
}

export function encodeCall(method: string, params: XmlRpcValue[]): string {
  const out = ['<?xml version="1.0"?>\n<methodCall><methodName>', escapeText(method), '</methodName><params>'];
  for (const p of params) {
    out.push('<param>');
    encodeValue(p, out, 0);
    out.push('</param>');
  }
  out.push('</params></methodCall>\n');
  return out.join('');
}

export function encodeResponse(value: XmlRpcValue): string {
  const out = ['<?xml version="1.0"?>\n<methodResponse><params><param>'];
  encodeValue(value, out, 0);
  out.push('</param></params></methodResponse>\n');
  return out.join('');
}

export function encodeFault(code: number, message: string): string {
  const out = ['<?xml version="1.0"?>\n<methodResponse><fault>'];
  // Control characters in a message (e.g. from libvirt) must not make the fault itself unsendable.
  // eslint-disable-next-line no-control-regex
  encodeValue({ faultCode: code, faultString: message.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '?') }, out, 0);
  out.push('</fault></methodResponse>\n');
  return out.join('');
}

function decodeValue(el: XmlElement): XmlRpcValue {
  if (el.name !== 'value') throw new XmlRpcParseError(`expected <value>, found <${el.name}>`);
  const kids = el.children.filter((c): c is XmlElement => typeof c !== 'string');
  if (kids.length === 0) return textOf(el); // <value>text</value> is a string
  const typed = elementChildren(el);
  if (typed.length !== 1) throw new XmlRpcParseError('<value> must hold exactly one typed element');
  const t = typed[0] as XmlElement;
  switch (t.name) {
    case 'string':
      return textOf(t);
    case 'int':
    case 'i4':
    case 'i8':
    case 'ex:i8': {
      const s = textOf(t).trim();
      if (!/^[+-]?\d{1,20}$/.test(s)) throw new XmlRpcParseError(`bad <${t.name}> value '${s.slice(0, 40)}'`);
      return Number(s);
    }
    case 'boolean': {
      const s = textOf(t).trim();
      if (s === '1' || s === 'true') return true;
      if (s === '0' || s === 'false') return false;
      throw new XmlRpcParseError(`bad <boolean> value '${s.slice(0, 40)}'`);
    }
    case 'double': {
      const s = textOf(t).trim();
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new XmlRpcParseError(`bad <double> value '${s.slice(0, 40)}'`);
      return Number(s);
    }
    case 'dateTime.iso8601':
      return parseDateTime(textOf(t));
    case 'base64': {
      const s = textOf(t).replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new XmlRpcParseError('bad <base64> value');
      return Buffer.from(s, 'base64');
    }
    case 'nil':
    case 'ex:nil':
      return null;
    case 'array': {
      const data = elementChildren(t);
      if (data.length !== 1 || (data[0] as XmlElement).name !== 'data') throw new XmlRpcParseError('<array> must hold one <data>');
      return elementChildren(data[0] as XmlElement).map(decodeValue);
    }
    case 'struct': {
      const o: { [k: string]: XmlRpcValue } = Object.create(null) as { [k: string]: XmlRpcValue };
      for (const m of elementChildren(t)) {
        if (m.name !== 'member') throw new XmlRpcParseError(`expected <member> in <struct>, found <${m.name}>`);
        const parts = elementChildren(m);
        const name = parts.find((p) => p.name === 'name');
        const value = parts.find((p) => p.name === 'value');
        if (!name || !value || parts.length !== 2) throw new XmlRpcParseError('<member> must hold one <name> and one <value>');
        o[textOf(name)] = decodeValue(value);
      }
      // A plain object again, so callers can use it like any other (the null prototype only guarded __proto__ keys).
      return Object.assign({}, o);
    }
    default:
      throw new XmlRpcParseError(`unknown value type <${t.name}>`);
  }
}

function parseDoc(xml: string, opts: DecodeOptions): XmlElement {
  const max = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (xml.length > max) throw new XmlRpcParseError(`document larger than ${max} bytes`);
  return parseXml(xml, { maxDepth: opts.maxDepth ?? 64 });
}

export function decodeCall(xml: string, opts: DecodeOptions = {}): { method: string; params: XmlRpcValue[] } {
  const root = parseDoc(xml, opts);
  if (root.name !== 'methodCall') throw new XmlRpcParseError(`expected <methodCall>, found <${root.name}>`);
  const parts = elementChildren(root);
  const nameEl = parts.find((p) => p.name === 'methodName');
  if (!nameEl) throw new XmlRpcParseError('<methodCall> has no <methodName>');
  const method = textOf(nameEl).trim();
  if (!/^[A-Za-z0-9_.:/-]{1,200}$/.test(method)) throw new XmlRpcParseError('bad method name');
  const paramsEl = parts.find((p) => p.name === 'params');
  const params: XmlRpcValue[] = [];
  if (paramsEl) {
    for (const p of elementChildren(paramsEl)) {
      if (p.name !== 'param') throw new XmlRpcParseError(`expected <param>, found <${p.name}>`);
      const v = elementChildren(p);
      if (v.length !== 1) throw new XmlRpcParseError('<param> must hold one <value>');
      params.push(decodeValue(v[0] as XmlElement));
    }
  }
  return { method, params };
}

/** Decodes a response; a <fault> becomes a thrown XmlRpcFault. */
export function decodeResponse(xml: string, opts: DecodeOptions = {}): XmlRpcValue {
  const root = parseDoc(xml, { maxBytes: opts.maxBytes ?? 256 * 1024 * 1024, maxDepth: opts.maxDepth });
  if (root.name !== 'methodResponse') throw new XmlRpcParseError(`expected <methodResponse>, found <${root.name}>`);
  const parts = elementChildren(root);
  const first = parts[0];
  if (parts.length !== 1 || !first) throw new XmlRpcParseError('<methodResponse> must hold <params> or <fault>');
  if (first.name === 'fault') {
    const v = elementChildren(first)[0];
    if (!v) throw new XmlRpcParseError('<fault> without a value');
    const f = decodeValue(v);
    if (!isStruct(f)) throw new XmlRpcParseError('<fault> value is not a struct');
    throw new XmlRpcFault(typeof f.faultCode === 'number' ? f.faultCode : 0, typeof f.faultString === 'string' ? f.faultString : 'fault');
  }
  if (first.name !== 'params') throw new XmlRpcParseError(`unexpected <${first.name}> in <methodResponse>`);
  const param = elementChildren(first)[0];
  if (!param) return null;
  const v = elementChildren(param)[0];
  if (!v) throw new XmlRpcParseError('<param> without a value');
  return decodeValue(v);
}
