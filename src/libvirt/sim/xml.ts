/** Reading XML given to the simulated hypervisor: well-formedness first, then libvirt-like validation errors. */
import { decodeEntities, hasDtd, xmlParser, xmlProblem } from '../../common/xml.js';
import { ErrorCode, LibvirtError } from '../errors.js';

export { decodeEntities, escapeXml } from '../../common/xml.js';

export type XmlNode = Record<string, unknown>;

const ARRAY_TAGS = new Set(['disk', 'interface', 'boot', 'channel', 'serial', 'console', 'range', 'host', 'ip', 'volume', 'snapshot']);

// Entities are never expanded (no billion laughs); the five standard ones are decoded by text().
const parser = xmlParser(ARRAY_TAGS);

export function xmlError(message: string): LibvirtError {
  return new LibvirtError(`XML error: ${message}`, ErrorCode.XML_ERROR, 0);
}

/** Parses `xml` and returns its root element `root`; broken XML raises XML_ERROR naming the line. */
export function parseRoot(xml: string, root: string, what: string): XmlNode {
  if (typeof xml !== 'string' || xml.trim() === '') throw xmlError(`(${what}): empty document`);
  if (hasDtd(xml)) throw xmlError(`(${what}): DTDs and entity declarations are not accepted`);
  const bad = xmlProblem(xml);
  if (bad) throw xmlError(`(${what}):${bad.line}: ${bad.message}`);
  let doc: XmlNode;
  try {
    doc = parser.parse(xml) as XmlNode;
  } catch (e) {
    throw xmlError(`(${what}): ${(e as Error).message}`);
  }
  const top = doc[root];
  const r = Array.isArray(top) ? (top[0] as unknown) : top;
  if (r === undefined) {
    const found = Object.keys(doc).find((k) => !k.startsWith('?')) ?? 'nothing';
    throw xmlError(`(${what}): expected root element <${root}>, found <${found}>`);
  }
  return typeof r === 'object' && r !== null ? (r as XmlNode) : { '#text': r };
}

export function child(n: unknown, tag: string): XmlNode | undefined {
  if (typeof n !== 'object' || n === null) return undefined;
  const c = (n as XmlNode)[tag];
  if (Array.isArray(c)) return toNode(c[0]);
  return c === undefined ? undefined : toNode(c);
}

export function children(n: unknown, tag: string): XmlNode[] {
  if (typeof n !== 'object' || n === null) return [];
  const c = (n as XmlNode)[tag];
  if (c === undefined) return [];
  return (Array.isArray(c) ? c : [c]).map(toNode);
}

function toNode(v: unknown): XmlNode {
  if (typeof v === 'object' && v !== null) return v as XmlNode;
  return { '#text': v === undefined || v === null ? '' : String(v) };
}

export function text(n: XmlNode | undefined): string | undefined {
  if (!n) return undefined;
  const t = n['#text'];
  return t === undefined ? undefined : decodeEntities(String(t));
}

export function attr(n: XmlNode | undefined, name: string): string | undefined {
  if (!n) return undefined;
  const a = n[`@_${name}`];
  return a === undefined ? undefined : decodeEntities(String(a));
}

const UNIT_BYTES: Record<string, number> = {
  b: 1, bytes: 1,
  k: 1024, kib: 1024, kb: 1000,
  m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2,
  g: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3,
  t: 1024 ** 4, tib: 1024 ** 4, tb: 1000 ** 4,
};

/** A size element (<memory unit='MiB'>512</memory>, <capacity unit='G'>10</capacity>) in bytes. */
export function sizeBytes(n: XmlNode | undefined, field: string, defaultUnit: string): number | undefined {
  if (!n) return undefined;
  const raw = (text(n) ?? '').trim();
  if (!/^[0-9]+$/.test(raw)) throw xmlError(`invalid value '${raw}' for ${field}: expected a whole number`);
  const unit = (attr(n, 'unit') ?? defaultUnit).toLowerCase();
  const mul = UNIT_BYTES[unit];
  if (mul === undefined) throw xmlError(`unknown unit '${unit}' for ${field}`);
  return Number(raw) * mul;
}

export function positiveInt(raw: string | undefined, field: string): number {
  const s = (raw ?? '').trim();
  if (!/^[0-9]+$/.test(s) || Number(s) <= 0) throw xmlError(`invalid value '${s}' for ${field}: expected a positive integer`);
  return Number(s);
}

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export function checkUuid(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const s = raw.trim();
  if (!UUID_RE.test(s)) throw xmlError(`malformed uuid element '${s}'`);
  const h = s.replace(/-/g, '').toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** libvirt refuses '/' in object names (they become file names); we also refuse control characters. */
export function checkName(raw: string | undefined, what: string): string {
  const name = (raw ?? '').trim();
  if (name === '') throw xmlError(`missing ${what} name information`);
  if (name.includes('/')) throw xmlError(`name ${name} cannot contain '/'`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) throw xmlError(`${what} name contains control characters`);
  if (name.length > 200) throw xmlError(`${what} name is longer than 200 characters`);
  return name;
}
