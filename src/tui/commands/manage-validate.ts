/**
 * Pure checks of what an admin types in the management screens, done before
 * anything is sent: every problem names the field it is about.
 */
import { escapeXml as esc } from '../../common/xml.js';

export interface FieldError {
  field: string;
  message: string;
}

const SIZE_UNITS: Record<string, number> = { '': 1024 ** 3, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4 };

/** "10G", "512M", "1.5T", "20" (GiB when no unit) -> bytes; undefined when not a size. */
export function parseSize(text: string, defaultUnit = ''): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = (m[2] || defaultUnit).toLowerCase();
  const mult = SIZE_UNITS[unit];
  if (mult === undefined) return undefined;
  const v = Math.round(Number(m[1]) * mult);
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

/** libvirt object names we accept: no slashes, spaces or leading dots (they become file names). */
export function nameProblem(name: string, what: string): string | undefined {
  if (name === '') return `${what} is empty`;
  if (name.length > 64) return `${what} '${name.slice(0, 20)}...' is longer than 64 characters`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name)) return `${what} '${name}' may only use letters, digits, . _ + - (and not start with . - or +)`;
  return undefined;
}

export const VOLUME_FORMATS = ['qcow2', 'raw'] as const;

export interface VolumeInput {
  name: string;
  size: string;
  format: string;
}

/** A new volume in a pool: name free and valid, size a size that fits in the pool. */
export function validateVolume(v: VolumeInput, pool: { name: string; available: number; state: string }, existing: string[]): { errors: FieldError[]; bytes?: number } {
  const errors: FieldError[] = [];
  const np = nameProblem(v.name, 'volume name');
  if (np) errors.push({ field: 'name', message: np });
  else if (existing.includes(v.name)) errors.push({ field: 'name', message: `volume name: pool ${pool.name} already has a volume '${v.name}'` });
  const bytes = parseSize(v.size);
  if (bytes === undefined) errors.push({ field: 'size', message: `size: '${v.size}' is not a size (e.g. 20G, 512M)` });
  else if (bytes > pool.available) errors.push({ field: 'size', message: `size: ${v.size} is more than the ${fmtGiB(pool.available)} available in pool ${pool.name}` });
  if (!(VOLUME_FORMATS as readonly string[]).includes(v.format)) errors.push({ field: 'format', message: `format: '${v.format}' is not one of ${VOLUME_FORMATS.join(', ')}` });
  if (pool.state !== 'running') errors.push({ field: 'pool', message: `pool ${pool.name} is ${pool.state}, not running` });
  return { errors, bytes };
}

export function fmtGiB(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(bytes < 10 * 1024 ** 3 ? 1 : 0)}G`;
}

/** <volume> XML for storage.createVolume. */
export function volumeXml(name: string, bytes: number, format: string): string {
  return `<volume><name>${esc(name)}</name><capacity unit='bytes'>${bytes}</capacity><target><format type='${esc(format)}'/></target></volume>`;
}

/** Signals an admin may send from the guest browser. */
export const SIGNALS = ['TERM', 'KILL', 'HUP', 'INT', 'QUIT', 'USR1', 'USR2', 'STOP', 'CONT'] as const;

export function parseSignal(text: string): string | undefined {
  const t = text.trim().toUpperCase().replace(/^SIG/, '');
  if (t === '') return 'TERM';
  return (SIGNALS as readonly string[]).includes(t) ? t : undefined;
}
