/**
 * What the agent shows from a domain's XML: disks, interfaces, graphics,
 * consoles, channels. Parsed once per change (after an event), not per poll.
 * Pure; entities are not expanded.
 */
import { decodeEntities as decode, hasDtd, xmlParser } from '../common/xml.js';
import type { XmlRpcStruct } from '../common/xmlrpc/value.js';

type Node = Record<string, unknown>;

const parser = xmlParser(['disk', 'interface', 'graphics', 'console', 'serial', 'channel', 'hostdev']);

function obj(v: unknown): Node | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Node) : undefined;
}
function list(v: unknown): Node[] {
  return Array.isArray(v) ? v.map(obj).filter((x): x is Node => x !== undefined) : [];
}
function attr(n: Node | undefined, name: string): string | undefined {
  const v = n?.[`@_${name}`];
  return typeof v === 'string' || typeof v === 'number' ? decode(String(v)) : undefined;
}
function text(v: unknown): string | undefined {
  if (typeof v === 'string' || typeof v === 'number') return decode(String(v));
  const t = obj(v)?.['#text'];
  return typeof t === 'string' || typeof t === 'number' ? decode(String(t)) : undefined;
}
/** A struct without undefined members. */
function clean(o: Record<string, string | number | undefined>): XmlRpcStruct {
  const r: XmlRpcStruct = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) r[k] = v;
  return r;
}

export interface DomainSummary {
  type?: string;
  title?: string;
  description?: string;
  osType?: string;
  arch?: string;
  disks: XmlRpcStruct[];
  interfaces: XmlRpcStruct[];
  graphics: XmlRpcStruct[];
  consoles: XmlRpcStruct[];
  channels: XmlRpcStruct[];
}

export function summarizeDomainXml(xml: string): DomainSummary {
  if (hasDtd(xml)) throw new Error('domain XML with a DTD is not accepted');
  const doc = obj(parser.parse(xml));
  const d = obj(doc?.domain) ?? {};
  const dev = obj(d.devices) ?? {};
  const os = obj(d.os);
  const osType = obj(os?.type) ?? undefined;
  return {
    type: attr(d, 'type'),
    title: text(d.title),
    description: text(d.description),
    osType: text(os?.type),
    arch: attr(osType, 'arch'),
    disks: list(dev.disk).map((k) => {
      const src = obj(k.source);
      return clean({
        device: attr(k, 'device') ?? 'disk',
        type: attr(k, 'type'),
        target: attr(obj(k.target), 'dev'),
        bus: attr(obj(k.target), 'bus'),
        source: attr(src, 'file') ?? attr(src, 'dev') ?? attr(src, 'name') ?? attr(src, 'volume'),
        pool: attr(src, 'pool'),
        format: attr(obj(k.driver), 'type'),
        readonly: k.readonly !== undefined ? 1 : undefined,
      });
    }),
    interfaces: list(dev.interface).map((i) => {
      const src = obj(i.source);
      return clean({
        type: attr(i, 'type'),
        mac: attr(obj(i.mac), 'address'),
        source: attr(src, 'bridge') ?? attr(src, 'network') ?? attr(src, 'dev'),
        target: attr(obj(i.target), 'dev'),
        model: attr(obj(i.model), 'type'),
      });
    }),
    graphics: list(dev.graphics).map((g) =>
      clean({ type: attr(g, 'type'), port: numberOr(attr(g, 'port')), autoport: attr(g, 'autoport'), listen: attr(g, 'listen') ?? attr(obj(g.listen), 'address') }),
    ),
    consoles: [...list(dev.console), ...list(dev.serial)].map((c) => clean({ type: attr(c, 'type'), tty: attr(c, 'tty') ?? attr(obj(c.source), 'path'), target: attr(obj(c.target), 'type') })),
    channels: list(dev.channel).map((c) => clean({ type: attr(c, 'type'), name: attr(obj(c.target), 'name'), path: attr(obj(c.source), 'path'), state: attr(obj(c.target), 'state') })),
  };
}

function numberOr(s: string | undefined): number | string | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : s;
}

export function summaryToValue(s: DomainSummary): XmlRpcStruct {
  const v: XmlRpcStruct = { disks: s.disks, interfaces: s.interfaces, graphics: s.graphics, consoles: s.consoles, channels: s.channels };
  for (const k of ['type', 'title', 'description', 'osType', 'arch'] as const) {
    const x = s[k];
    if (x !== undefined) v[k] = x;
  }
  return v;
}
