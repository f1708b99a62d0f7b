import type { XdrReader } from '../xdr/reader.js';
import type { XdrWriter } from '../xdr/writer.js';
import { STRING_MAX } from '../rpc/constants.js';

/** remote_nonnull_domain: what the daemon needs to find a domain again. */
export interface DomainHandle {
  name: string;
  uuid: Buffer;
  id: number;
}
export interface NetworkHandle {
  name: string;
  uuid: Buffer;
}
export interface PoolHandle {
  name: string;
  uuid: Buffer;
}
export interface VolumeHandle {
  pool: string;
  name: string;
  key: string;
}
export interface SnapshotHandle {
  name: string;
  dom: DomainHandle;
}

/** REMOTE_DOMAIN_LIST_MAX and friends. */
export const LIST_MAX = 16384;

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function uuidString(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[b[i] as number];
  }
  return s;
}

export function uuidBytes(s: string): Buffer {
  const hex = s.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError(`not a UUID: "${s}"`);
  return Buffer.from(hex, 'hex');
}

export function readDomain(r: XdrReader): DomainHandle {
  const name = r.string(STRING_MAX);
  const uuid = Buffer.from(r.fixedOpaque(16));
  const id = r.int();
  return { name, uuid, id };
}

export function writeDomain(w: XdrWriter, d: DomainHandle): void {
  w.string(d.name).fixedOpaque(d.uuid).int(d.id);
}

export function readNetwork(r: XdrReader): NetworkHandle {
  return { name: r.string(STRING_MAX), uuid: Buffer.from(r.fixedOpaque(16)) };
}

export function writeNetwork(w: XdrWriter, n: NetworkHandle): void {
  w.string(n.name).fixedOpaque(n.uuid);
}

export const readPool = readNetwork as (r: XdrReader) => PoolHandle;
export const writePool = writeNetwork as (w: XdrWriter, p: PoolHandle) => void;

export function readVolume(r: XdrReader): VolumeHandle {
  return { pool: r.string(STRING_MAX), name: r.string(STRING_MAX), key: r.string(STRING_MAX) };
}

export function writeVolume(w: XdrWriter, v: VolumeHandle): void {
  w.string(v.pool).string(v.name).string(v.key);
}

export function readSnapshot(r: XdrReader): SnapshotHandle {
  return { name: r.string(STRING_MAX), dom: readDomain(r) };
}

export function writeSnapshot(w: XdrWriter, s: SnapshotHandle): void {
  w.string(s.name);
  writeDomain(w, s.dom);
}

/** virDomainModificationImpact: 0 = current state, LIVE = 1, CONFIG = 2. */
export function scopeFlags(scope?: { live?: boolean; config?: boolean }): number {
  if (!scope) return 0;
  return (scope.live ? 1 : 0) | (scope.config ? 2 : 0);
}

export const readInt = (r: XdrReader): number => r.int();
export const readString = (r: XdrReader): string => r.string(STRING_MAX);
export const readBool = (r: XdrReader): boolean => r.int() !== 0;
