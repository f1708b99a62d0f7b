/**
 * Pure parser for glibc utmp records on x86_64 (struct utmp, 384 bytes, little-endian):
 *   0 ut_type i16 (+2 pad) | 4 ut_pid i32 | 8 ut_line[32] | 40 ut_id[4] | 44 ut_user[32]
 *   76 ut_host[256] | 332 ut_exit (2 x i16) | 336 ut_session i32 | 340 ut_tv (i32 sec, i32 usec)
 *   348 ut_addr_v6 (4 x i32) | 364 unused[20]
 */

export const UTMP_RECORD_SIZE = 384;

export const UT_TYPES = ['empty', 'run-level', 'boot-time', 'new-time', 'old-time', 'init', 'login', 'user', 'dead', 'accounting'] as const;
export type UtType = (typeof UT_TYPES)[number] | 'unknown';

export interface UtmpRecord {
  type: UtType;
  pid: number;
  line: string;
  id: string;
  user: string;
  host: string;
  session: number;
  /** Milliseconds since the epoch. */
  timeMs: number;
  /** Remote address when the host field carried one (IPv4 or IPv6), else ''. */
  addr: string;
}

function cstr(buf: Buffer, start: number, len: number): string {
  const slice = buf.subarray(start, start + len);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul < 0 ? len : nul).toString('utf8');
}

function addrOf(buf: Buffer, off: number): string {
  const words = [0, 1, 2, 3].map((i) => buf.readUInt32BE(off + i * 4));
  if (words.every((w) => w === 0)) return '';
  if (words[1] === 0 && words[2] === 0 && words[3] === 0) return [0, 1, 2, 3].map((i) => buf[off + i]).join('.');
  const parts: string[] = [];
  for (let i = 0; i < 8; i++) parts.push(buf.readUInt16BE(off + i * 2).toString(16));
  return parts.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** Every whole record in the buffer (a trailing partial record, e.g. a file being written, is ignored). */
export function parseUtmp(buf: Buffer): UtmpRecord[] {
  const out: UtmpRecord[] = [];
  for (let off = 0; off + UTMP_RECORD_SIZE <= buf.length; off += UTMP_RECORD_SIZE) {
    const t = buf.readInt16LE(off);
    out.push({
      type: UT_TYPES[t] ?? 'unknown',
      pid: buf.readInt32LE(off + 4),
      line: cstr(buf, off + 8, 32),
      id: cstr(buf, off + 40, 4),
      user: cstr(buf, off + 44, 32),
      host: cstr(buf, off + 76, 256),
      session: buf.readInt32LE(off + 336),
      timeMs: buf.readInt32LE(off + 340) * 1000 + Math.floor(buf.readInt32LE(off + 344) / 1000),
      addr: addrOf(buf, off + 348),
    });
  }
  return out;
}

/** Who is logged in now: USER_PROCESS records with a user name. */
export function loggedIn(records: UtmpRecord[]): UtmpRecord[] {
  return records.filter((r) => r.type === 'user' && r.user !== '');
}
