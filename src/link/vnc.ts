/** Where a VM's graphical console listens (from its live domain XML), and which node runs the VM. */
import { VemError } from '../common/errors.js';
import { ATTR, decodeEntities, xmlParser } from '../common/xml.js';
import type { XmlRpcValue } from '../common/xmlrpc/value.js';
import type { LocalForward, NodeLink } from './types.js';

export type VmDisplay =
  | { protocol: 'vnc' | 'spice'; kind: 'tcp'; host: string; port: number }
  | { protocol: 'vnc' | 'spice'; kind: 'unix'; path: string };

type Attrs = Record<string, unknown>;

function asArray(v: unknown): Attrs[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is Attrs => typeof x === 'object' && x !== null);
}

/** An attribute of a parsed element, entities decoded. */
function attr(n: Attrs, name: string): string | undefined {
  const v = n[`${ATTR}${name}`];
  return typeof v === 'string' ? decodeEntities(v) : undefined;
}

const parser = xmlParser(['graphics', 'listen']);

/** The displays in a domain XML, VNC first; ports of -1 (not started yet) are left out. Pure. */
export function parseGraphics(domainXml: string): VmDisplay[] {
  const doc = parser.parse(domainXml) as Attrs;
  const devices = asArray((doc['domain'] as Attrs | undefined)?.['devices']);
  const out: VmDisplay[] = [];
  for (const dev of devices) {
    for (const g of asArray(dev['graphics'])) {
      const protocol = attr(g, 'type');
      if (protocol !== 'vnc' && protocol !== 'spice') continue;
      const listens = asArray(g['listen']);
      const sock = attr(g, 'socket') ?? listens.map((l) => attr(l, 'socket')).find((x): x is string => x !== undefined);
      if (sock) {
        out.push({ protocol, kind: 'unix', path: sock });
        continue;
      }
      const port = Number(attr(g, 'port') ?? attr(g, 'tlsPort') ?? -1);
      if (!Number.isInteger(port) || port <= 0) continue;
      const addr = attr(g, 'listen') ?? listens.map((l) => attr(l, 'address')).find((a): a is string => a !== undefined);
      // A display bound to every address is still reachable on the node's loopback, which is where the tunnel ends.
      const host = !addr || addr === '0.0.0.0' || addr === '::' || addr === '[::]' ? '127.0.0.1' : addr;
      out.push({ protocol, kind: 'tcp', host, port });
    }
  }
  return out.sort((a, b) => (a.protocol === b.protocol ? 0 : a.protocol === 'vnc' ? -1 : 1));
}

function vmNames(list: XmlRpcValue): string[] {
  if (!Array.isArray(list)) return [];
  return list
    .map((v) => (typeof v === 'string' ? v : v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v) ? v['name'] : undefined))
    .filter((n): n is string => typeof n === 'string');
}

/** Asks every node (vm.list) which one has the VM, then reads its live XML (vm.xml). */
export async function findVmDisplay(links: NodeLink[], vm: string): Promise<{ link: NodeLink; display: VmDisplay; all: VmDisplay[] }> {
  const problems: string[] = [];
  const found = await Promise.all(
    links.map(async (l) => {
      try {
        return vmNames(await l.call('vm.list')).includes(vm) ? l : undefined;
      } catch (e) {
        problems.push(`${l.name}: ${(e as Error).message}`);
        return undefined;
      }
    }),
  );
  const link = found.find((l): l is NodeLink => l !== undefined);
  if (!link) {
    throw new VemError(`no node has a VM named '${vm}'`, problems.length > 0 ? `nodes not asked: ${problems.join('; ')}` : "see 'vem call NODE vm.list'");
  }
  const xml = await link.call('vm.xml', vm);
  if (typeof xml !== 'string') throw new VemError(`node ${link.name}: vm.xml ${vm} did not return XML text`);
  const all = parseGraphics(xml);
  const display = all[0];
  if (!display) throw new VemError(`VM ${vm} on ${link.name} has no VNC or SPICE display with a port (is it running?)`, "add <graphics type='vnc'/> to its XML");
  return { link, display, all };
}

/** What a display forward needs of a link: calls, and forwards through its SSH connection. */
export interface DisplayLink {
  readonly name: string;
  call(method: string, ...params: XmlRpcValue[]): Promise<XmlRpcValue>;
  forwardLocal?(remoteHost: string, remotePort: number): Promise<LocalForward>;
  forwardLocalSocket?(path: string): Promise<LocalForward>;
}

/** An open display forward: where the viewer connects, and how to start one. */
export interface DisplayForward {
  vm: string;
  node: string;
  display: VmDisplay;
  forward: LocalForward;
  /** Where the display listens as seen on the node (host:port or the socket path). */
  target: string;
  /** vnc://127.0.0.1:PORT or spice://... */
  url: string;
  /** Viewer command lines to copy, the most common first. */
  viewers: string[];
}

/** The viewer command lines for a display forwarded to a local port. Pure. */
export function viewerCommands(protocol: VmDisplay['protocol'], f: { host: string; port: number }): { url: string; viewers: string[] } {
  const url = `${protocol}://${f.host}:${f.port}`;
  return { url, viewers: protocol === 'vnc' ? [`remote-viewer ${url}`, `vncviewer ${f.host}::${f.port}`] : [`remote-viewer ${url}`] };
}

/** The VM's first display on this link's node, from its live XML (vm.xml). */
export async function readVmDisplay(link: DisplayLink, vm: string): Promise<VmDisplay> {
  const xml = await link.call('vm.xml', vm);
  if (typeof xml !== 'string') throw new VemError(`node ${link.name}: vm.xml ${vm} did not return XML text`);
  const display = parseGraphics(xml)[0];
  if (!display) throw new VemError(`VM ${vm} on ${link.name} has no VNC or SPICE display with a port (is it running?)`, "add <graphics type='vnc'/> to its XML");
  return display;
}

/**
 * A local loopback port forwarded through the node's SSH connection to the
 * VM's display (`vem vnc` and the dashboard's display key). A link without
 * SSH (HTTPS with a token) cannot forward: the refusal says where the display is.
 */
export async function forwardVmDisplay(link: DisplayLink, vm: string, known?: VmDisplay): Promise<DisplayForward> {
  const display = known ?? (await readVmDisplay(link, vm));
  const target = display.kind === 'tcp' ? `${display.host}:${display.port}` : display.path;
  const open = display.kind === 'tcp' ? link.forwardLocal?.bind(link, display.host, display.port) : link.forwardLocalSocket?.bind(link, display.path);
  if (!open) throw new VemError(`node ${link.name} is reached without SSH, so vem cannot forward the display of ${vm}`, `connect a viewer to ${target} on that node`);
  const forward = await open();
  return { vm, node: link.name, display, forward, target, ...viewerCommands(display.protocol, forward) };
}
