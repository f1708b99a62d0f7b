/**
 * Cloning a stopped VM, the XML side (pure): the source's domain XML read into
 * what the planner needs (src/common/clone-plan.ts, shared with the dashboard's
 * clone form), and the clone's domain and volume XML. No I/O: the agent
 * supplies what the node holds.
 */
import { ATTR, decodeEntities as decode, escapeXml as escape, hasDtd, orderedXmlParser, xmlBuilder, xmlProblem } from '../common/xml.js';
import { CloneError, planClone as planFrom, type CloneDisk, type ClonePlan, type CloneSource, type CloneVolumePlan, type NodeView } from '../common/clone-plan.js';

export { bytesPerPool, CloneError, cloneVolumeName, macPrefix, type ClonePlan, type CloneProblem, type CloneVolumePlan, type NodeView, type VolumeOnNode } from '../common/clone-plan.js';

type Tree = Array<Record<string, unknown>>;
interface El {
  tag: string;
  kids: Tree;
  attrs: Record<string, string>;
}

/** The element view of one preserveOrder node (attributes live under ':@'). */
function el(n: Record<string, unknown>): El | undefined {
  const tag = Object.keys(n).find((k) => k !== ':@' && !k.startsWith('#'));
  if (tag === undefined) return undefined;
  const kids = n[tag];
  if (!Array.isArray(kids)) return undefined;
  if (typeof n[':@'] !== 'object' || n[':@'] === null) n[':@'] = {};
  return { tag, kids: kids as Tree, attrs: n[':@'] as Record<string, string> };
}

function children(t: Tree, tag?: string): El[] {
  return t.map(el).filter((e): e is El => e !== undefined && (tag === undefined || e.tag === tag));
}

function first(t: Tree, tag: string): El | undefined {
  return children(t, tag)[0];
}

function attr(e: El | undefined, name: string): string | undefined {
  const v = e?.attrs[`${ATTR}${name}`];
  return v === undefined ? undefined : decode(String(v));
}

function setAttr(e: El, name: string, value: string): void {
  e.attrs[`${ATTR}${name}`] = escape(value);
}

function textOf(e: El | undefined): string | undefined {
  if (!e) return undefined;
  const t = e.kids.map((k) => k['#text']).filter((x) => x !== undefined).join('');
  return decode(t).trim();
}

function parse(xml: string): { tree: Tree; domain: El } {
  if (hasDtd(xml)) throw new CloneError('domain XML with a DTD is not accepted');
  const bad = xmlProblem(xml);
  if (bad) throw new CloneError(`the VM's XML does not parse: ${bad.message} (line ${bad.line})`);
  const tree = orderedXmlParser().parse(xml) as Tree;
  const domain = first(tree, 'domain');
  if (!domain) throw new CloneError('the VM\'s XML has no <domain> element');
  return { tree, domain };
}

/** The source VM as the planner sees it, read from its domain XML. */
export function cloneSource(xml: string): CloneSource {
  const { domain } = parse(xml);
  const devices = first(domain.kids, 'devices');
  const disks: CloneDisk[] = (devices ? children(devices.kids, 'disk') : []).map((disk) => {
    const src = first(disk.kids, 'source');
    const type = attr(disk, 'type') ?? 'file';
    const path = type === 'block' ? attr(src, 'dev') : type === 'file' ? attr(src, 'file') : undefined;
    const pool = attr(src, 'pool');
    const volume = attr(src, 'volume');
    return {
      target: attr(first(disk.kids, 'target'), 'dev') ?? '?',
      device: attr(disk, 'device') ?? 'disk',
      type,
      shared: first(disk.kids, 'readonly') !== undefined || first(disk.kids, 'shareable') !== undefined,
      ...(path !== undefined ? { path } : {}),
      ...(pool !== undefined ? { pool } : {}),
      ...(volume !== undefined ? { volume } : {}),
    };
  });
  const macs = (devices ? children(devices.kids, 'interface') : []).map((nic) => attr(first(nic.kids, 'mac'), 'address')).filter((m): m is string => m !== undefined);
  const domainType = attr(domain, 'type');
  return { name: textOf(first(domain.kids, 'name')) ?? '', disks, macs, ...(domainType !== undefined ? { domainType } : {}) };
}

