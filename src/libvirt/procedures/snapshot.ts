import type { SnapshotInfo } from '../hypervisor.js';
import { Proc } from '../rpc/constants.js';
import type { RpcConnection } from '../rpc/connection.js';
import { LIST_MAX, readSnapshot, readString, writeDomain, writeSnapshot, type DomainHandle, type SnapshotHandle } from './types.js';
import { section, tagText } from './xml.js';

export function create(rpc: RpcConnection, d: DomainHandle, xml: string): Promise<SnapshotHandle> {
  return rpc.call(Proc.DOMAIN_SNAPSHOT_CREATE_XML, (w) => (writeDomain(w, d), w.string(xml), w.uint(0)), readSnapshot);
}

export function listAll(rpc: RpcConnection, d: DomainHandle): Promise<SnapshotHandle[]> {
  return rpc.call(
    Proc.DOMAIN_LIST_ALL_SNAPSHOTS,
    (w) => (writeDomain(w, d), w.int(1), w.uint(0)),
    (r) => {
      const list = r.array(LIST_MAX, readSnapshot, 28);
      r.int();
      return list;
    },
  );
}

export function lookup(rpc: RpcConnection, d: DomainHandle, name: string): Promise<SnapshotHandle> {
  return rpc.call(Proc.DOMAIN_SNAPSHOT_LOOKUP_BY_NAME, (w) => (writeDomain(w, d), w.string(name), w.uint(0)), readSnapshot);
}

export function xml(rpc: RpcConnection, s: SnapshotHandle): Promise<string> {
  return rpc.call(Proc.DOMAIN_SNAPSHOT_GET_XML_DESC, (w) => (writeSnapshot(w, s), w.uint(0)), readString);
}

export async function current(rpc: RpcConnection, d: DomainHandle): Promise<string | null> {
  const has = await rpc.call(Proc.DOMAIN_HAS_CURRENT_SNAPSHOT, (w) => (writeDomain(w, d), w.uint(0)), (r) => r.int());
  if (!has) return null;
  const s = await rpc.call(Proc.DOMAIN_SNAPSHOT_CURRENT, (w) => (writeDomain(w, d), w.uint(0)), readSnapshot);
  return s.name;
}

export function revert(rpc: RpcConnection, s: SnapshotHandle): Promise<void> {
  return rpc.call(Proc.DOMAIN_REVERT_TO_SNAPSHOT, (w) => (writeSnapshot(w, s), w.uint(0)));
}

export function remove(rpc: RpcConnection, s: SnapshotHandle): Promise<void> {
  return rpc.call(Proc.DOMAIN_SNAPSHOT_DELETE, (w) => (writeSnapshot(w, s), w.uint(0)));
}

/** Fields of a snapshot from its XML; the embedded <domain> is cut off first (it has its own name/description). */
export function parseSnapshotXml(xmlText: string, currentName: string | null): SnapshotInfo {
  const cut = xmlText.search(/<domain[\s>]/);
  const head = cut > 0 ? xmlText.slice(0, cut) : xmlText;
  const name = tagText(head, 'name') ?? '';
  const created = tagText(head, 'creationTime');
  const parentSection = section(head, 'parent');
  const info: SnapshotInfo = { name, current: name === currentName };
  if (created !== undefined && /^\d+$/.test(created.trim())) info.creationTime = Number(created.trim());
  const state = tagText(head, 'state');
  if (state !== undefined) info.state = state;
  const parent = parentSection ? tagText(parentSection, 'name') : undefined;
  if (parent !== undefined) info.parent = parent;
  const description = tagText(head, 'description');
  if (description !== undefined) info.description = description;
  return info;
}

export async function list(rpc: RpcConnection, d: DomainHandle): Promise<SnapshotInfo[]> {
  const [snaps, cur] = await Promise.all([listAll(rpc, d), current(rpc, d)]);
  const xmls = await Promise.all(snaps.map((s) => xml(rpc, s)));
  return xmls.map((x) => parseSnapshotXml(x, cur));
}