/** What a clone of `xml` (the stopped VM's persistent definition) takes on this node; refused with every problem at once. */
export function planClone(xml: string, newName: string, node: NodeView): ClonePlan {
  const { plan, problems } = planFrom(cloneSource(xml), newName, node);
  if (problems.length === 1) throw new CloneError(problems[0]?.message ?? '', problems);
  if (problems.length > 1) throw new CloneError(`${problems.length} problems: ${problems.map((p) => p.message).join('; ')}`, problems);
  return plan;
}

/**
 * The clone's domain XML: new name, no UUID (libvirt makes one), new MACs, the
 * copied disks pointing at their copies (`paths`: target -> the new volume's
 * path), and nothing that would collide with the source when both run: host-side
 * NIC device names, fixed unix-socket paths of channels, the UEFI variables file.
 */
export function cloneDomainXml(xml: string, plan: ClonePlan, paths: ReadonlyMap<string, string>): string {
  const { tree, domain } = parse(xml);
  const nameEl = first(domain.kids, 'name');
  if (!nameEl) throw new CloneError('the VM\'s XML has no <name>');
  nameEl.kids.splice(0, nameEl.kids.length, { '#text': escape(plan.name) });
  removeWhere(domain.kids, (e) => e.tag === 'uuid');
  const os = first(domain.kids, 'os');
  const nvram = os && first(os.kids, 'nvram');
  if (nvram) nvram.kids.splice(0, nvram.kids.length);
  const devices = first(domain.kids, 'devices');
  const byTarget = new Map(plan.volumes.map((v) => [v.target, v]));
  for (const disk of devices ? children(devices.kids, 'disk') : []) {
    const v = byTarget.get(attr(first(disk.kids, 'target'), 'dev') ?? '');
    if (!v) continue;
    const src = first(disk.kids, 'source');
    if (!src) continue;
    const type = attr(disk, 'type') ?? 'file';
    if (type === 'volume') setAttr(src, 'volume', v.to.volume);
    else {
      const p = paths.get(v.target);
      if (p === undefined) throw new CloneError(`no path for the copy of disk ${v.target}`);
      setAttr(src, type === 'block' ? 'dev' : 'file', p);
    }
    // libvirt reads the copy's own chain when it starts.
    removeWhere(disk.kids, (e) => e.tag === 'backingStore');
  }
  const macs = new Map(plan.macs.map((m) => [m.from, m.to]));
  for (const nic of devices ? children(devices.kids, 'interface') : []) {
    const m = first(nic.kids, 'mac');
    const to = macs.get(attr(m, 'address')?.toLowerCase() ?? '');
    if (m && to) setAttr(m, 'address', to);
    removeWhere(nic.kids, (e) => e.tag === 'target');
  }
  for (const ch of devices ? children(devices.kids, 'channel') : []) {
    const src = first(ch.kids, 'source');
    if (attr(ch, 'type') === 'unix' && src && attr(src, 'path') !== undefined) delete src.attrs[`${ATTR}path`];
  }
  return xmlBuilder().build(tree) as string;
}

function removeWhere(t: Tree, pred: (e: El) => boolean): void {
  for (let i = t.length - 1; i >= 0; i--) {
    const n = t[i];
    const e = n && el(n);
    if (!e || !pred(e)) continue;
    t.splice(i, 1);
    // Drop the whitespace the element stood on, so the XML keeps its shape.
    const prev = t[i - 1];
    if (prev && typeof prev['#text'] === 'string' && /^\s*$/.test(prev['#text'])) t.splice(i - 1, 1);
  }
}

/** The <volume> XML of a copy: its name, the source's capacity (some drivers, like the test driver, do not take it by default) and format. */
export function cloneVolumeXml(v: CloneVolumePlan): string {
  const fmt = v.from.format !== undefined ? `<target><format type='${escape(v.from.format)}'/></target>` : '';
  return `<volume><name>${escape(v.to.volume)}</name><capacity unit='bytes'>${v.from.capacity}</capacity>${fmt}</volume>`;
}
